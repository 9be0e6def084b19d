"""Subgroup analysis and the Q-between test against metafor (tests/reference/metafor_pool.R)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from tests.tolerances import META_ITERATIVE_RTOL, META_RTOL, META_TAU2_ATOL, META_TAU2_RTOL

from ipdma.errors import InputError
from ipdma.meta import subgroup

REFERENCE = Path(__file__).parents[1] / "reference"
DATA = pd.read_csv(REFERENCE / "metafor_pool_data.csv")
BCG = DATA[DATA.dataset == "bcg"]
FIXTURE = json.loads((REFERENCE / "metafor_pool.json").read_text())["subgroups"]


@pytest.mark.parametrize("key", sorted(FIXTURE))
def test_subgroups_match_metafor(key: str) -> None:
    ref = FIXTURE[key]
    res = subgroup(BCG.yi, BCG.vi, BCG[ref["column"]], method=ref["method"], labels=BCG.study)
    rtol = META_RTOL if ref["method"] == "DL" else META_ITERATIVE_RTOL
    assert sorted(res.names) == sorted(g["group"] for g in ref["groups"])
    for expected in ref["groups"]:
        got = res[expected["group"]]
        assert got.k == expected["k"]
        assert got.estimate == pytest.approx(expected["estimate"], rel=rtol)
        assert got.se == pytest.approx(expected["se"], rel=rtol)
        assert got.ci[0] == pytest.approx(expected["ci_low"], rel=rtol)
        assert got.tau2 == pytest.approx(expected["tau2"], rel=META_TAU2_RTOL, abs=META_TAU2_ATOL)
        assert got.q == pytest.approx(expected["q"], rel=META_RTOL)
    assert res.q_between == pytest.approx(ref["q_between"], rel=rtol)
    assert res.df_between == ref["df_between"]
    assert res.p_between == pytest.approx(ref["p_between"], rel=rtol)


def test_subgroup_frame_and_text() -> None:
    res = subgroup(BCG.yi, BCG.vi, BCG.group2, method="DL", order=["random", "not random"])
    frame = res.to_frame()
    assert list(frame.subgroup) == ["random", "not random", "overall"]
    assert frame.k.tolist() == [7, 6, 13]
    assert "Test for subgroup differences" in res.test_text()
    assert "overall" in str(res)


def test_subgroup_rejects_mismatched_groups() -> None:
    with pytest.raises(InputError, match="groups has 2 entries"):
        subgroup([0.1, 0.2, 0.3], [0.1, 0.1, 0.1], ["a", "b"])
    with pytest.raises(InputError, match="order does not list"):
        subgroup([0.1, 0.2], [0.1, 0.1], ["a", "b"], order=["a"])
