"""ipdma init / validate / codebook on a small hand-made project."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from ipdma.cli import main
from ipdma.draft import codebook, init_project, validate
from ipdma.errors import SpecError

N = 40


def _write_raw(folder: Path) -> None:
    rng = np.random.default_rng(5)
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame({
        "subject": np.arange(1, N + 1), "group": np.tile([1.0, 2.0], N // 2),
        "age": rng.integers(20, 70, N).astype(float), "sex": rng.choice([1.0, 2.0], N),
        "vas_0": rng.integers(0, 101, N).astype(float),
        "vas_w8": rng.integers(0, 101, N).astype(float),
    })  # fmt: skip
    pyreadstat.write_sav(frame, folder / "smith2001.sav",
                         variable_value_labels={"group": {1: "exercise", 2: "usual care"},
                                                "sex": {1: "male", 2: "female"}})  # fmt: skip
    frame.assign(group=frame["group"].map({1.0: "EX", 2.0: "UC"})).to_csv(
        folder / "jones2003.csv", index=False)  # fmt: skip


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


def _fill(path: Path, replacements: dict[str, str]) -> None:
    text = path.read_text()
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new, 1)
    path.write_text(text)


def test_init_draft_validate_fix_ingest(tmp_path):
    _write_raw(tmp_path / "raw")
    result = init_project(tmp_path / "proj", data=tmp_path / "raw")
    assert [p.name for p in result.specs] == ["jones2003.toml", "smith2001.toml"]
    project = tomllib.loads(result.project_file.read_text())
    assert project["trials"] == ["trials/jones2003.toml", "trials/smith2001.toml"]
    assert project["analysis"]["model"]["nagq"] == 7  # every setting written out
    before = _tree(tmp_path)
    report = validate(tmp_path / "proj")
    assert _tree(tmp_path) == before  # validate writes nothing
    assert not report.ok
    todo = report.to_frame()
    assert set(todo["trial"]) == {"jones2003", "smith2001"}
    assert {"trial.country", "trial.population"} <= set(todo["key"])
    assert main(["validate", str(tmp_path / "proj")]) == 1
    # data problems are found while TODOs remain
    smith = tmp_path / "proj" / "trials" / "smith2001.toml"
    original = smith.read_text()
    smith.write_text(original.replace('column = "age"', 'column = "age_y"'))
    both = validate(tmp_path / "proj").to_frame()
    both = both[both["trial"] == "smith2001"]
    assert both["message"].str.startswith("TODO").any()
    assert "column 'age_y' is not in the data file" in set(both["message"])
    smith.write_text(original)
    with pytest.raises(SpecError, match="exists"):
        init_project(tmp_path / "proj", data=tmp_path / "raw")
    # decide the TODOs as a user would (only the TODO lines)
    for name, codes in (("smith2001", ("1", "2")), ("jones2003", ('"EX"', '"UC"'))):
        path = tmp_path / "proj" / "trials" / f"{name}.toml"
        text = path.read_text()
        text = text.replace('country = "TODO"', 'country = "Norway"')
        text = text.replace('population = "TODO"', 'population = "primary care"')
        head, *arms = text.split("[[arms]]")
        fixed = []
        for arm in arms:
            exercise = f"code = {codes[0]}" in arm
            lines = []
            for line in arm.splitlines():
                if line.startswith('category = "TODO"'):
                    line = f'category = "{"exercise" if exercise else "usual care"}"'
                elif line.startswith('type = "TODO"'):
                    line = f'type = "{"mixed" if exercise else "usual care"}"'
                elif line.startswith('design = "TODO"'):
                    line = 'design = "standardized"' if exercise else ""
                elif line.startswith('delivery = "TODO"'):
                    line = 'delivery = "group"' if exercise else ""
                lines.append(line)
            fixed.append("\n".join(lines))
        text = "[[arms]]".join([head, *fixed])
        if name == "jones2003":  # unlabelled 1/2 sex: the draft's low guess is kept
            assert "codes = {" in text
        path.write_text(text)
    report = validate(tmp_path / "proj")
    assert report.ok, report.summary()
    assert main(["--quiet", "ingest", str(tmp_path / "proj" / "project.toml")]) == 0


def test_validate_lists_every_problem(tmp_path):
    _write_raw(tmp_path / "raw")
    result = init_project(tmp_path / "proj", data=tmp_path / "raw")
    spec = result.specs[1]  # smith2001
    text = spec.read_text()
    for todo, value in (('country = "TODO"', 'country = "UK"'),
                        ('population = "TODO"', 'population = "primary care"')):  # fmt: skip
        text = text.replace(todo, value)
    text = text.replace('type = "TODO"', 'type = "mixed"').replace(
        'design = "TODO"', 'design = "standardized"').replace(
        'delivery = "TODO"', 'delivery = "group"')  # fmt: skip
    text = text.replace('column = "age"', 'column = "agee"')  # missing column
    text = text.replace("code = 2 ", "code = 3 ")  # arm code 2 no longer mapped
    text = text.replace('category = "usual care"', 'category = "usual care"\ntyp = "x"', 1)
    spec.write_text(text)
    problems = validate(tmp_path / "proj").to_frame()
    mine = problems[problems["trial"] == "smith2001"]
    assert "arms[1].typ" in set(mine["key"])  # unknown key, with its neighbours listed
    text = text.replace('\ntyp = "x"', "")
    spec.write_text(text)
    mine = validate(tmp_path / "proj").to_frame()
    mine = mine[mine["trial"] == "smith2001"]
    messages = " | ".join(mine["message"])
    assert "'agee' is not in the data file" in messages
    assert "arm code(s) 2 found" in messages
    assert "did you mean 'age'?" in " ".join(mine["hint"])


def test_codebook_project_and_file(tmp_path):
    _write_raw(tmp_path / "raw")
    init_project(tmp_path / "proj", data=tmp_path / "raw")
    result = codebook(tmp_path / "proj")
    assert result.index == tmp_path / "proj" / "output" / "codebook" / "index.html"
    page = (result.index.parent / "smith2001.html").read_text()
    assert "1 = exercise" in page and "vas_w8" in page and "<svg" in page
    frame = pd.read_csv(result.csv)
    assert set(frame["trial"]) == {"smith2001", "jones2003"}
    assert frame.loc[frame["variable"] == "sex", "distinct"].tolist() == [2, 2]
    one = codebook(tmp_path / "raw" / "jones2003.csv", output=tmp_path / "cb")
    assert one.pages == (tmp_path / "cb" / "jones2003.html",)
    # a direct identifier's values never reach the codebook
    secret = pd.DataFrame({"id": range(8), "initials": ["A.B.", "C.D."] * 4,
                           "birth_date": [f"1960-01-0{i + 1}" for i in range(8)]})  # fmt: skip
    secret.to_csv(tmp_path / "raw2.csv", index=False)
    hidden = codebook(tmp_path / "raw2.csv", output=tmp_path / "cb2")
    text = hidden.pages[0].read_text() + hidden.csv.read_text()
    assert "A.B." not in text and "1960-01-01" not in text
    assert "likely direct identifier" in text
    assert main(["codebook", str(tmp_path / "raw" / "nothing.sav"), "-o",
                 str(tmp_path / "x")]) == 1  # fmt: skip


def test_draft_cli(tmp_path, capsys):
    _write_raw(tmp_path / "raw")
    assert main(["draft", str(tmp_path / "raw" / "smith2001.sav")]) == 0
    text = capsys.readouterr().out
    assert tomllib.loads(text)["source"]["arm"] == "group"
    target = tmp_path / "spec.toml"
    assert main(["draft", str(tmp_path / "raw" / "smith2001.sav"), "-o", str(target)]) == 0
    assert main(["draft", str(tmp_path / "raw" / "smith2001.sav"), "-o", str(target)]) == 1
    os.chmod(tmp_path / "raw" / "smith2001.sav", 0o644)
