"""ICEMAN-style credibility from the grid's results: a planted within-trial modifier rates
high, a null one does not; the per-trial forest pools the trials' own interactions."""

from __future__ import annotations

import numpy as np
import pytest

import ipdma
from ipdma.analysis import AnalysisPlan
from ipdma.analysis._credibility import assess_credibility, interaction_by_trial
from ipdma.plots import forest

from ._data import frame

pytestmark = pytest.mark.filterwarnings("ignore::ipdma.errors.IpdmaWarning")

PLAN = AnalysisPlan.model_validate(
    {
        "outcomes": ["pain", "function"],
        "comparisons": ["any"],
        "modifiers": ["medication", "bmi"],
        "subgroups": False,
        "two_stage": False,
        "modifier": {"medication": {"type": "binary", "direction": "larger"},
                     "bmi": {"prespecified": False}},
    }
)  # fmt: skip


@pytest.fixture(scope="module")
def grid():
    data = frame(7, trials=10, interaction_medication=-6.0).assign(window="short")
    return data, ipdma.analysis.run(data, PLAN, jobs=1).interactions


def _row(interactions, modifier):
    rows = interactions[(interactions.modifier == modifier) & (interactions.outcome == "pain")
                        & ~interactions.adjusted]  # fmt: skip
    return rows.iloc[0]


def test_planted_modifier_is_credible(grid):
    data, interactions = grid
    row = _row(interactions, "medication")
    by_trial = interaction_by_trial(data, "medication", outcome="pain", baseline="pain0")
    assert by_trial.k == 10 and by_trial.estimate == pytest.approx(row.estimate, abs=1.5)
    spec = PLAN.modifier["medication"]
    result = assess_credibility(row, interactions, by_trial, prespecified=spec.prespecified,
                                direction=spec.direction, continuous_analysis=True)  # fmt: skip
    answers = {c.name: c.answer for c in result.criteria}
    assert answers["within-trial comparison"] == "yes"
    assert answers["pre-specified with direction"] == "yes"
    assert answers["chance (multiplicity)"] == "yes"
    assert answers["consistency across trials"] == "yes"
    # function has no planted medication interaction: the related outcome does not confirm,
    # the one criterion not met, so the rating is moderate (not high) with that reason
    assert answers["consistency across outcomes and follow-ups"] == "no"
    assert result.rating == "moderate"
    assert [r.split(":")[0] for r in result.reasons] == [
        "consistency across outcomes and follow-ups"
    ]
    assert len(forest(by_trial).axes) >= 1


def test_null_exploratory_modifier_is_not_credible(grid):
    data, interactions = grid
    row = _row(interactions, "bmi")
    by_trial = interaction_by_trial(data, "bmi", outcome="pain", baseline="pain0")
    spec = PLAN.modifier["bmi"]
    result = assess_credibility(row, interactions, by_trial, prespecified=spec.prespecified,
                                direction=spec.direction, continuous_analysis=True)  # fmt: skip
    answers = {c.name: c.answer for c in result.criteria}
    assert answers["pre-specified with direction"] == "no"
    assert answers["chance (multiplicity)"] == "no"
    assert result.rating == "low"
    assert any(r.startswith("pre-specified") for r in result.reasons)


def test_wrong_hypothesized_direction_is_reported(grid):
    data, interactions = grid
    row = _row(interactions, "medication")
    by_trial = interaction_by_trial(data, "medication", outcome="pain", baseline="pain0")
    result = assess_credibility(row, interactions, by_trial, prespecified=True,
                                direction="smaller", continuous_analysis=True)  # fmt: skip
    assert result.criteria[1].answer == "no" and result.rating != "high"
    assert np.isfinite(by_trial.i2)
