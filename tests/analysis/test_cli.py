"""ipdma analyze PROJECT.toml on a simulated, ingested consortium."""

from pathlib import Path

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
