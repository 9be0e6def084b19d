"""Perfect separation in one trial: named wherever the estimate is shown, never silent.

Four small trials; in trial ``sept`` every exercise participant improves by 35-45 points
(global recovery) and no comparison participant does, so that trial's own odds ratio is
infinite. The one-stage recovery estimates are marked (tables, report, forest plot), never
listed as important, and the two-stage estimate names the trial it leaves out.
"""

from __future__ import annotations

import csv
import html
import re
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from ipdma.analysis import load_results
from ipdma.analysis._design import PreparedModel
from ipdma.analysis._separation import separated_trials
from ipdma.analysis._spec import ModelSpec
from ipdma.cli import main

from ._project import CSVT, write_csv

TRIALS = ("alpha", "beta", "gamma", "sept")
MARK, LEFT_OUT = "\u2016", "#"
FUNCTION = (
    '\n[outcomes.function]\ninstrument = "odi_percent"\ncolumns = { 0 = "odi0", 13 = "odi13" }\n'
)
PLAN = """
[analysis]
outcomes = ["pain", "recovery"]
windows = ["short"]
comparisons = ["any"]
modifiers = ["age", "female"]
adjustments = ["unadjusted"]
subgroups = true
two_stage = true
"""


def _trial(name: str, rng: np.random.Generator, n: int = 40) -> pd.DataFrame:
    arm = np.tile([1, 2], n // 2)
    pain0 = np.round(rng.uniform(50, 90, n))
    if name == "sept":  # exercise: all recover (>= 30 % and >= 20 points); comparison: none
        drop = np.where(arm == 1, rng.uniform(35, 45, n), rng.uniform(-5, 5, n))
        function_drop = np.where(arm == 1, 5.0, 0.0)
    else:
        drop = rng.normal(np.where(arm == 1, 22, 15), 15)
        function_drop = rng.normal(5, 8, n)
    function0 = np.round(rng.uniform(30, 60, n))
    return pd.DataFrame({
        "pid": np.arange(1, n + 1), "arm": arm, "age": np.round(rng.uniform(25, 65, n), 1),
        "sex": np.where(rng.uniform(size=n) < 0.5, "m", "f"), "pain0": pain0,
        "pain13": np.clip(np.round(pain0 - drop), 0, 100),
        "pain26": np.clip(np.round(pain0 - drop + rng.normal(0, 5, n)), 0, 100),
        "site": "north", "odi0": function0,
        "odi13": np.clip(np.round(function0 - function_drop), 0, 100),
    })  # fmt: skip


def make_separation_project(root: Path) -> Path:
    (root / "trials").mkdir(parents=True)
    (root / "data").mkdir()
    rng = np.random.default_rng(3)
    for name in TRIALS:
        write_csv(_trial(name, rng), root / "data" / f"{name}.csv")
        spec = (
            CSVT.replace('id = "csvt"', f'id = "{name}"')
            .replace("Csv trial", f"{name.capitalize()} trial")
            .replace("../data/csvt.csv", f"../data/{name}.csv")
        )
        (root / "trials" / f"{name}.toml").write_text(spec + FUNCTION, encoding="utf-8")
    specs = ", ".join(f'"trials/{n}.toml"' for n in TRIALS)
    text = f'name = "separation"\ntrials = [{specs}]\n{PLAN}'
    (root / "project.toml").write_text(text, encoding="utf-8")
    return root / "project.toml"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("separation") / "project"
    make_separation_project(root)
    assert main(["--quiet", "run", str(root), "--jobs", "1"]) == 0
    return root


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_records_name_the_separated_trial(project):
    results = load_results(project / "output")
    record = results.record("overall/recovery/short/any")
    assert record.separated == ("sept",)
    assert record.two_stage is not None
    (trial, reason), *others = record.two_stage.left_out
    assert trial == "sept" and reason.startswith("separation") and not others
    assert np.isfinite(record.two_stage.estimate)
    assert results.record("overall/pain/short/any").separated == ()
    assert results.record("overall/pain/short/any").two_stage.left_out == ()
    for model in ("interaction/recovery/short/any/age/unadjusted",
                  "subgroup/recovery/short/any/female/adjusted"):  # fmt: skip
        assert "sept" in results.record(model).separated
    assert "separation" in record.summary()


def test_result_tables_mark_rows_and_name_the_trial(project):
    tables = project / "output" / "tables"
    overall = {r["outcome"]: r for r in _rows(tables / "overall.csv")}
    assert overall["recovery"]["separated"] == "sept"
    assert overall["pain"]["separated"] == ""
    note = overall["recovery"]["two_stage_note"]
    assert "trial sept left out" in note and "separation" in note
    assert overall["pain"]["two_stage_note"] == ""
    interactions = [r for r in _rows(tables / "interactions.csv") if r["outcome"] == "recovery"]
    assert interactions and all(r["separated"] == "sept" for r in interactions)
    assert all("separation in trial(s) sept" in r["unstable"] for r in interactions)
    assert all(r["important"] == "False" for r in interactions)
    assert not [r for r in _rows(tables / "important.csv") if r["outcome"] == "recovery"]
    subgroups = [r for r in _rows(tables / "subgroups.csv") if r["outcome"] == "recovery"]
    assert subgroups and all("sept" in r["separated"] for r in subgroups)
    models = {r["id"]: r for r in _rows(tables / "models.csv")}
    assert models["overall/recovery/short/any"]["separated"] == "sept"
    forest = {r["trial"]: r for r in _rows(tables / "forest.csv") if r["outcome"] == "recovery"}
    assert forest["sept"]["used"] == "False" and "separation" in forest["sept"]["reason"]
    assert forest["alpha"]["used"] == "True"


def test_report_marks_the_estimate_and_names_the_trial(project):
    text = (project / "output" / "report" / "index.html").read_text(encoding="utf-8")
    text = re.sub(r"<img[^>]*>|<svg.*?</svg>", "", text, flags=re.S)
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())
    assert re.search(r"OR [\d.]+ \([\d.]+, [\d.]+\)" + MARK, text), "overall row not marked"
    assert re.search(r"\d\)" + LEFT_OUT, text), "two-stage estimate not marked"
    assert f"{MARK} separation in trial sept" in text
    assert "trial sept left out: separation" in text
    assert "unstable: separation in trial sept" in text  # the summary of findings
    table6 = text[text.index("Table 6.") : text.index("Table 6.") + 3000]
    assert MARK in table6 and f"{MARK} separation in trial sept" in table6
    assert "One-stage forest plot" in text
    title = "One-stage forest plot: exercise vs any non-exercise comparison, global recovery"
    captions = [text[m.start() : m.start() + 1200] for m in re.finditer(re.escape(title), text)]
    assert any(f"{MARK} separation in trial sept" in c for c in captions), captions


def test_report_exports_carry_the_mark(project):
    tables = project / "output" / "tables"
    exported = {r["Outcome"]: r for r in _rows(tables / "overall_effects.csv")}
    recovery = exported["Global recovery"]
    assert recovery["Effect (95% CI)"].endswith(MARK)
    assert recovery["Two-stage (95% CI)"].endswith(LEFT_OUT)
    assert not exported["Pain intensity (0-100)"]["Effect (95% CI)"].endswith(MARK)
    book = openpyxl.load_workbook(tables / "ipdma-tables.xlsx", read_only=True)
    cells = [str(c) for row in book["overall_effects"].iter_rows(values_only=True) for c in row]
    assert any(c.startswith(f"{MARK} separation in trial sept") for c in cells)
    assert any("trial sept left out" in c for c in cells)


def test_analyze_says_which_trial_is_separated(project, capsys, wide_console):
    assert main(["--quiet", "analyze", str(project), "--jobs", "1"]) == 0
    captured = capsys.readouterr()
    text = " ".join((captured.out + captured.err).split())
    assert "notice: separation in trial sept (5 logistic model(s))" in text, text
    assert "notice: separation in trial alpha" not in text


def _prepared(y: np.ndarray, treat: np.ndarray, trial: np.ndarray, formula: str = "",
              family: str = "binomial") -> PreparedModel:  # fmt: skip
    data = pd.DataFrame({"trial": trial, "y": y, "treat": treat,
                         "baseline": np.tile(np.linspace(-1, 1, 30), 3)})  # fmt: skip
    return PreparedModel(
        spec=ModelSpec("overall", "recovery", "short", "any"),
        formula=formula or "y ~ 0 + C(trial) + baseline + treat + (0 + treat | trial)",
        data=data, family=family, terms=(), dropped=0, baseline_mean=0.0,
    )  # fmt: skip


def test_separation_is_judged_on_each_trials_own_parameters():
    rng = np.random.default_rng(1)
    trial = np.repeat(["a", "b", "c"], 30)
    treat = np.tile([0.0, 1.0], 45)
    y = (rng.uniform(size=90) < 0.4).astype(float)
    assert separated_trials(_prepared(y, treat, trial)) == ()
    quasi = y.copy()
    quasi[(trial == "b") & (treat == 1)] = 1.0  # every exercise participant of b recovers
    assert separated_trials(_prepared(quasi, treat, trial)) == ("b",)
    assert separated_trials(_prepared(quasi, treat, trial, family="gaussian")) == ()
    # c's outcome follows its baseline exactly: a problem only when the baseline slope is
    # the trial's own (random), not when it is shared with the other trials (fixed)
    by_baseline = y.copy()
    by_baseline[trial == "c"] = (np.linspace(-1, 1, 30) > 0).astype(float)
    assert separated_trials(_prepared(by_baseline, treat, trial)) == ()
    random_slope = "y ~ 0 + C(trial) + baseline + treat + (0 + treat + baseline | trial)"
    assert separated_trials(_prepared(by_baseline, treat, trial, random_slope)) == ("c",)
    # a trial where everybody recovered has an infinite intercept only: not marked
    everybody = y.copy()
    everybody[trial == "a"] = 1.0
    assert separated_trials(_prepared(everybody, treat, trial)) == ()
