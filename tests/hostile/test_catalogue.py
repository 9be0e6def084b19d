"""The hostile-input catalogue: every case exits 0 or 1 (never 2), prints no traceback,
names where the problem is and how to fix it, and leaves raw files and previous outputs
untouched (see ``_cases_*.py`` for the cases, grouped by kind)."""

from __future__ import annotations

import os

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

_IGNORED = (".ipdma.lock",)


def _outputs(root) -> dict[str, str]:
    folder = root / "output"
    if not folder.is_dir() or folder.is_symlink():
        return {}
    return {k: v for k, v in hashes(folder).items() if not k.endswith(_IGNORED)}


@pytest.mark.parametrize("item", CASES, ids=lambda c: f"{c.kind}-{c.name}")
def test_case(item: Case, project, monkeypatch, capsys, wide_console):
    if item.skip_root and os.geteuid() == 0:
        pytest.skip("root ignores file permissions")
    env = Env(project, monkeypatch)
    item.damage(env)
    raw_before = hashes(project / "data")
    outputs_before = _outputs(project)
    code = main(item.argv(project))
    captured = capsys.readouterr()
    text = " ".join((captured.out + "\n" + captured.err).split())
    assert code == item.code, text
    assert "Traceback" not in text and "internal error" not in text, text
    for fragment in item.expect:
        assert fragment in text, f"{fragment!r} not in: {text}"
    if code == 1:
        assert "fix:" in text, text
        if item.outputs_intact:
            assert _outputs(project) == outputs_before
    assert hashes(project / "data") == raw_before
    if item.after is not None:
        item.after(env, text)
