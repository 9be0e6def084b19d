"""Two-stage IPD meta-analysis on the simulated consortium (ipdma.simulate.harmonized_ipd)."""

from __future__ import annotations

import pytest

from ipdma.meta import two_stage
from ipdma.simulate import default_config, harmonized_ipd


@pytest.fixture(scope="module")
def frame():
    return harmonized_ipd(seed=1)


def test_effect_against_usual_care_recovers_planted_truth(frame) -> None:
    truth = default_config().pain.effect_usual  # -10.7, as the paper
    usual = frame[(frame.treat == 1) | (frame.comparison == "usual")]
    res = two_stage(usual, outcome="pain", baseline="pain0")
    with_usual = set(frame.loc[frame.comparison == "usual", "trial"])
    used = set(res.trials.loc[res.trials.used, "trial"])
    assert used <= with_usual
    assert res.pooled.k >= 5
    assert res.ci[0] < truth < res.ci[1]
    reasons = set(res.trials.reason) - {""}
    assert "only one arm" in reasons


def test_recovery_two_stage_is_a_log_odds_ratio_favouring_exercise(frame) -> None:
    usual = frame[(frame.treat == 1) | (frame.comparison == "usual")]
    res = two_stage(usual, outcome="recovery", baseline="function0")
    assert res.family == "binomial"
    assert res.estimate > 0
    assert "log odds ratio" in str(res)
