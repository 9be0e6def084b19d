"""IPD combined with aggregate data (trials that gave only a published estimate).

Riley, Lambert, Staessen et al. (2008), Stat Med 27:1870: in the two-stage approach the
aggregate-data (AD) trials enter the second stage by their published estimate and variance,
next to the IPD trials' estimates; the pooled effect is the usual inverse-variance
random-effects estimate over both. ``aggregate_effects`` takes the AD estimates from the
master dataset (the published mean differences of trials not providing IPD);
``aggregate_sensitivity`` reports the pooled effect from IPD only and from IPD + AD.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..store import MasterData
from ._published import published_tables
from ._twostage import TwoStageResult, two_stage

__all__ = ["aggregate_effects", "aggregate_sensitivity"]


def aggregate_effects(
    master: MasterData,
    *,
    outcome: str = "pain",
    comparison: str = "any",
    time_weeks: float | None = None,
) -> pd.DataFrame:
    """Published estimates of the trials that did not provide IPD: ``trial, label,
    estimate, se, time_weeks`` (one row per trial; with ``time_weeks`` the published result
    closest to it, ties to the earlier one)."""
    published, trials = published_tables(master)
    not_included = trials.loc[~trials.included.astype(bool), ["trial", "label"]]
    rows = published[(published.outcome == outcome) & (published.comparison == comparison)]
    rows = rows.merge(not_included, on="trial", how="inner")
    rows = rows[rows.md.notna() & (rows.se > 0)]
    if time_weeks is not None and len(rows):
        distance = (rows.time_weeks.astype(float) - time_weeks).abs().fillna(float("inf"))
        rows = rows.assign(_d=distance).sort_values(["trial", "_d", "time_weeks"])
    rows = rows.drop_duplicates("trial", keep="first")
    return pd.DataFrame(
        {
            "trial": rows.trial.astype(str).to_numpy(),
            "label": rows.label.to_numpy(),
            "estimate": rows.md.astype(float).to_numpy(),
            "se": rows.se.astype(float).to_numpy(),
            "time_weeks": rows.time_weeks.astype(float).to_numpy(),
        }
    )


def aggregate_sensitivity(
    data: pd.DataFrame, aggregate: pd.DataFrame, **options: Any
) -> tuple[pd.DataFrame, TwoStageResult, TwoStageResult]:
    """Two-stage analysis from IPD only and from IPD + aggregate data (``options`` go to
    :func:`two_stage`). Returns the tidy comparison (``analysis, k_ipd, k_aggregate,
    estimate, se, ci_low, ci_high, p, tau2, i2``) and both results."""
    ipd_only = two_stage(data, **options)
    combined = two_stage(data, aggregate=aggregate, **options)
    rows = []
    for name, res in (("IPD only", ipd_only), ("IPD + aggregate data", combined)):
        used = res.trials[res.trials.used]
        rows.append(
            {
                "analysis": name,
                "k_ipd": int((used.source == "IPD").sum()),
                "k_aggregate": int((used.source == "aggregate").sum()),
                "estimate": res.pooled.estimate,
                "se": res.pooled.se,
                "ci_low": res.pooled.ci[0],
                "ci_high": res.pooled.ci[1],
                "p": res.pooled.p,
                "tau2": res.pooled.tau2,
                "i2": res.pooled.i2,
            }
        )
    return pd.DataFrame(rows), ipd_only, combined
