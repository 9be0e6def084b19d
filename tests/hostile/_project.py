"""A tiny three-trial project for the hostile-input catalogue, and helpers to damage it.

csvt  comma-separated UTF-8 CSV, wide, ids 1..10, keep = ["site"]
xlst  Excel workbook, wide, same layout
lng   comma-separated CSV, long (visits 0, 13, 26 weeks), ids "L01".."L08"

The project's ``[analysis]`` plan is minimal (pain, short window, any comparison, one
modifier, unadjusted) so that ``ipdma analyze`` finishes in seconds.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

N = 10

CSVT = """
[trial]
id = "csvt"
label = "Csv trial, 2010"
year = 2010
country = "Netherlands"
population = "primary care"

[source]
file = "../data/csvt.csv"
id = "pid"
arm = "arm"
keep = ["site"]

[[arms]]
code = 1
name = "Exercise"
category = "exercise"
type = "core strengthening"
design = "standardized"
delivery = "group"

[[arms]]
code = 2
name = "GP care"
category = "usual care"
type = "usual care"

[variables.age]
column = "age"

[variables.female]
column = "sex"
codes = { m = 0, f = 1 }

[outcomes.pain]
instrument = "vas_100mm"
columns = { 0 = "pain0", 13 = "pain13", 26 = "pain26" }
"""

XLST = (
    CSVT.replace('id = "csvt"', 'id = "xlst"')
    .replace("Csv trial", "Excel trial")
    .replace("../data/csvt.csv", "../data/xlst.xlsx")
)

LNG = """
[trial]
id = "lng"
label = "Long trial, 2015"
year = 2015
country = "Denmark"
population = "secondary care"

[source]
file = "../data/lng.csv"
layout = "long"
id = "pid"
arm = "arm"
time = "week"
time_unit = "weeks"

[[arms]]
code = "EX"
name = "Walking"
category = "exercise"
type = "aerobic"
design = "standardized"
delivery = "independent"

[[arms]]
code = "UC"
name = "Usual care"
category = "usual care"
type = "usual care"

[variables.age]
column = "age"

[outcomes.pain]
instrument = "nrs_0_10"
column = "nrs"
"""

PROJECT = """
name = "hostile"
trials = ["trials/csvt.toml", "trials/xlst.toml", "trials/lng.toml"]

[variables.score]
label = "A project score without a range"
kind = "continuous"

[analysis]
outcomes = ["pain"]
windows = ["short"]
comparisons = ["any"]
modifiers = ["age"]
adjustments = ["unadjusted"]
subgroups = false
two_stage = false
"""


def wide_frame(seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "pid": np.arange(1, N + 1),
        "arm": np.tile([1, 2], N // 2),
        "age": np.round(rng.uniform(25, 65, N), 1),
        "sex": np.tile(["m", "f", "f"], N)[:N],
        "pain0": np.round(rng.uniform(40, 90, N)),
        "pain13": np.round(rng.uniform(10, 80, N)),
        "pain26": np.round(rng.uniform(10, 80, N)),
        "site": np.tile(["north", "south"], N // 2),
    })  # fmt: skip


def long_frame(seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(8):
        for week in (0, 13, 26):
            rows.append({"pid": f"L{i + 1:02d}", "arm": "EX" if i % 2 == 0 else "UC",
                         "age": 30.0 + i, "week": week,
                         "nrs": round(float(rng.uniform(0, 10)), 1)})  # fmt: skip
    return pd.DataFrame(rows)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    path.write_text(frame.to_csv(index=False, lineterminator="\n"), encoding="utf-8")


def write_xlsx(frame: pd.DataFrame, path: Path) -> None:
    frame.to_excel(path, index=False, engine="openpyxl")


def make_project(root: Path) -> Path:
    """Write the project under ``root``; return the project file."""
    (root / "trials").mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    write_csv(wide_frame(), root / "data" / "csvt.csv")
    write_xlsx(wide_frame(seed=5), root / "data" / "xlst.xlsx")
    write_csv(long_frame(), root / "data" / "lng.csv")
    for name, text in (("csvt", CSVT), ("xlst", XLST), ("lng", LNG)):
        (root / "trials" / f"{name}.toml").write_text(text, encoding="utf-8")
    (root / "project.toml").write_text(PROJECT, encoding="utf-8")
    return root / "project.toml"


def hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every regular file under ``folder`` (symlinks and pipes skipped)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        try:
            content = path.read_bytes()
        except OSError:  # unreadable (a case made it so): its metadata stands in
            content = repr(path.stat()).encode()
        out[str(path.relative_to(folder))] = hashlib.sha256(content).hexdigest()
    return out
