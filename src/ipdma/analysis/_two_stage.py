"""Two-stage estimates beside the one-stage ones for the main models (a column per quantity).

For the primary window and comparison set, the overall effects and the unadjusted
interactions of binary and continuous modifiers are re-estimated by
:func:`ipdma.meta.two_stage` (per-trial ANCOVA, then REML random-effects pooling) on the
same rows the one-stage model used, so readers see where the two approaches disagree.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from ..errors import IpdmaError
from ._design import PreparedModel
from ._plan import AnalysisPlan

__all__ = ["TWO_STAGE_COLUMNS", "add_two_stage"]

TWO_STAGE_COLUMNS = ["two_stage_estimate", "two_stage_ci_low", "two_stage_ci_high", "two_stage_p"]


def _two_stage_row(prepared: PreparedModel, modifier: str | None, plan: AnalysisPlan) -> dict:
    from ..meta import two_stage

    data = prepared.data
    frame = pd.DataFrame(
        {
            "trial": data["trial"],
            "y": data["y"],
            "baseline": data["baseline"],
            "treat": (data["treat"] > 0).astype(float),
        }
    )
    if modifier is not None:
        frame["modifier"] = data[modifier]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = two_stage(
                frame,
                outcome="y",
                baseline="baseline",
                modifier=None if modifier is None else "modifier",
                family="binomial" if prepared.family == "binomial" else "gaussian",
                level=plan.level,
            )
    except (IpdmaError, ValueError, ArithmeticError, np.linalg.LinAlgError):
        return dict.fromkeys(TWO_STAGE_COLUMNS, math.nan)
    scale = np.exp if prepared.family == "binomial" else float
    low, high = result.ci
    return {
        "two_stage_estimate": float(scale(result.estimate)),
        "two_stage_ci_low": float(scale(low)),
        "two_stage_ci_high": float(scale(high)),
        "two_stage_p": float(result.pooled.p),
    }


def add_two_stage(
    overall: pd.DataFrame,
    interactions: pd.DataFrame,
    prepared: dict[str, PreparedModel],
    plan: AnalysisPlan,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add the ``two_stage_*`` columns (missing outside the main models)."""
    main = (plan.primary_window, plan.primary_comparison)
    overall = overall.copy()
    interactions = interactions.copy()
    for column in TWO_STAGE_COLUMNS:
        overall[column] = math.nan
        interactions[column] = math.nan
    for index, row in overall.iterrows():
        model = prepared.get(str(row["model_id"]))
        if (row["window"], row["comparison"]) == main and model is not None:
            _assign(overall, index, _two_stage_row(model, None, plan))
    for index, row in interactions.iterrows():
        model = prepared.get(str(row["model_id"]))
        if (row["window"], row["comparison"]) != main or row["adjusted"] or model is None:
            continue
        if "modifier" not in model.data.columns or not _within_estimable(row):
            continue
        _assign(interactions, index, _two_stage_row(model, "modifier", plan))
    return overall, interactions


def _within_estimable(row: pd.Series) -> bool:
    return bool(row["studies"]) and row["level"] is not None


def _assign(frame: pd.DataFrame, index: Any, values: dict[str, float]) -> None:
    for column, value in values.items():
        frame.at[index, column] = value
