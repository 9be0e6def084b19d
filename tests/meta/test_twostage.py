"""Two-stage IPD meta-analysis against R lm/glm + metafor (tests/reference/metafor_twostage.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.tolerances import (
    META_ITERATIVE_RTOL,
    META_LOGISTIC_RTOL,
    META_RTOL,
    META_TAU2_ATOL,
    META_TAU2_RTOL,
)

from ipdma.errors import InputError, ModelError, SeparationWarning
from ipdma.meta import two_stage

REFERENCE = Path(__file__).parents[1] / "reference"
IPD = pd.read_csv(REFERENCE / "metafor_twostage_ipd.csv")
FIXTURE = json.loads((REFERENCE / "metafor_twostage.json").read_text())
CASES = {
    "treatment": {"outcome": "pain", "baseline": "pain0"},
    "interaction_female": {"outcome": "pain", "baseline": "pain0", "modifier": "female"},
    "interaction_age": {"outcome": "pain", "baseline": "pain0", "modifier": "age"},
    "recovery": {"outcome": "recovery", "baseline": "pain0"},
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("method", ["REML", "DL"])
def test_two_stage_matches_lm_glm_and_rma(case: str, method: str) -> None:
    ref = FIXTURE[case]
    res = two_stage(IPD, method=method, **CASES[case])
    stage1_rtol = META_LOGISTIC_RTOL if case == "recovery" else META_RTOL
    used = res.trials[res.trials.used].set_index("trial")
    assert sorted(used.index) == sorted(t["trial"] for t in ref["trials"])
    for expected in ref["trials"]:
        got = used.loc[expected["trial"]]
        assert got.estimate == pytest.approx(expected["estimate"], rel=stage1_rtol)
        assert got.se == pytest.approx(expected["se"], rel=stage1_rtol)
        assert got.n == expected["n"]
    pooled = ref["pooled"][method]
    rtol = max(stage1_rtol, META_RTOL if method == "DL" else META_ITERATIVE_RTOL)
    assert res.estimate == pytest.approx(pooled["estimate"], rel=rtol)
    assert res.se == pytest.approx(pooled["se"], rel=rtol)
    assert res.ci[0] == pytest.approx(pooled["ci_low"], rel=rtol)
    assert res.tau2 == pytest.approx(pooled["tau2"], rel=META_TAU2_RTOL, abs=META_TAU2_ATOL)
    assert res.pooled.q == pytest.approx(pooled["q"], rel=rtol)


def test_trial_without_modifier_variation_is_reported() -> None:
    res = two_stage(IPD, outcome="pain", baseline="pain0", modifier="female")
    row = res.trials.set_index("trial").loc["trial04"]
    assert not row.used
    assert row.reason == "no variation in female"
    assert res.term == "treat:female"
    frame = res.to_frame()
    assert frame.trial.iloc[-1] == "pooled"
    assert frame.n.iloc[-1] == res.trials[res.trials.used].n.sum()
    assert "6 of 7 trials" in str(res)


def test_family_auto_detects_binary_outcome() -> None:
    assert two_stage(IPD, outcome="recovery", baseline="pain0").family == "binomial"
    assert two_stage(IPD, outcome="pain", baseline="pain0").family == "gaussian"


def test_planted_interaction_is_recovered() -> None:
    rng = np.random.default_rng(7)
    frames = []
    for i in range(12):
        n = 400
        z = rng.normal(50 + 5 * i, 10, n)  # trial means differ: only within-trial info used
        treat = rng.integers(0, 2, n)
        base = rng.normal(50, 15, n)
        y = 5 + 0.5 * base - 6 * treat + 0.3 * treat * (z - z.mean()) + rng.normal(0, 8, n)
        frames.append(pd.DataFrame({"trial": f"t{i}", "treat": treat, "b": base, "z": z, "y": y}))
    data = pd.concat(frames, ignore_index=True)
    res = two_stage(data, outcome="y", baseline="b", modifier="z")
    assert res.ci[0] < 0.3 < res.ci[1]
    assert abs(res.estimate - 0.3) < 0.05
    overall = two_stage(data, outcome="y", baseline="b")
    assert abs(overall.estimate + 6) < 0.6


def test_single_arm_trial_and_separation() -> None:
    data = pd.DataFrame(
        {
            "trial": ["a"] * 6 + ["b"] * 6 + ["c"] * 8,
            "treat": [1] * 6 + [0, 1] * 3 + [0, 1] * 4,
            "base": np.arange(20.0),
            "rec": [0, 1, 0, 1, 0, 1] + [0, 1] * 3 + [0, 0, 1, 1, 0, 1, 1, 0],
        }
    )
    with pytest.warns(SeparationWarning, match="trial b"):
        res = two_stage(data, outcome="rec", baseline="base")
    reasons = res.trials.set_index("trial").reason
    assert reasons["a"] == "only one arm"
    assert reasons["b"].startswith("separation")
    assert res.pooled.k == 1


def test_bad_inputs_raise_with_context() -> None:
    with pytest.raises(InputError, match="'nope'"):
        two_stage(IPD, outcome="nope", baseline="pain0")
    bad = IPD.assign(treat=IPD.treat.replace({0: 2}))
    with pytest.raises(InputError, match="trial trial01") as info:
        two_stage(bad, outcome="pain", baseline="pain0")
    assert info.value.value == 2
    one_arm = IPD.assign(treat=1)
    with pytest.raises(ModelError, match="only one arm"):
        two_stage(one_arm, outcome="pain", baseline="pain0")
