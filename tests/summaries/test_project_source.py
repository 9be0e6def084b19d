"""summarize / ipdma summarize on a project file and its master.duckdb (the project's plan)."""

from pathlib import Path

import pytest

import ipdma
from ipdma import summaries
from ipdma.cli import main
from ipdma.spec import load_project
from ipdma.store import ingest

pytestmark = pytest.mark.filterwarnings("ignore::ipdma.errors.IpdmaWarning")

ANALYSIS = """
[analysis]
outcomes = ["pain"]
windows = ["short"]
comparisons = ["any"]
modifiers = ["heavy_demands"]
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    ipdma.simulate.consortium(folder, seed=11)
    path = folder / "project.toml"
    path.write_text(path.read_text() + ANALYSIS)
    ingest(path)
    return path


def test_project_file_and_master_use_the_projects_plan(project):
    plan = load_project(project).analysis
    from_project = summaries.summarize(project, site="a")
    from_master = summaries.summarize(project.parent / "output" / "master.duckdb", site="a")
    assert from_project.plan == plan.record()
    assert from_master.plan == from_project.plan
    assert [m.model_id for m in from_project.models] == [m.model_id for m in from_master.models]
    assert from_project.models, "the project's linear model was summarised"
    assert all("pain" in m.model_id for m in from_project.models)
    for a, b in zip(from_project.models, from_master.models, strict=True):
        assert a.trials == b.trials
        assert (a.gram == b.gram).all()


def test_cli_summarize_project_writes_the_file(project, capsys):
    assert main(["summarize", str(project), "--site", "a"]) == 0
    written = project.parent / "output" / "summaries.json"
    assert written.is_file()
    assert "summaries:" in capsys.readouterr().out
    assert summaries.read_summaries(written).plan == load_project(project).analysis.record()
