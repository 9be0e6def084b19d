"""One ingested (and analysed) project per session; each case works on a fresh copy."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ipdma.cli import main

from ._project import make_project


@pytest.fixture(scope="session")
def template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile-template") / "project"
    make_project(root)
    assert main(["--quiet", "ingest", str(root)]) == 0
    assert main(["--quiet", "analyze", str(root), "--jobs", "1"]) == 0
    return root


@pytest.fixture
def project(template, tmp_path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(template, root, symlinks=True)
    return root


@pytest.fixture
def wide_console(monkeypatch):
    """Messages on one line each (no wrapping), so that fragments can be matched."""
    from ipdma.cli import _app

    monkeypatch.setattr(_app.console, "width", 4000)
    monkeypatch.setattr(_app.out, "width", 4000)
