"""Two-stage IPD meta-analysis of counts (per-trial Poisson ANCOVA with a person-time offset,
log rate ratios) against R glm(family=poisson) + metafor rma
(tests/reference/metafor_twostage_poisson.R)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from tests.tolerances import (
    META_ITERATIVE_RTOL,
    META_RTOL,
    META_TAU2_ATOL,
    META_TAU2_RTOL,
)

from ipdma.errors import InputError, SpecError
from ipdma.meta import two_stage

REFERENCE = Path(__file__).parents[1] / "reference"
IPD = pd.read_csv(REFERENCE / "metafor_twostage_poisson_ipd.csv")
FIXTURE = json.loads((REFERENCE / "metafor_twostage_poisson.json").read_text())
ARGS = {"outcome": "y", "baseline": "base", "family": "poisson", "exposure": "years"}


@pytest.mark.parametrize(
    ("case", "method", "modifier"),
    [("treatment", "REML", None), ("treatment", "DL", None), ("modifier", "REML", "female")],
)
def test_log_rate_ratios_match_glm_and_rma(case: str, method: str, modifier: str | None) -> None:
    ref = FIXTURE[case]
    res = two_stage(IPD, method=method, modifier=modifier, **ARGS)
    used = res.trials[res.trials.used].set_index("trial")
    assert sorted(used.index) == sorted(t["trial"] for t in ref["trials"])
    for expected in ref["trials"]:  # Newton to a step < 1e-10 vs glm(epsilon = 1e-14) with
        got = used.loc[expected["trial"]]  # the exact information at its final fit
        assert got.estimate == pytest.approx(expected["estimate"], rel=META_RTOL)
        assert got.se == pytest.approx(expected["se"], rel=META_RTOL)
        assert got.n == expected["n"]
    pooled = ref[method]
    rtol = META_RTOL if method == "DL" else META_ITERATIVE_RTOL
    assert res.estimate == pytest.approx(pooled["estimate"], rel=rtol)
    assert res.se == pytest.approx(pooled["se"], rel=rtol)
    assert res.ci[1] == pytest.approx(pooled["ci_high"], rel=rtol)
    assert res.tau2 == pytest.approx(pooled["tau2"], rel=META_TAU2_RTOL, abs=META_TAU2_ATOL)
    assert res.pooled.q == pytest.approx(pooled["q"], rel=rtol)
    assert "log rate ratio" in str(res)


def test_trial_without_events_in_one_arm_is_reported() -> None:
    res = two_stage(IPD, **ARGS)
    row = res.trials.set_index("trial").loc["trial04"]
    assert not row.used and "no events" in row.reason


def test_count_input_errors() -> None:
    bad = IPD.assign(y=IPD.y.where(IPD.index != 3, 1.5))
    with pytest.raises(InputError, match="whole numbers"):
        two_stage(bad, **ARGS)
    zero = IPD.assign(years=IPD.years.where(IPD.index != 5, 0.0))
    with pytest.raises(InputError, match="exposure") as info:
        two_stage(zero, **ARGS)
    assert info.value.row == 5
    with pytest.raises(SpecError, match="exposure"):
        two_stage(IPD, outcome="y", baseline="base", exposure="years")
