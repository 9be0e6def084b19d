"""The tutorial (docs/tutorial.md) runs as written: every `ipdma` command in its bash blocks.

Where the reader decides the TODOs, the test fills exactly the TODOs from the simulator's
own specs (as the drafting benchmark does) and applies the tutorial's [analysis] lines.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest
import tomli_w

from ipdma.cli import main
from tests.draft._score import fill_todos

pytestmark = pytest.mark.slow

TUTORIAL = Path(__file__).resolve().parents[1] / "docs" / "tutorial.md"
MARKER = "<!-- tutorial: the reader decides the TODOs here -->"


def _commands(text: str) -> list[tuple[list[str], int]]:
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            if line.startswith("ipdma "):
                command, _, comment = line.partition("#")
                expected = 1 if "exits 1" in comment else 0
                out.append((shlex.split(command)[1:], expected))
    return out


def _decide_todos(root: Path) -> None:
    for spec in sorted((root / "myproject" / "trials").glob("*.toml")):
        drafted = tomllib.loads(spec.read_text())
        hidden = tomllib.loads((root / "sim" / "trials" / spec.name).read_text())
        spec.write_text(tomli_w.dumps(fill_todos(drafted, hidden)))


def _small_plan(root: Path, text: str) -> None:
    lines = re.search(r"```toml\n(.*?)```", text.split(MARKER)[1], flags=re.S).group(1)
    project = root / "myproject" / "project.toml"
    content = project.read_text()
    head, _, tail = content.partition("[analysis]")
    body, _, rest = tail.partition("\n[")
    for line in lines.strip().splitlines():
        key = line.split("=")[0].strip()
        body = re.sub(rf"^{key} = .*$", line, body, count=1, flags=re.M)
    project.write_text(head + "[analysis]" + body + "\n[" + rest)
    assert tomllib.loads(project.read_text())["analysis"]["windows"] == ["short"]


def test_tutorial_commands(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = TUTORIAL.read_text()
    before, after = text.split(MARKER)
    first = _commands(before)
    assert [c[0][0] for c in first] == ["simulate", "codebook", "draft", "init", "validate"]
    for argv, expected in first:
        assert main(["--quiet", *argv]) == expected, argv
    _decide_todos(tmp_path)
    _small_plan(tmp_path, text)
    second = _commands(after)
    assert [c[0][0] for c in second] == ["validate", "ingest", "check", "codebook", "analyze",
                                         "report"]  # fmt: skip
    for argv, expected in second:
        assert main(["--quiet", *argv]) == expected, argv
    html = (tmp_path / "myproject" / "output" / "report" / "index.html").read_text()
    assert "../codebook/index.html" in html
    assert (tmp_path / "codebook-smeets" / "smeets2006.html").is_file()
