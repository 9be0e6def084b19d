"""Replication of each trial's published between-arm effects from the IPD.

For every ``[[published.effects]]`` entry that declares its ``analysis``, the effect is
recomputed the way the publication computed it, on the harmonized 0-100 values of the
trial's participants in the entry's comparison set (exercise arms vs the comparison arms of
the set), at the follow-up time ``time_weeks``, complete cases:

* ``ttest``: ``md = mean_ex - mean_co``, ``se = s_p sqrt(1/n_ex + 1/n_co)`` with the pooled SD;
* ``welch``: the same ``md``, ``se = sqrt(s_ex^2/n_ex + s_co^2/n_co)``;
* ``ancova``: OLS ``y = a + b baseline + md treat`` (``se`` from ``s^2 (X'X)^-1``);

with ``y`` the follow-up value (``scale="followup"``) or the change from baseline
(``scale="change"``). ``md`` and ``se`` each give one replication row (status "match"
within the entry's tolerances, "discrepancy" beyond, "not computable" without data).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..spec import TrialSpec
from ..store import MasterData

__all__ = ["replicate_effects"]

_EPS = 1e-9
_TIME_ATOL = 0.051  # published follow-up times carry one decimal (weeks)


def _people(master: MasterData, trial: str, comparison: str) -> pd.DataFrame:
    people = master.participants[master.participants["trial"] == trial]
    exercise = people["treat"] == 1
    if comparison == "any":
        control = (people["treat"] == 0) & people["comparison"].notna()
    else:
        control = (people["treat"] == 0) & (people["comparison"] == comparison)
    return people[exercise | control]


def effect_estimate(
    treat: np.ndarray, y: np.ndarray, baseline: np.ndarray, analysis: str
) -> tuple[float, float]:
    """``(md, se)`` of exercise (treat 1) minus comparison (0) by ``analysis``."""
    ex, co = y[treat == 1], y[treat == 0]
    n_ex, n_co = len(ex), len(co)
    if n_ex < 2 or n_co < 2:
        return np.nan, np.nan
    if analysis == "ancova":
        X = np.column_stack([np.ones(len(y)), baseline, treat])
        if np.linalg.matrix_rank(X) < 3 or len(y) <= 3:
            return np.nan, np.nan
        beta, *_ = np.linalg.lstsq(X, y, rcond=None)
        resid = y - X @ beta
        s2 = float(resid @ resid) / (len(y) - 3)
        return float(beta[2]), float(np.sqrt(s2 * np.linalg.inv(X.T @ X)[2, 2]))
    md = float(ex.mean() - co.mean())
    v_ex, v_co = ex.var(ddof=1), co.var(ddof=1)
    if analysis == "welch":
        return md, float(np.sqrt(v_ex / n_ex + v_co / n_co))
    pooled = ((n_ex - 1) * v_ex + (n_co - 1) * v_co) / (n_ex + n_co - 2)
    return md, float(np.sqrt(pooled * (1 / n_ex + 1 / n_co)))


def replicate_effects(master: MasterData, specs: Sequence[TrialSpec]) -> list[dict]:
    """Replication rows (the columns of ``checks.replicate``) for declared effects."""
    rows = []
    for spec in specs:
        for effect in spec.published.effects:
            if effect.analysis is None:
                continue
            md = se = np.nan
            when = "?" if effect.time_weeks is None else f"{effect.time_weeks:g}"
            versus = "" if effect.comparison == "any" else f" vs {effect.comparison}"
            target = f"{effect.outcome} at {when} wk ({effect.analysis}, {effect.scale}){versus}"
            if effect.time_weeks is not None:
                people = _people(master, spec.id, effect.comparison)
                out = master.outcomes
                sel = out[
                    (out["trial"] == spec.id)
                    & (out["outcome"] == effect.outcome)
                    & np.isclose(out["time_weeks"].astype(float), effect.time_weeks,
                                 atol=_TIME_ATOL, rtol=0)
                ]  # fmt: skip
                frame = people.merge(sel[["pid", "value"]], on="pid", how="inner")
                base = frame[f"{effect.outcome}0"].astype(float).to_numpy()
                value = frame["value"].astype(float).to_numpy()
                y = value - base if effect.scale == "change" else value
                need_base = effect.scale == "change" or effect.analysis == "ancova"
                ok = np.isfinite(y) & (np.isfinite(base) if need_base else True)
                md, se = effect_estimate(
                    frame["treat"].to_numpy(float)[ok], y[ok], base[ok], effect.analysis
                )
            for statistic, published, computed, tolerance in (
                ("effect md", effect.md, md, effect.tolerance),
                ("effect se", effect.se, se, effect.se_tolerance),
            ):
                difference = computed - published
                if np.isnan(computed):
                    status = "not computable"
                elif abs(difference) <= tolerance + _EPS:
                    status = "match"
                else:
                    status = "discrepancy"
                rows.append({
                    "trial": spec.id, "statistic": statistic, "target": target, "arm": None,
                    "published": published, "computed": computed, "difference": difference,
                    "tolerance": tolerance, "status": status, "source": effect.source,
                })  # fmt: skip
    return rows
