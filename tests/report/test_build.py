"""build() and `ipdma run` on a small simulated project: contents, provenance, determinism."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pandas as pd
import pytest

from ipdma.cli import main
from ipdma.report import build

from ._project import SMALL_PLAN, run_small

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return run_small(tmp_path_factory.mktemp("small") / "project")


def test_report_shows_every_part(project):
    html = (project.parent / "output" / "report" / "index.html").read_text("utf-8")
    for key in ("summary", "methods", "trials", "overall", "modifiers", "sensitivity",
                "important", "appendices"):  # fmt: skip
        assert f'<section id="{key}">' in html
    for key in ("key_results", "table1", "table2", "table3", "followup_weeks", "table4",
                "table5", "table6", "appendix3", "appendix6", "appendix9", "checks_replication",
                "checks_missingness", "provenance", "model_problems"):  # fmt: skip
        assert f'id="{key}"' in html, key
    for key in ("figure1", "figure2", "figure3", "figure4", "figure5", "forest_pain_any"):
        assert re.search(rf'<figure id="{key}">\s*<img src="data:image/png;base64,', html), key
    # every anchor is unique (a section and a table sharing an id break the contents' links)
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert sorted({i for i in ids if ids.count(i) > 1}) == []
    # the methods state the plan that was run
    assert "Candidate modifiers (4)" in html
    assert "short term: the visit closest to 13 weeks" in html
    # the modifier tables have one block of rows per planned modifier, in the plan's order
    table4 = pd.read_csv(project.parent / "output" / "tables" / "table4.csv", dtype=str)
    labels = list(dict.fromkeys(table4["Variable"]))
    assert labels == ["Age (years)", "Sex", "BMI", "Any LBP medication use"]
    assert len(SMALL_PLAN["modifiers"]) == len(labels)


def test_provenance_hashes_are_the_files(project):
    provenance = pd.read_csv(project.parent / "output" / "tables" / "provenance.csv", dtype=str)
    assert provenance["kind"].value_counts().to_dict() == {"raw": 12, "spec": 12, "project": 1}
    for row in provenance.itertuples():
        data = (project.parent / row.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == row.sha256
        assert len(data) == int(row.size)


def test_report_to_another_folder(project, tmp_path):
    path = build(project, output=tmp_path / "elsewhere")
    assert path == tmp_path / "elsewhere" / "report" / "index.html"
    theirs = project.parent / "output" / "tables" / "table4.csv"
    assert (tmp_path / "elsewhere" / "tables" / "table4.csv").read_bytes() == theirs.read_bytes()


def test_two_runs_give_identical_tables(project, tmp_path):
    again = run_small(tmp_path / "project")
    first = project.parent / "output"
    second = again.parent / "output"
    names = sorted(p.name for p in (first / "tables").iterdir() if p.suffix in {".csv", ".xlsx"})
    assert "interactions.csv" in names and "table4.csv" in names and "ipdma-tables.xlsx" in names
    assert names == sorted(
        p.name for p in (second / "tables").iterdir() if p.suffix in {".csv", ".xlsx"}
    )
    for name in names:
        a, b = first / "tables" / name, second / "tables" / name
        assert a.read_bytes() == b.read_bytes(), name
    # the provenance paths are relative to the project, so the report is identical too
    html = [d / "report" / "index.html" for d in (first, second)]
    assert html[0].read_bytes() == html[1].read_bytes()


def test_report_before_ingest_is_a_user_error(tmp_path, capsys):
    from ._project import simulate_small

    project = simulate_small(tmp_path / "fresh")
    assert main(["report", str(project)]) == 1
    assert "ipdma ingest" in capsys.readouterr().err


def test_missing_project_file_is_a_user_error(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.toml")]) == 1
    assert "project file does not exist" in capsys.readouterr().err


def test_report_shows_the_analyses_beyond_the_paper(project):
    """Non-linear interactions, individual prediction and Appendix 9's credibility are in
    the report, from the stored frames (the report's tables show the stored numbers)."""
    from ipdma.analysis import load_results
    from ipdma.report._view import format_p

    html = (project.parent / "output" / "report" / "index.html").read_text("utf-8")
    for key in ("nonlinear-interactions", "effect-prediction"):
        assert f'<section id="{key}">' in html
    for key in ("nonlinear", "prediction"):  # the tables keep their keys (CSV names)
        assert f'<div class="table-wrap" id="{key}">' in html
    for key in ("nonlinear_pain", "nonlinear_function", "nonlinear_recovery",
                "prediction_calibration"):  # fmt: skip
        assert re.search(rf'<figure id="{key}">\s*<img src="data:image/png;base64,', html), key
    beyond = load_results(project.parent / "output").beyond
    tables = project.parent / "output" / "tables"
    shown = pd.read_csv(tables / "nonlinear.csv", dtype=str, keep_default_na=False)
    tests = beyond.spline_tests
    # age and bmi are the continuous modifiers of the small plan: 2 x (pain, function,
    # recovery); global recovery's rows are logistic (ratios of odds ratios, an LR test)
    assert len(shown) == len(tests) == 6
    assert shown["p (one-stage)"].tolist() == [format_p(p) for p in tests["p"]]
    logistic = (tests["scale"] == "log OR").to_numpy()
    assert logistic.sum() == 2 and (tests.loc[logistic, "outcome"] == "recovery").all()
    assert shown.loc[logistic, "p (LR)"].tolist() == [format_p(p) for p in tests["p_lr"][logistic]]
    assert (shown.loc[~logistic, "p (LR)"] == "").all()
    assert (
        shown.loc[logistic, "Linear interaction per unit (95% CI)"]
        .str.startswith("ratio of ORs")
        .all()
    )
    prediction = pd.read_csv(tables / "prediction.csv", dtype=str, keep_default_na=False)
    assert len(prediction) == 3
    assert prediction["Scale"].tolist() == ["mean difference"] * 2 + ["log odds ratio"]
    important = load_results(project.parent / "output").important
    if len(important):
        assert 'id="appendix9_credibility"' in html
        credibility = pd.read_csv(tables / "appendix9_credibility.csv", dtype=str)
        assert len(credibility) == len(beyond.credibility) == len(important)
        assert set(credibility["Credibility"]) <= {"high", "moderate", "low"}
