"""A small hand-made consortium in several native formats, written into a temp directory.

alpha  SPSS .sav, wide, value labels, weight in lb and height in m, VAS mm and RMDQ,
       identifier columns (name, e-mail); arms 1 exercise / 2 usual care
beta   latin-1 CSV, long (visits in months), ';' and decimal comma, NRS and ODI points,
       SF items summed and rescaled; arms "EX" exercise / "MT" manual therapy
gamma  Stata .dta, wide, PSFS function only; arms 1, 2 exercise / 3 placebo
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat

ALPHA_SPEC = """
[trial]
id = "alpha"
label = "Alpha, 2004"
year = 2004
country = "Denmark"
population = "secondary care"

[source]
file = "../data/alpha.sav"
id = "subject"
arm = "group"
missing = [999]
keep = ["centre"]

[[arms]]
code = 1
name = "Core stability"
category = "exercise"
type = "core strengthening"
design = "individualized"
delivery = "one-on-one"

[[arms]]
code = 2
name = "GP care"
category = "usual care"
type = "usual care"

[variables.age]
column = "age"

[variables.female]
column = "sex"
codes = { male = 0, female = 1 }

[variables.bmi]
derive = "bmi"
weight = { column = "weight_lb", unit = "lb" }
height = { column = "height_m", unit = "m" }

[variables.episode_months]
column = "duration_wk"
unit = "weeks"

[variables.smoker]
column = "smoke"
codes = { 0 = 0, 1 = 1 }
missing = [9]

[outcomes.pain]
instrument = "vas_100mm"
columns = { 0 = "vas0", 6 = "vas6", 13 = "vas13", 52 = "vas52" }

[outcomes.function]
instrument = "rmdq_24"
columns = { 0 = "rmdq0", 13 = "rmdq13", 52 = "rmdq52" }

[[published.checks]]
statistic = "n"
arm = 1
value = {n_ex}

[[published.checks]]
statistic = "mean"
variable = "age"
value = {mean_age}
tolerance = 0.05

[[published.checks]]
statistic = "mean"
outcome = "pain"
time = 0
scale = "native"
arm = 2
value = 99.0
tolerance = 0.5

[[published.effects]]
outcome = "pain"
md = -6.0
se = 3.0
"""

BETA_SPEC = """
[trial]
id = "beta"
label = "Beta, 2010"
year = 2010
country = "Sweden"
population = "primary care"

[source]
file = "../data/beta.csv"
delimiter = ";"
decimal = ","
layout = "long"
id = "pnr"
arm = "arm"
time = "month"
time_unit = "months"

[[arms]]
code = "EX"
name = "Graded activity"
category = "exercise"
type = "functional restoration"
design = "partially individualized"
delivery = "group"

[[arms]]
code = "MT"
name = "Manipulation"
category = "other conservative"
type = "manual therapy"

[variables.age]
column = "age"

[variables.female]
column = "kon"
codes = { "man" = 0, "kvinna" = 1 }

[variables.general_health]
columns = ["sf1", "sf2", "sf3"]
combine = "sum"
rescale = [3, 15]
reverse = true

[outcomes.pain]
instrument = "nrs_0_10"
column = "nrs"

[outcomes.function]
instrument = "odi_points"
column = "odi"
"""

GAMMA_SPEC = """
[trial]
id = "gamma"
label = "Gamma, 2012"
year = 2012
country = "Australia"
population = "general or mixed"

[source]
file = "../data/gamma.dta"
id = "id"
arm = "arm"

[[arms]]
code = 1
name = "Pilates"
category = "exercise"
type = "core strengthening"
design = "standardized"
delivery = "group"

[[arms]]
code = 2
name = "Walking"
category = "exercise"
type = "aerobic"
design = "standardized"
delivery = "independent"

[[arms]]
code = 3
name = "Sham"
category = "placebo"
type = "placebo"

[variables.age]
column = "age"

[outcomes.function]
instrument = "psfs"
columns = { 0 = "psfs0", 12 = "psfs12", 26 = "psfs26" }
"""

PROJECT = """
name = "fixture consortium"
trials = ["trials/alpha.toml", "trials/beta.toml", "trials/gamma.toml"]

[settings.recovery]
relative = 0.30
pain_points = 20
function_points = 10

[[not_included]]
id = "delta"
label = "Delta, 2001"
year = 2001
country = "Canada"
population = "occupational"
n_participants = 80
pct_female = 30.0
mean_age = 40.0
mean_pain0 = 50.0

[[not_included.arms]]
name = "Yoga"
category = "exercise"
type = "yoga"
design = "standardized"
delivery = "group"
n = 40

[[not_included.effects]]
outcome = "pain"
md = -10.0
se = 4.0

[analysis]
two_stage = true
"""


def alpha_frame(n: int = 12, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "subject": np.arange(101, 101 + n, dtype=float),
        "group": np.tile([1.0, 2.0], n // 2),
        "age": np.round(rng.uniform(25, 65, n), 1),
        "sex": rng.choice([1.0, 2.0], n),
        "weight_lb": np.round(rng.uniform(120, 240, n), 1),
        "height_m": np.round(rng.uniform(1.55, 1.95, n), 2),
        "duration_wk": np.round(rng.uniform(13, 200, n)),
        "smoke": rng.choice([0.0, 1.0, 9.0], n),
        "vas0": np.round(rng.uniform(30, 90, n)),
        "vas6": np.round(rng.uniform(10, 80, n)),
        "vas13": np.round(rng.uniform(10, 80, n)),
        "vas52": np.round(rng.uniform(10, 80, n)),
        "rmdq0": rng.integers(4, 20, n).astype(float),
        "rmdq13": rng.integers(0, 20, n).astype(float),
        "rmdq52": rng.integers(0, 20, n).astype(float),
        "centre": rng.choice(["north", "south"], n),
        "name": [f"{a} {b}" for a, b in zip(
            rng.choice(["Anna", "Lars", "Mette", "Peter", "Sofie", "Jens"], n),
            rng.choice(["Hansen", "Jensen", "Nielsen", "Larsen", "Olsen", "Moller"], n),
            strict=True)],
        "email": [f"p{i}@mail.dk" for i in range(n)],
    })  # fmt: skip
    frame.loc[3, "vas13"] = 999.0  # the trial's missing code
    frame.loc[5, "rmdq52"] = np.nan
    return frame


ALPHA_LABELS = {"sex": {1.0: "male", 2.0: "female"}, "group": {1.0: "Exercise", 2.0: "GP"}}


def beta_frame(n: int = 8, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        base = {"pnr": f"B{i:02d}", "arm": "EX" if i % 2 == 0 else "MT",
                "age": round(float(rng.uniform(30, 60)), 1),
                "kon": "kvinna" if i % 3 else "man",
                "sf1": int(rng.integers(1, 6)), "sf2": int(rng.integers(1, 6)),
                "sf3": int(rng.integers(1, 6)), "ort": "Malmö"}  # fmt: skip
        for month in (0, 3, 6, 12):
            rows.append({**base, "month": month,
                         "nrs": round(float(rng.uniform(0, 10)), 1),
                         "odi": int(rng.integers(0, 51))})  # fmt: skip
    return pd.DataFrame(rows)


def gamma_frame(n: int = 9, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "id": np.arange(1, n + 1, dtype=float),
        "arm": np.tile([1.0, 2.0, 3.0], n // 3),
        "age": np.round(rng.uniform(30, 70, n), 1),
        "psfs0": np.round(rng.uniform(2, 6, n), 1),
        "psfs12": np.round(rng.uniform(3, 9, n), 1),
        "psfs26": np.round(rng.uniform(3, 10, n), 1),
    })  # fmt: skip


def write_beta_csv(frame: pd.DataFrame, path: Path) -> None:
    text = frame.to_csv(index=False, sep=";", decimal=",")
    path.write_bytes(text.encode("latin-1"))


def make_project(root: Path) -> Path:
    """Write the fixture project under ``root``; return the project file."""
    (root / "trials").mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    alpha = alpha_frame()
    pyreadstat.write_sav(alpha, root / "data" / "alpha.sav", variable_value_labels=ALPHA_LABELS)
    write_beta_csv(beta_frame(), root / "data" / "beta.csv")
    pyreadstat.write_dta(gamma_frame(), root / "data" / "gamma.dta")
    n_ex = int((alpha["group"] == 1).sum())
    mean_age = round(float(alpha["age"].mean()), 2)
    alpha_spec = ALPHA_SPEC.replace("{n_ex}", str(n_ex)).replace("{mean_age}", str(mean_age))
    (root / "trials" / "alpha.toml").write_text(alpha_spec, encoding="utf-8")
    (root / "trials" / "beta.toml").write_text(BETA_SPEC, encoding="utf-8")
    (root / "trials" / "gamma.toml").write_text(GAMMA_SPEC, encoding="utf-8")
    (root / "project.toml").write_text(PROJECT, encoding="utf-8")
    return root / "project.toml"
