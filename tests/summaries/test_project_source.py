"""summarize / ipdma summarize on a project file and its master.duckdb (the project's plan)."""

from pathlib import Path

import numpy as np
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


def test_master_is_aggregated_in_duckdb_without_loading_participants(project, monkeypatch):
    """No participant row reaches Python: the pandas loaders of the master are guarded, and
    every result DuckDB returns has at most one row per trial (and category)."""
    import ibis.backends.duckdb as duckdb_backend

    import ipdma.analysis._source as source_module
    import ipdma.store._frame as frame_module
    import ipdma.store._master as master_module

    master = project.parent / "output" / "master.duckdb"
    in_memory = summaries.summarize(ipdma.store.load(master), site="a")  # pandas path

    def refuse(*args, **kwargs):
        raise AssertionError("the participant table was loaded into pandas")

    for module, name in ((master_module, "load"), (frame_module, "analysis_frame"),
                         (source_module, "resolve_source")):  # fmt: skip
        monkeypatch.setattr(module, name, refuse)
    sizes: list[int] = []
    backend = duckdb_backend.Backend
    to_pyarrow, execute = backend.to_pyarrow, backend.execute

    def counted_to_pyarrow(self, expr, *args, **kwargs):
        table = to_pyarrow(self, expr, *args, **kwargs)
        sizes.append(table.num_rows)
        return table

    def counted_execute(self, expr, *args, **kwargs):
        result = execute(self, expr, *args, **kwargs)
        sizes.append(len(result) if hasattr(result, "__len__") else 1)
        return result

    monkeypatch.setattr(backend, "to_pyarrow", counted_to_pyarrow)
    monkeypatch.setattr(backend, "execute", counted_execute)
    in_sql = summaries.summarize(master, site="a")
    trials = len(in_memory.trials)
    assert sizes and max(sizes) <= 4 * trials < 3514 // 10  # K rows of sums, not N rows
    assert [m.model_id for m in in_sql.models] == [m.model_id for m in in_memory.models]
    for a, b in zip(in_sql.models, in_memory.models, strict=True):
        assert a.trials == b.trials and a.columns == b.columns
        np.testing.assert_allclose(a.means, b.means, rtol=1e-13, atol=1e-12)
        np.testing.assert_allclose(a.gram, b.gram, rtol=1e-12, atol=1e-9)
