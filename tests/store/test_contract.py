"""The master dataset has the layout other stages code against (CONTRACTS.md)."""

from __future__ import annotations

import pandas as pd
import pytest
from tests.data.ingest.project import make_project

import ipdma
from ipdma.spec import VARIABLES, Settings
from ipdma.store import ingest

COLUMNS = {
    "trials": ["trial", "label", "year", "country", "population", "included", "n_participants",
               "pct_female", "mean_age", "mean_pain0", "n_exercise_arms", "n_comparison_arms",
               "comparison_category", "pain_instrument", "function_instrument"],
    "arms": ["trial", "arm_code", "arm", "role", "category", "type", "design", "delivery", "n"],
    "outcomes": ["trial", "pid", "outcome", "time_weeks", "value", "native_value", "instrument"],
    "windows": ["trial", "outcome", "window", "time_weeks"],
    "followup": ["trial", "pid", "window", "pain", "function", "recovery", "pain_weeks",
                 "function_weeks"],
    "published": ["trial", "outcome", "comparison", "md", "se"],
    "provenance": ["kind", "trial", "path", "sha256", "size", "meta"],
}  # fmt: skip


@pytest.fixture(scope="module")
def master(tmp_path_factory):
    project = make_project(tmp_path_factory.mktemp("contract"))
    ingest(project)
    return ipdma.load(project)


@pytest.mark.parametrize("table", sorted(COLUMNS))
def test_table_columns(master, table):
    frame = getattr(master, table)
    assert list(frame.columns[: len(COLUMNS[table])]) == COLUMNS[table]


def test_participants_layout(master):
    people = master.participants
    assert list(people.columns[:5]) == ["trial", "pid", "arm_code", "treat", "comparison"]
    for name, definition in VARIABLES.items():
        assert pd.api.types.is_float_dtype(people[name]), name
        if definition.kind == "binary":
            assert set(people[name].dropna().unique()) <= {0.0, 1.0}, name
    assert people["pid"].map(type).eq(str).all()
    assert set(people["treat"]) == {0.0, 1.0}
    assert set(people["comparison"].dropna()) <= {"usual", "conservative"}
    assert not people.duplicated(["trial", "pid"]).any()


def test_value_domains(master):
    assert set(master.windows["window"]) == {"short", "moderate", "long"}
    assert set(master.outcomes["outcome"]) <= {"pain", "function"}
    assert master.outcomes["value"].between(0, 100).all()
    assert set(master.followup["recovery"].dropna()) <= {0.0, 1.0}
    assert master.trials["included"].dtype == bool
    assert set(master.arms["role"]) == {"exercise", "comparison"}
    assert isinstance(master.settings, Settings) and "short" in master.settings.windows
