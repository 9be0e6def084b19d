"""The public names of ipdma.meta, ipdma.describe and ipdma.plots (a change here is an API change)."""

from __future__ import annotations

import pandas as pd

import ipdma
from ipdma import describe, meta, plots


def test_public_names() -> None:
    assert sorted(meta.__all__) == [
        "AGGREGATE_MARK",
        "EffectSizes",
        "MantelHaenszelResult",
        "PoolResult",
        "RegressionResult",
        "SubgroupResult",
        "TwoStageResult",
        "aggregate_effects",
        "aggregate_sensitivity",
        "escalc",
        "hedges_correction",
        "log_odds_ratio",
        "mantel_haenszel",
        "mean_difference",
        "peto",
        "pool",
        "published_comparison",
        "regress",
        "standardized_mean_difference",
        "subgroup",
        "two_stage",
    ]
    assert sorted(describe.__all__) == [
        "FlowCounts",
        "TestResult",
        "WindowFlow",
        "categorical_test",
        "flow_counts",
        "followup_weeks",
        "table1",
        "table2",
        "table3",
    ]
    assert sorted(plots.__all__) == [
        "aggregate_forest",  # issue 20: IPD + aggregate data, AD trials marked
        "benefit_calibration",
        "chain_means",  # issue 17: convergence of multiple imputation
        "effect_curve",
        "effect_curve_panel",
        "flow_diagram",
        "forest",
        "one_stage_forest",
        "save",
        "subgroup_forest",
        "trial_interactions",
    ]
    assert ipdma.meta.pool is meta.pool


def test_results_render_as_text_and_html() -> None:
    sub = meta.subgroup([0.1, 0.4, -0.2, 0.3], [0.02, 0.05, 0.04, 0.03], ["a", "a", "b", "b"])
    assert "Test for subgroup differences" in sub._repr_html_()
    ipd = pd.DataFrame(
        {
            "trial": ["x"] * 6 + ["y"] * 6,
            "treat": [0, 1] * 6,
            "base": [50, 52, 48, 61, 55, 47, 40, 43, 58, 52, 49, 51],
            "pain": [40, 30, 42, 45, 50, 33, 35, 30, 50, 36, 44, 39],
        }
    )
    two = meta.two_stage(ipd, outcome="pain", baseline="base", method="DL")
    html = two._repr_html_()
    assert "<table" in html and "pooled" in html
    assert "mean difference" in str(two)
    es = meta.mean_difference([10], [2], [20], [12], [3], [20])
    assert "<table" in es._repr_html_()
