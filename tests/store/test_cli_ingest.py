"""`ipdma ingest` and `ipdma check` on the fixture consortium."""

from __future__ import annotations

from tests.data.ingest.project import make_project

from ipdma.cli import main


def test_ingest_then_unchanged_then_check(tmp_path, capsys):
    project = make_project(tmp_path)
    assert main(["ingest", str(project)]) == 0
    text = capsys.readouterr()
    assert "Master dataset written" in text.out
    assert "email" in text.out and "left out" in text.out
    assert (tmp_path / "output" / "master.duckdb").is_file()
    (tmp_path / "output" / "master.duckdb").unlink()
    assert main(["--quiet", "ingest", str(project)]) == 0  # one line per fact, no tables
    text = capsys.readouterr().out
    assert "master dataset written" in text and "column(s) left out" in text
    assert "email" not in text and "┃" not in text
    assert main(["--quiet", "ingest", str(project)]) == 0
    assert "inputs unchanged" in capsys.readouterr().out
    assert main(["check", str(project)]) == 0
    out = capsys.readouterr().out
    assert "2 match, 1 discrepancy, 0 not computable" in out
    assert "Missing data and ranges" in out


def test_ingest_error_is_a_clean_user_error(tmp_path, capsys):
    project = make_project(tmp_path)
    (tmp_path / "data" / "gamma.dta").unlink()
    assert main(["--quiet", "ingest", str(project)]) == 1
    err = capsys.readouterr().err
    assert "the data file does not exist" in err
    assert "[source].file" in err and "gamma.dta" in err
    assert "Traceback" not in err
    assert not (tmp_path / "output" / "master.duckdb").exists()


def test_check_before_ingest(tmp_path, capsys):
    project = make_project(tmp_path)
    assert main(["check", str(project)]) == 1
    assert "ipdma ingest" in capsys.readouterr().err


def test_ingest_rejects_an_unknown_analysis_key(tmp_path, capsys):
    """[analysis] is validated when ingest reads the project, not only at analyze."""
    project = make_project(tmp_path)
    text = project.read_text(encoding="utf-8")
    project.write_text(text.replace("two_stage = true", "two_stge = true"), encoding="utf-8")
    assert main(["ingest", str(project)]) == 1
    err = capsys.readouterr().err
    assert "unknown key 'analysis.two_stge'" in err and "did you mean 'two_stage'" in err
    assert "Traceback" not in err
    assert not (tmp_path / "output" / "master.duckdb").exists()


def test_ingest_rejects_an_unknown_modifier(tmp_path, capsys):
    project = make_project(tmp_path)
    text = project.read_text(encoding="utf-8")
    project.write_text(text + 'modifiers = ["age", "fear_avoid"]\n', encoding="utf-8")
    assert main(["ingest", str(project)]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "'fear_avoid', which is not a harmonized variable" in err
    assert "did you mean 'fear_avoidance'" in err
