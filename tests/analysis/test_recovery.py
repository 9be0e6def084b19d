"""Acceptance: on the simulated consortium the grid recovers the planted truths.

The simulator (ipdma.simulate, default config) plants treatment x (z - trial mean of z)
interactions (pain: heavy demands, medication, education; function: heavy demands,
medication) and overall effects against usual care / other conservative treatment; every
other candidate modifier has no interaction. A larger coverage study is in
``benchmarks/bench_grid.py --coverage``.
"""

import numpy as np
import pytest

import ipdma
from ipdma.analysis import AnalysisPlan

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::ipdma.errors.SingularFitWarning"),
    pytest.mark.filterwarnings("ignore::ipdma.errors.ConvergenceWarning"),
]

CONFIG = ipdma.simulate.default_config()
CONTINUOUS_OUTCOMES = ("pain", "function")


def truth(outcome: str, modifier: str) -> float:
    return float(CONFIG.outcome_model(outcome).interactions.get(modifier, 0.0))


def interaction_plan(modifiers, **extra):
    return AnalysisPlan(
        outcomes=CONTINUOUS_OUTCOMES, windows=("short",), comparisons=("any",),
        modifiers=tuple(modifiers), adjustments=("adjusted",), subgroups=False,
        two_stage=False, **extra,
    )  # fmt: skip


@pytest.fixture(scope="module")
def grid():
    data = ipdma.simulate.harmonized_ipd(seed=2020)
    plan = AnalysisPlan(
        outcomes=CONTINUOUS_OUTCOMES, windows=("short",), two_stage=False, subgroups=False,
        adjustments=("adjusted",),
    )  # fmt: skip
    return ipdma.analysis.run(data, plan, jobs=2)


def test_planted_interactions_are_recovered(grid):
    rows = grid.interactions[grid.interactions.comparison == "any"]
    planted = [(o, m) for o in CONTINUOUS_OUTCOMES for m in CONFIG.outcome_model(o).interactions]
    assert len(planted) == 5
    for outcome, modifier in planted:
        row = rows[(rows.outcome == outcome) & (rows.modifier == modifier)].iloc[0]
        assert row["studies"] >= 3
        assert abs(row["estimate"] - truth(outcome, modifier)) < 3 * row["se"], (outcome, modifier)
        assert np.sign(row["estimate"]) == np.sign(truth(outcome, modifier))


def test_null_modifiers_are_mostly_not_significant(grid):
    rows = grid.interactions
    null = rows[[truth(o, m) == 0 for o, m in zip(rows.outcome, rows.modifier, strict=True)]]
    null = null.dropna(subset=["p"])
    assert len(null) >= 90  # 2 outcomes x 3 comparison sets x ~17 modifiers
    assert (null.p < 0.05).mean() <= 0.15
    assert (null.p_fdr < 0.05).mean() <= 0.05


def test_overall_effects_by_comparison_set(grid):
    # the mean differences on the bounded 0-100 data, which the analyses estimate
    implied = ipdma.simulate.implied_truth(CONFIG)
    overall = grid.overall.set_index(["outcome", "comparison"])
    for outcome in CONTINUOUS_OUTCOMES:
        for comparison in ("usual", "conservative"):
            true_effect = implied[f"md_{outcome}_{comparison}"]
            row = overall.loc[(outcome, comparison)]
            assert abs(row["estimate"] - true_effect) < 3.5 * row["se"], (outcome, comparison)


def test_confidence_intervals_cover_across_seeds():
    modifiers = ("heavy_demands", "medication", "education", "leg_pain")
    plan = interaction_plan(modifiers)
    covered, total = 0, 0
    for seed in range(1, 6):
        data = ipdma.simulate.harmonized_ipd(seed=seed)
        rows = ipdma.analysis.run(data, plan, jobs=1).interactions.dropna(subset=["estimate"])
        for _, row in rows.iterrows():
            value = truth(row["outcome"], row["modifier"])
            covered += row["ci_low"] <= value <= row["ci_high"]
            total += 1
    assert total >= 35
    assert covered / total >= 0.8  # nominal 0.95; P(< 0.8 | 0.95) < 0.1 % for n = 40
