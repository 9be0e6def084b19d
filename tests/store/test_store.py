"""The master DuckDB file: provenance, atomic writes, skip on unchanged inputs, raw files
untouched."""

from __future__ import annotations

import builtins
import hashlib
import os

import pytest
from tests.data.ingest.project import alpha_frame, make_project

from ipdma import __version__
from ipdma.errors import DataFileError, InputError
from ipdma.spec import load_project
from ipdma.store import MasterData, ingest, load


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _state(path):
    st = path.stat()
    return _sha(path), st.st_size, st.st_mtime_ns


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path)


def test_raw_files_byte_identical_and_opened_read_only(project, monkeypatch):
    raws = sorted((project.parent / "data").iterdir())
    before = {p: _state(p) for p in raws}
    for p in raws:
        p.chmod(0o444)
    modes = []
    real_open = builtins.open

    def spy(file, mode="r", *args, **kwargs):
        if str(file) in {str(p) for p in raws}:
            modes.append(mode)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    ingest(project)
    ingest(project, force=True)
    assert {p: _state(p) for p in raws} == before
    assert modes and set(modes) == {"rb"}  # hashing and text reading, never for writing


def test_provenance(project):
    result = ingest(project)
    master = load(result.path)
    prov = master.provenance
    assert sorted(prov["kind"].unique()) == ["project", "raw", "spec"]
    raw = prov[prov["kind"] == "raw"].set_index("trial")
    alpha = project.parent / "data" / "alpha.sav"
    assert raw.loc["alpha", "sha256"] == _sha(alpha)
    assert raw.loc["alpha", "size"] == alpha.stat().st_size
    assert raw.loc["beta", "meta"]["encoding"] == "latin-1"
    spec = prov[prov["kind"] == "spec"].set_index("trial")
    assert spec.loc["gamma", "sha256"] == _sha(project.parent / "trials" / "gamma.toml")
    head = prov[prov["kind"] == "project"].iloc[0]["meta"]
    assert head["package_version"] == __version__
    assert "created" in head and head["settings"]["recovery"]["pain_points"] == 20
    assert master.settings.windows["short"].target == 13
    assert master.meta.plan == load_project(project).analysis
    assert master.meta.package_version == __version__
    assert master.meta.counts["participants"] == len(master.participants)
    assert master.path == result.path
    assert isinstance(master, MasterData)


def test_rerun_on_unchanged_inputs_changes_nothing(project):
    first = ingest(project)
    state = _state(first.path)
    second = ingest(project)
    assert first.status == "written" and second.status == "unchanged"
    assert second.fingerprint == first.fingerprint
    assert _state(first.path) == state
    assert second.counts == first.counts


def test_changed_raw_file_is_detected(project):
    first = ingest(project)
    import pyreadstat
    from tests.data.ingest.project import ALPHA_LABELS

    frame = alpha_frame()
    frame.loc[0, "age"] = 33.0
    alpha = project.parent / "data" / "alpha.sav"
    pyreadstat.write_sav(frame, alpha, variable_value_labels=ALPHA_LABELS)
    second = ingest(project)
    assert second.status == "written"
    assert second.fingerprint != first.fingerprint
    assert second.changed == ("data/alpha.sav",)
    assert "changed raw file" in second.summary()
    ages = load(project).participants.query("trial == 'alpha'")["age"]
    assert ages.iloc[0] == 33.0


def test_previous_master_intact_on_error(project):
    first = ingest(project)
    state = _state(first.path)
    frame = alpha_frame()
    frame.loc[2, "vas0"] = 150.0
    import pyreadstat

    pyreadstat.write_sav(frame, project.parent / "data" / "alpha.sav")
    with pytest.raises(InputError, match="outside the VAS"):
        ingest(project)
    assert _state(first.path) == state
    leftovers = [p for p in os.listdir(first.path.parent) if p != "master.duckdb"]
    assert leftovers == []
    assert len(load(project).participants) == 29


def test_moved_project_is_unchanged(project, tmp_path):
    first = ingest(project)
    moved = tmp_path.parent / (tmp_path.name + "_moved")
    tmp_path.rename(moved)
    again = ingest(moved / "project.toml")
    assert again.status == "unchanged" and again.fingerprint == first.fingerprint
    assert load(moved / "project.toml").provenance["path"].str.startswith("/").sum() == 0


def test_load_without_master(tmp_path):
    with pytest.raises(DataFileError, match="no master dataset found"):
        load(tmp_path / "master.duckdb")


def test_load_not_a_master(tmp_path):
    path = tmp_path / "master.duckdb"
    path.write_bytes(b"garbage" * 100)
    with pytest.raises(DataFileError, match="not a readable master dataset"):
        load(path)
