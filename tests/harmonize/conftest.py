from __future__ import annotations

import pytest
from tests.data.ingest.project import make_project

from ipdma.store import ingest, load


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path)


@pytest.fixture
def master(project):
    ingest(project)
    return load(project)
