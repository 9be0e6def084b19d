"""The hostile-input catalogue: every case exits 0 or 1 (never 2), prints no traceback,
names where the problem is and how to fix it, and leaves raw files and previous outputs
untouched (see ``_cases_*.py`` for the cases, grouped by kind)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from ipdma.cli import main

from . import (  # noqa: F401  (importing registers the cases)
    _cases_faults,
    _cases_files,
    _cases_identifiers,
    _cases_project,
)
from ._catalogue import CASES, Case, Env
from ._project import hashes
from ._unprivileged import Unprivileged, find_unprivileged

_IGNORED = (".ipdma.lock",)


def _outputs(root) -> dict[str, str]:
    folder = root / "output"
    if not folder.is_dir() or folder.is_symlink():
        return {}
    return {k: v for k, v in hashes(folder).items() if not k.endswith(_IGNORED)}


@pytest.fixture(scope="session")
def unprivileged() -> Unprivileged:
    found = find_unprivileged()
    if isinstance(found, str):
        pytest.skip(f"root ignores file permissions and no unprivileged run is possible: {found}")
    return found


@dataclass
class Outcome:
    """What a case produced: its environment, exit code, one-line output, and the hashes of
    the raw files and outputs taken after the damage and before the command."""

    env: Env
    code: int
    text: str
    raw_before: dict[str, str]
    outputs_before: dict[str, str]


@contextlib.contextmanager
def _as_user(item: Case, project, monkeypatch, runner: Unprivileged) -> Iterator[Outcome]:
    """Damage a copy owned by the unprivileged user and run the CLI as that user."""
    copy = runner.copy(project)
    try:
        env = Env(copy, monkeypatch)
        item.damage(env)
        raw_before, outputs_before = hashes(copy / "data"), _outputs(copy)
        code, text = runner.run(item.argv(copy), copy)
        yield Outcome(env, code, " ".join(text.split()), raw_before, outputs_before)
    finally:
        runner.cleanup(copy)


@contextlib.contextmanager
def _in_process(item: Case, project, monkeypatch, capsys) -> Iterator[Outcome]:
    env = Env(project, monkeypatch)
    item.damage(env)
    raw_before, outputs_before = hashes(project / "data"), _outputs(project)
    code = main(item.argv(project))
    captured = capsys.readouterr()
    text = " ".join((captured.out + "\n" + captured.err).split())
    yield Outcome(env, code, text, raw_before, outputs_before)


@pytest.mark.parametrize("item", CASES, ids=lambda c: f"{c.kind}-{c.name}")
def test_case(item: Case, project, monkeypatch, capsys, wide_console, request):
    if item.as_user and os.geteuid() == 0:  # root reads and writes everything: drop it
        run = _as_user(item, project, monkeypatch, request.getfixturevalue("unprivileged"))
    else:
        run = _in_process(item, project, monkeypatch, capsys)
    with run as outcome:
        _check(item, outcome)


def _check(item: Case, outcome: Outcome) -> None:
    env, code, text = outcome.env, outcome.code, outcome.text
    project = env.root
    assert code == item.code, text
    assert "Traceback" not in text and "internal error" not in text, text
    for fragment in item.expect:
        assert fragment in text, f"{fragment!r} not in: {text}"
    if code == 1:
        assert "fix:" in text, text
        if item.outputs_intact:
            assert _outputs(project) == outcome.outputs_before
    assert hashes(project / "data") == outcome.raw_before
    if item.after is not None:
        item.after(env, text)
