"""Aggregate and two-stage meta-analysis (the role of metafor / RevMan in the workflow).

``pool(yi, vi, method=...)`` pools estimates with known variances; ``regress(yi, vi, mods)``
fits a meta-regression; ``escalc(measure, ...)`` computes effect sizes with metafor's measure
names; ``mantel_haenszel`` and ``peto`` pool 2x2 tables; ``subgroup`` adds the test
for subgroup differences; ``mean_difference``, ``standardized_mean_difference`` and
``log_odds_ratio`` compute effect sizes from group summaries; ``two_stage`` runs a per-trial
ANCOVA on IPD and pools the trial estimates.
"""

from ._aggregate import aggregate_effects, aggregate_sensitivity
from ._escalc import (
    EffectSizes,
    hedges_correction,
    log_odds_ratio,
    mean_difference,
    standardized_mean_difference,
)
from ._escalc_counts import escalc
from ._mh import mantel_haenszel, peto
from ._mh_result import MantelHaenszelResult
from ._pool import pool
from ._published import published_comparison
from ._regress import regress
from ._regress_result import RegressionResult
from ._result import PoolResult
from ._subgroup import SubgroupResult, subgroup
from ._twostage import AGGREGATE_MARK, TwoStageResult, two_stage

__all__ = [
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
