"""Potentially important modifiers (Appendix 9): significant AND important in size AND stable.

The rules (``[analysis.importance]``, :class:`~ipdma.analysis.ImportanceRules`), made exact.
Write ``T`` for the size threshold on the mean-difference scale and, on the odds-ratio scale,
``H`` for the interaction OR that counts as important (important when ``psi >= H`` or
``psi <= 1/H``):

* ``rule = "results"`` (default; the rule the paper's Results applied to Tables 4-6 and
  Figures 3-5): ``T = md_points`` (3.3 points on 0-100); on the OR scale a *difference in
  OR* of ``d = or_difference`` (0.7): subgroup ORs differing by ``d`` or more, and on the
  interaction scale (reference-level OR 1) ``H = 1 + d``;
* ``rule = "methods"`` (the paper's Methods): ``T = swe_fraction x`` the mean baseline value
  of the outcome in the cell's overall model (20 %), and ``H = odds_ratio`` (2) for the
  interaction OR and for the ratio of subgroup ORs.

A row is

* **significant** when the within-trial interaction has ``p < alpha`` (the FDR-adjusted
  ``p_fdr``, Benjamini-Hochberg over the grid, is reported beside it);
* **important in size** (``clinically_important``; the reasons in ``importance``) when, for
  a binary or categorical level, ``|interaction MD| >= T`` (or the interaction OR is beyond
  ``H``), or the subgroup effects of the level and the reference (Figures 3-5) differ by the
  threshold; for a continuous modifier (per unit), when its subgroup effects span the
  threshold; and, with ``direction_change``, when subgroup effects lie on both sides of no
  effect with at least one beyond the threshold;
* **compatible with an important difference** (``ci_compatible``) when its confidence
  interval reaches ``T`` (``-T``) or ``H`` (``1/H``); undefined (missing) per unit;
* **unstable** (``unstable`` gives why; never listed as important) when its model failed,
  did not converge, or showed separation, when the estimate has no standard error, or when
  the CI of a level is wider than ``max_ci_width`` points (MD) or its upper-to-lower ratio
  exceeds ``max_ci_ratio`` (OR).

``important = significant & clinically_important & not unstable``. Appendix 9 lists the
important rows of the primary adjustment (adjusted models when the plan has them) with the
other adjustment's estimate beside them, one row per modifier level.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ._plan import AnalysisPlan, ImportanceRules

__all__ = ["IMPORTANT_COLUMNS", "flag_importance", "important_table", "thresholds"]

_CELL = ["outcome", "window", "comparison"]
_ROW = [*_CELL, "modifier", "level"]
IMPORTANT_COLUMNS = [
    "outcome", "window", "comparison", "modifier", "label", "level", "reference", "adjusted",
    "studies", "participants", "estimate", "ci_low", "ci_high", "p", "p_fdr", "scale",
    "threshold", "ci_compatible", "importance", "other_estimate", "other_ci_low",
    "other_ci_high", "other_p",
]  # fmt: skip


def thresholds(rules: ImportanceRules, scale: str, baseline_mean: float) -> tuple[float, float]:
    """``(T or H, subgroup threshold)`` for a cell: MD points, or (interaction OR, OR rule).

    MD: both are ``T`` points. OR, results rule: ``(1 + d, d)`` (difference in OR); methods
    rule: ``(H, H)`` (ratio of ORs).
    """
    if scale == "OR":
        if rules.rule == "results":
            return 1.0 + rules.or_difference, rules.or_difference
        return rules.odds_ratio, rules.odds_ratio
    if rules.rule == "results":
        return rules.md_points, rules.md_points
    return rules.swe_fraction * baseline_mean, rules.swe_fraction * baseline_mean


def _beyond(value: float, odds: bool, limit: float) -> bool:
    """An effect of important size: ``|MD| >= T``, or an OR ``>= H`` or ``<= 1/H``."""
    if math.isnan(value):
        return False
    if odds:
        return value >= limit or value <= 1.0 / limit
    return abs(value) >= limit


def _spread(effects: np.ndarray, odds: bool, rule: str) -> float:
    """Difference between the largest and smallest subgroup effect (OR: ratio, methods)."""
    if odds and rule == "methods":
        low = effects.min()
        return math.inf if low <= 0 else float(effects.max() / low)
    return float(np.ptp(effects))


def _judge(
    row: Mapping, effects: np.ndarray | None, rules: ImportanceRules, limits: tuple[float, float]
) -> list[str]:
    estimate = float(row["estimate"])
    if not math.isfinite(estimate):
        return []
    odds = row["scale"] == "OR"
    limit, sub_limit = limits
    if not math.isfinite(limit):
        return []
    reasons = []
    if row["level"] != "per unit" and _beyond(estimate, odds, limit):
        reasons.append(f"OR beyond {limit:g}" if odds else f"|MD| >= {limit:.1f}")
    if effects is not None and effects.size >= 2:
        spread = _spread(effects, odds, rules.rule)
        if spread >= sub_limit:
            if odds and rules.rule == "methods":
                reasons.append(f"subgroup OR ratio {spread:.2f}")
            elif odds:
                reasons.append(f"subgroup ORs differ by {spread:.2f}")
            else:
                reasons.append(f"subgroups differ by {spread:.1f}")
        values = np.log(effects) if odds else effects
        changes = values.min() < 0 < values.max()
        if rules.direction_change and changes and any(_beyond(e, odds, limit) for e in effects):
            reasons.append("direction change")
    return reasons


def _compatible(row: Mapping, odds: bool, limit: float) -> object:
    if row["level"] == "per unit" or not math.isfinite(limit):
        return pd.NA
    low, high = float(row["ci_low"]), float(row["ci_high"])
    if not (math.isfinite(low) or math.isfinite(high)):
        return pd.NA
    if odds:
        return bool(high >= limit or low <= 1.0 / limit)
    return bool(high >= limit or low <= -limit)


def _unstable(row: Mapping, model: Mapping | None, rules: ImportanceRules) -> str:
    if model is not None:
        if _text(model.get("error")):
            return "model failed"
        if model.get("converged") is False or str(model.get("converged")) == "False":
            return "did not converge"
        if _text(model.get("separated")):
            return f"separation in trial(s) {model['separated']}"
        if "separation" in str(model.get("warnings") or "") + str(model.get("message") or ""):
            return "separation"
    estimate, low, high = (float(row[c]) for c in ("estimate", "ci_low", "ci_high"))
    if not math.isfinite(estimate):
        return ""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "no standard error"
    if row["level"] == "per unit":
        return ""
    if row["scale"] == "OR":
        ratio = high / low if low > 0 else math.inf
        if ratio > rules.max_ci_ratio:
            return f"CI upper/lower ratio {ratio:.0f} > {rules.max_ci_ratio:g}"
    elif high - low > rules.max_ci_width:
        return f"CI width {high - low:.1f} > {rules.max_ci_width:g} points"
    return ""


def _text(value: object) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return str(value).strip() not in {"", "nan", "None", "<NA>"}


def _subgroup_effects(subgroups: pd.DataFrame) -> dict[tuple, pd.Series]:
    if subgroups.empty:
        return {}
    keys = [*_CELL, "modifier"]
    return {
        key: group.set_index("level")["estimate"].dropna().astype(float)
        for key, group in subgroups.groupby(keys, sort=False)
    }


def _effects_for(row: Mapping, effects: pd.Series | None) -> np.ndarray | None:
    """The subgroup effects a row is judged on: the level and its reference (binary or
    categorical), or all categories (continuous)."""
    if effects is None or effects.empty:
        return None
    if row["level"] == "per unit":
        return effects.to_numpy()
    pair = [str(row["level"]), str(row.get("reference", ""))]
    chosen = effects[effects.index.astype(str).isin(pair)]
    return chosen.to_numpy() if len(chosen) == 2 else None


def flag_importance(
    interactions: pd.DataFrame,
    subgroups: pd.DataFrame,
    baseline_means: Mapping[tuple, float],
    plan: AnalysisPlan,
    models: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Add ``threshold, significant, clinically_important, importance, ci_compatible,
    unstable, important`` to the interactions table (see the module docstring).

    ``baseline_means`` maps (outcome, window, comparison) to the mean baseline value of the
    outcome in the cell's overall model (used by the methods rule); ``models`` is the
    models table (``id, converged, separated, warnings, message, error``), for failures and
    separation (a trial whose own data separate the outcome, or separated fixed terms).
    """
    rules = plan.importance
    effects = _subgroup_effects(subgroups)
    by_id = {}
    if models is not None and not models.empty:
        by_id = {rec["id"]: rec for rec in models.to_dict("records")}
    out = interactions.copy()
    columns: dict[str, list] = {
        "threshold": [], "clinically_important": [], "importance": [], "ci_compatible": [],
        "unstable": [],
    }  # fmt: skip
    for row in out.to_dict("records"):
        odds = row["scale"] == "OR"
        cell = tuple(row[c] for c in _CELL)
        limits = thresholds(rules, row["scale"], baseline_means.get(cell, math.nan))
        mine = _effects_for(row, effects.get((*cell, row["modifier"])))
        reasons = _judge(row, mine, rules, limits)
        columns["threshold"].append(limits[1])
        columns["clinically_important"].append(bool(reasons))
        columns["importance"].append("; ".join(reasons))
        columns["ci_compatible"].append(_compatible(row, odds, limits[0]))
        columns["unstable"].append(_unstable(row, by_id.get(row.get("model_id")), rules))
    for name, values in columns.items():
        out[name] = pd.array(values, dtype="boolean") if name == "ci_compatible" else values
    out["significant"] = out["p"].lt(rules.alpha)
    out["important"] = out["significant"] & out["clinically_important"] & (out["unstable"] == "")
    return out


def important_table(flagged: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """Appendix 9: the important rows of the primary adjustment, most significant first.

    Primary: adjusted models when the plan has them, else unadjusted; the other
    adjustment's estimate, CI and p of the same level are in ``other_*``.
    """
    primary = "adjusted" in plan.adjustments
    is_primary = flagged["adjusted"].astype(bool) == primary
    chosen = flagged[is_primary & flagged["important"].astype(bool)]
    other = flagged.loc[~is_primary, [*_ROW, "estimate", "ci_low", "ci_high", "p"]]
    other = other.drop_duplicates(_ROW).rename(
        columns={c: f"other_{c}" for c in ("estimate", "ci_low", "ci_high", "p")}
    )
    merged = chosen.merge(other, on=_ROW, how="left")
    merged = merged.sort_values("p", kind="stable")
    return merged.reindex(columns=IMPORTANT_COLUMNS).reset_index(drop=True)
