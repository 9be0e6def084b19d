"""The credibility of every potentially important modifier (Appendix 9), at analysis time.

For each row of the ``important`` table (the primary adjustment's important levels), the
per-trial interactions of the same model (:func:`interaction_by_trial`: least squares for
pain and function, logistic for global recovery, the plan's adjusters with their treatment
interactions when the row is adjusted) on the row's window and comparison set, pooled by
REML, and the ICEMAN-style assessment (:func:`assess_credibility`) with the plan's
``prespecified`` and ``direction`` for the modifier. A row no trial can estimate on its own
is listed with the rating ``not assessed`` and the reason.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import IpdmaError
from ._beyond_units import cell_frame
from ._credibility import assess_credibility, interaction_by_trial
from ._levels import categorise
from ._plan import AnalysisPlan
from ._spec import BASELINE_OF

__all__ = ["credibility_frames"]

_ROW = ["outcome", "window", "comparison", "modifier", "level"]
_Z = "__modifier_level__"


def _row_index(interactions: pd.DataFrame) -> dict[tuple[str, ...], int]:
    """Position of each interactions row by (outcome, window, comparison, modifier, level,
    adjusted)."""
    keys = zip(*(interactions[c].astype(str) for c in _ROW),
               interactions["adjusted"].astype(bool).astype(str), strict=True)  # fmt: skip
    return {key: i for i, key in reversed(list(enumerate(keys)))}


def _with_level(data: pd.DataFrame, modifier: str, level: str, plan: AnalysisPlan) -> pd.DataFrame:
    """The data with the row's modifier as a number: itself per unit, else the 0/1
    indicator of the level (binary, categorical, cut-point categories)."""
    present = data.loc[data[modifier].notna()]
    if level == "per unit":
        return present.assign(**{_Z: present[modifier].astype(float)})
    labels, _ = categorise(present[modifier], plan.modifier_spec(modifier))
    return present.assign(**{_Z: (labels == level).astype(float)})


def credibility_frames(
    plan: AnalysisPlan,
    frames: dict[str, pd.DataFrame],
    interactions: pd.DataFrame,
    important: pd.DataFrame,
) -> dict[str, pd.DataFrame]:
    """The ``credibility``, ``credibility_criteria`` and ``credibility_trials`` frames."""
    ratings, criteria, trials = [], [], []
    cells: dict[tuple[str, str], pd.DataFrame] = {}
    index = _row_index(interactions)
    for _, row in important.iterrows():
        position = index.get((*(str(row[c]) for c in _ROW), str(bool(row["adjusted"]))))
        full = None if position is None else interactions.iloc[position]
        window, comparison = str(row["window"]), str(row["comparison"])
        if full is None or window not in frames:
            continue
        if (window, comparison) not in cells:
            cells[window, comparison] = cell_frame(frames[window], comparison)
        modifier, level, outcome = str(row["modifier"]), str(row["level"]), str(row["outcome"])
        key = {"outcome": outcome, "window": window, "comparison": comparison,
               "modifier": modifier, "level": level}  # fmt: skip
        try:
            data = _with_level(cells[window, comparison], modifier, level, plan)
            adjusters = plan.adjust_for if bool(row["adjusted"]) else ()
            by_trial = interaction_by_trial(
                data, _Z, outcome=outcome, baseline=BASELINE_OF[outcome],
                adjust_for=tuple(a for a in adjusters if a in data.columns and a != modifier),
                family="binomial" if outcome == "recovery" else "gaussian",
            )  # fmt: skip
        except (IpdmaError, ValueError, np.linalg.LinAlgError) as exc:
            # no trial has its own estimate: reported, not assessed
            ratings.append({**key, "adjusted": bool(row["adjusted"]), "rating": "not assessed",
                            "reasons": str(exc).splitlines()[0], "k": 0})  # fmt: skip
            continue
        spec = plan.modifier_spec(modifier)
        result = assess_credibility(
            full, interactions, by_trial, prespecified=spec.prespecified,
            direction=spec.direction,
            continuous_analysis=None if spec.type == "binary" else level == "per unit",
            alpha=plan.importance.alpha,
        )  # fmt: skip
        signs = np.sign(np.asarray(by_trial.yi))
        share = float(np.mean(signs == np.sign(by_trial.estimate))) if by_trial.k else np.nan
        ratings.append({**key, "adjusted": bool(row["adjusted"]), "rating": result.rating,
                        "reasons": " | ".join(result.reasons), "k": by_trial.k,
                        "pooled": by_trial.estimate, "pooled_se": by_trial.se,
                        "i2": by_trial.i2, "tau2": by_trial.tau2, "q_p": by_trial.q_p,
                        "share": share, "scale": "log OR" if outcome == "recovery" else "MD"})  # fmt: skip
        criteria += [{**key, "criterion": c.name, "answer": c.answer, "reason": c.reason}
                     for c in result.criteria]  # fmt: skip
        trials += [
            {**key, "trial": label, "estimate": y, "variance": v, "weight": w}
            for label, y, v, w in zip(
                by_trial.labels, by_trial.yi, by_trial.vi, by_trial.weights, strict=True
            )
        ]
    return {
        "credibility": pd.DataFrame(ratings),
        "credibility_criteria": pd.DataFrame(criteria),
        "credibility_trials": pd.DataFrame(trials),
    }
