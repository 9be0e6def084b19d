"""ipdma analyze PROJECT.toml on a simulated, ingested consortium."""

from pathlib import Path

import duckdb
import pandas as pd
import pytest

import ipdma
from ipdma.cli import main
from ipdma.store import ingest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::ipdma.errors.IpdmaWarning"),
]

ANALYSIS = """
[analysis]
outcomes = ["pain", "recovery"]
windows = ["short"]
comparisons = ["any"]
modifiers = ["medication", "heavy_demands"]

[analysis.model]
residual = "common"
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("consortium")
    ipdma.simulate.consortium(folder, seed=11)
    path = folder / "project.toml"
    path.write_text(path.read_text() + ANALYSIS)
    ingest(path)
    return path


def test_analyze_writes_tables_and_figures_then_reuses_the_cache(project, capsys):
    assert main(["analyze", str(project), "--jobs", "2"]) == 0
    first = capsys.readouterr().out
    tables = project.parent / "output" / "tables"
    interactions = pd.read_csv(tables / "interactions.csv")
    assert set(interactions.outcome) == {"pain", "recovery"}
    assert set(interactions.modifier) == {"medication", "heavy_demands"}
    recovery = interactions[interactions.outcome == "recovery"]
    assert (recovery.estimate > 0).all() and (recovery.scale == "OR").all()
    assert "0 cached" in first and "tables:" in first
    assert (project.parent / "output" / "figures" / "subgroups-pain.svg").exists()
    assert main(["-q", "analyze", str(project)]) == 0
    second = capsys.readouterr().out
    assert " 0 fitted" in second.replace("(", " ")


def test_analyze_reports_plan_errors_without_traceback(project, capsys):
    broken = project.with_name("broken.toml")
    broken.write_text(project.read_text().replace("[analysis.model]", "[analysis.modle]"))
    assert main(["analyze", str(broken)]) == 1
    message = capsys.readouterr().err
    assert "unknown key 'analysis.modle'" in message and "did you mean 'model'" in message
    assert "Traceback" not in message


def test_label_only_reingest_refits_nothing_and_tables_are_byte_identical(project, capsys):
    """Issue 12: the fit cache lives in output/results.duckdb (not the master), keyed on each
    model's own data and specification; a re-ingest that changes a trial's label only
    leaves every model's data unchanged, so analyze refits nothing and writes the same
    tables byte for byte."""
    output = project.parent / "output"
    assert main(["-q", "analyze", str(project)]) == 0
    tables = {p.name: p.read_bytes() for p in (output / "tables").glob("*.csv")}
    trial = sorted((project.parent / "trials").glob("*.toml"))[0]
    text = trial.read_text()
    assert 'label = "' in text
    trial.write_text(text.replace('label = "', 'label = "Relabelled ', 1))
    master = output / "master.duckdb"
    before = master.stat().st_mtime_ns
    capsys.readouterr()
    assert main(["-q", "ingest", str(project)]) == 0
    assert master.stat().st_mtime_ns != before  # the master was rewritten
    with duckdb.connect(str(master), read_only=True) as con:
        names = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
    assert not {n for n in names if n.startswith("analysis")}  # no cache/results in master
    assert main(["-q", "analyze", str(project)]) == 0
    assert " 0 fitted" in capsys.readouterr().out.replace("(", " ")
    results = ipdma.analysis.load_results(project)
    assert results.run is not None and results.run.fitted == 0
    assert results.run.cached == len(results.records) - results.failed - results.not_estimable
    assert ipdma.analysis.ResultsStore(output / "results.duckdb").fitted_in(results.run.run) == []
    assert {p.name: p.read_bytes() for p in (output / "tables").glob("*.csv")} == tables
    record = results.record("overall/pain/short/any")
    assert record.status == "fitted" and record.convergence is not None
    row = record.tidy().set_index("role").loc["treatment"]
    overall = results.overall.set_index("outcome").loc["pain"]
    assert overall["estimate"] == row["estimate"] and overall["ci_low"] == row["ci_low"]
