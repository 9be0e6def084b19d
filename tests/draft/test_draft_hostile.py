"""Drafting never crashes and always writes valid TOML, whatever the columns hold."""

from __future__ import annotations

import tomllib

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipdma.draft import draft_toml, draft_trial

NAMES = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1,
                max_size=12)  # fmt: skip
KINDS = st.sampled_from(["int", "float", "nan", "text", "mixed", "const", "email", "dates"])


def _column(kind: str, n: int, rng: np.random.Generator):
    if kind == "int":
        return rng.integers(-10, 300, n)
    if kind == "float":
        return rng.normal(0, 50, n)
    if kind == "nan":
        return np.full(n, np.nan)
    if kind == "text":
        return rng.choice(["ja", "nej", "", " ", "'q\"", "ø"], n)
    if kind == "mixed":
        return np.array([1, "a", None, 2.5, "", "9"] * n, dtype=object)[:n]
    if kind == "const":
        return np.ones(n)
    if kind == "email":
        return np.array([f"x{i}@mail.com" for i in range(n)], dtype=object)
    return np.array(pd.date_range("1960-01-01", periods=n, freq="37D").strftime("%Y-%m-%d"))


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(columns=st.lists(st.tuples(NAMES, KINDS), min_size=1, max_size=8,
                        unique_by=lambda c: c[0].strip().lower()),
       n=st.integers(1, 30), seed=st.integers(0, 2**16))  # fmt: skip
def test_any_csv_drafts_to_valid_toml(tmp_path, columns, n, seed):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({name.strip() or "x": _column(kind, n, rng) for name, kind in columns})
    path = tmp_path / "trial2001.csv"
    frame.to_csv(path, index=False)
    try:
        draft = draft_trial(path, spec_dir=tmp_path)
    except Exception as exc:  # only a clear data-file error is acceptable
        from ipdma.errors import DataFileError

        assert isinstance(exc, DataFileError), exc
        return
    parsed = tomllib.loads(draft_toml(draft))
    assert parsed["source"]["file"] == "trial2001.csv"
    for field in draft.fields:
        assert field.evidence
    assert not set(parsed["source"]["keep"]) & set(draft.identifiers)
    assert parsed["source"]["id"] not in draft.identifiers


@pytest.mark.parametrize("text", ["", "a\n", ";;;\n;;;\n", "\ufeffid;x\n1;2\n"])
def test_degenerate_text_files(tmp_path, text):
    path = tmp_path / "odd.csv"
    path.write_text(text, encoding="utf-8")
    try:
        draft = draft_trial(path, spec_dir=tmp_path)
    except Exception as exc:
        from ipdma.errors import DataFileError

        assert isinstance(exc, DataFileError), exc
        return
    tomllib.loads(draft_toml(draft))
