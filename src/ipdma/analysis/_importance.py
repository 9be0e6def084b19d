"""Potentially important modifiers (Appendix 9): statistically significant AND clinically important.

The paper's rules (Methods, last paragraph of "Data analysis"), made exact:

* significant: the within-trial interaction has ``p < alpha`` (the paper's criterion; the
  FDR-adjusted ``p_fdr`` is reported beside it);
* clinically important, on the mean-difference scale with the smallest worthwhile effect
  ``swe = swe_fraction x mean baseline value of the outcome`` in the model's data (20 %):
  - *difference*: the difference in treatment effect between levels is at least ``swe``:
    ``|interaction|`` for a binary or categorical level; for a continuous modifier, the range
    (largest minus smallest) of its subgroup effects (Figures 3-5);
  - *direction change*: subgroup effects of opposite sign, with at least one of size ``swe``
    or more (a clinically important effect in one group, the opposite in another);
* on the odds-ratio scale (global recovery) the same with the ratio threshold ``OR >= 2``:
  interaction OR ``>= 2`` or ``<= 1/2``, subgroup OR range ratio ``>= 2``, or subgroup ORs on
  both sides of 1 with one beyond 2 (or 1/2).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ._plan import AnalysisPlan

__all__ = ["flag_importance", "important_table"]


def _subgroup_effects(subgroups: pd.DataFrame) -> dict[tuple, np.ndarray]:
    if subgroups.empty:
        return {}
    keys = ["outcome", "window", "comparison", "modifier"]
    return {
        key: group["estimate"].dropna().to_numpy(dtype=float)
        for key, group in subgroups.groupby(keys, sort=False)
    }


def _log(value: float) -> float:
    return math.log(value) if 0 < value < math.inf else math.inf


def _judge(row: pd.Series, effects: np.ndarray | None, swe: float, ratio: float) -> str:
    estimate = row["estimate"]
    if not math.isfinite(estimate):
        return ""
    odds = row["scale"] == "OR"
    reasons = []
    if row["level"] != "per unit":
        size = abs(_log(estimate)) if odds else abs(estimate)
        if size >= (math.log(ratio) if odds else swe):
            reasons.append(f"level difference >= {'OR ' + format(ratio, 'g') if odds else 'SWE'}")
    if effects is not None and effects.size >= 2:
        values = np.array([_log(e) for e in effects]) if odds else effects
        threshold = math.log(ratio) if odds else swe
        if row["level"] == "per unit" and np.ptp(values) >= threshold:
            reasons.append("subgroup difference >= " + ("OR ratio" if odds else "SWE"))
        if values.min() < 0 < values.max() and np.abs(values).max() >= threshold:
            reasons.append("direction change across levels")
    return "; ".join(reasons)


def flag_importance(
    interactions: pd.DataFrame, subgroups: pd.DataFrame, swe: dict[tuple, float], plan: AnalysisPlan
) -> pd.DataFrame:
    """Add ``swe, significant, clinically_important, importance`` columns to interactions.

    ``swe`` maps (outcome, window, comparison) to the smallest worthwhile effect (MD scale).
    """
    rules = plan.importance
    effects = _subgroup_effects(subgroups)
    out = interactions.copy()
    swe_values, reasons = [], []
    for _, row in out.iterrows():
        cell = (row["outcome"], row["window"], row["comparison"])
        cell_swe = swe.get(cell, math.nan)
        swe_values.append(cell_swe if row["scale"] == "MD" else math.nan)
        key = (*cell, row["modifier"])
        reasons.append(_judge(row, effects.get(key), cell_swe, rules.odds_ratio))
    out["swe"] = swe_values
    out["significant"] = out["p"].lt(rules.alpha)
    out["clinically_important"] = [bool(r) for r in reasons]
    out["importance"] = reasons
    return out


def important_table(flagged: pd.DataFrame) -> pd.DataFrame:
    """Appendix 9: rows significant and clinically important, most significant first."""
    chosen = flagged[flagged["significant"] & flagged["clinically_important"]]
    columns = [
        "outcome", "window", "comparison", "modifier", "label", "level", "adjusted",
        "studies", "participants", "estimate", "ci_low", "ci_high", "p", "p_fdr", "scale",
        "swe", "importance",
    ]  # fmt: skip
    return chosen.sort_values("p", kind="stable")[columns].reset_index(drop=True)
