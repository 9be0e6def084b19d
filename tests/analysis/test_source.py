"""What run() accepts (a typed union, resolved by isinstance) and the checks made up front."""

import pandas as pd
import pytest

import ipdma
from ipdma.analysis._source import from_frame, project_of_master, resolve_source
from ipdma.errors import IpdmaError, SpecError
from ipdma.spec import AnalysisPlan
from ipdma.store import MasterData, ingest, load
from tests.data.ingest.project import make_project

from ._data import frame


def test_unknown_modifier_fails_before_any_fit():
    data = frame(5, trials=4)
    with pytest.raises(SpecError, match=r"'medicaton'.*not a harmonized variable") as info:
        ipdma.analysis.run(data, {"modifiers": ["medicaton"]}, jobs=1)
    assert "did you mean 'medication'" in str(info.value)


def test_unknown_plan_key_is_a_spec_error():
    with pytest.raises(SpecError, match=r"unknown key 'analysis\.modifers'"):
        ipdma.analysis.run(frame(5, trials=4), {"modifers": ["age"]}, jobs=1)


def test_other_objects_are_refused():
    with pytest.raises(IpdmaError, match="cannot analyse an object of type dict"):
        resolve_source({"pain": [1, 2]})  # type: ignore[arg-type]


def test_frame_with_window_column_is_split():
    data = pd.concat([frame(1, trials=3).assign(window=w) for w in ("short", "long")])
    source = from_frame(data)
    assert sorted(source.frames) == ["long", "short"]
    assert "window" not in source.frames["short"].columns
    assert source.output is None and source.master_file is None and source.plan is None


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    root = tmp_path_factory.mktemp("project")
    project = make_project(root)
    ingest(project)
    return project


def test_master_finds_its_project_from_any_working_directory(ingested, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the provenance path is relative to the project folder
    master = load(ingested.parent / "output" / "master.duckdb")
    assert project_of_master(master) == ingested.resolve()
    source = resolve_source(master)
    assert source.project == ingested.resolve() and source.output is None
    assert source.plan == master.meta.plan
    detached = MasterData(*[getattr(master, n) for n in ("trials", "arms", "participants",
                            "outcomes", "windows", "followup", "published")],
                          provenance=pd.DataFrame())  # fmt: skip
    assert project_of_master(detached) is None
    assert resolve_source(detached).plan == AnalysisPlan()  # no project, no record: default


def test_project_path_writes_beside_the_master(ingested):
    source = resolve_source(ingested)
    assert source.master_file == ingested.parent.resolve() / "output" / "master.duckdb"
    assert source.output == ingested.parent.resolve() / "output"
    assert set(source.frames) <= {"short", "moderate", "long"} and source.frames
