"""Two-stage estimates beside the one-stage ones for the main models (a column per quantity).

For the primary window and comparison set, the overall effects and the unadjusted
interactions of binary and continuous modifiers are re-estimated by
:func:`ipdma.meta.two_stage` (per-trial ANCOVA, then REML random-effects pooling) on the
same rows the one-stage model used, so readers see where the two approaches disagree.

A trial that stage 1 cannot use (one arm, no variation in the modifier, or separation in a
logistic model: its own odds ratio is infinite) is left out of the pooling, never silently:
the record keeps ``(trial, reason)`` (:attr:`TwoStageEstimate.left_out`) and the tables show
it in ``two_stage_note`` beside the estimate. No continuity or Firth correction is applied.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from ..errors import IpdmaError
from ._design import PreparedModel
from ._plan import AnalysisPlan
from ._records import ModelResult, TwoStageEstimate

__all__ = ["TWO_STAGE_COLUMNS", "add_two_stage", "two_stage_record", "wants_two_stage"]

TWO_STAGE_COLUMNS = [
    "two_stage_estimate", "two_stage_ci_low", "two_stage_ci_high", "two_stage_p",
    "two_stage_note",
]  # fmt: skip


def _two_stage_row(
    prepared: PreparedModel, modifier: str | None, plan: AnalysisPlan
) -> TwoStageEstimate:
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
        return TwoStageEstimate(math.nan, math.nan, math.nan, math.nan)
    low, high = result.ci
    unused = result.trials[~result.trials["used"].astype(bool)]
    left_out = tuple(
        (str(t), str(r)) for t, r in zip(unused["trial"], unused["reason"], strict=True)
    )
    if prepared.family == "binomial":
        return TwoStageEstimate(
            float(np.exp(result.estimate)),
            float(np.exp(low)),
            float(np.exp(high)),
            float(result.pooled.p),
            left_out,
        )
    return TwoStageEstimate(
        float(result.estimate), float(low), float(high), float(result.pooled.p), left_out
    )


def wants_two_stage(prepared: PreparedModel, plan: AnalysisPlan) -> bool:
    """Main models only: primary window and comparison set, overall or unadjusted interaction."""
    spec = prepared.spec
    return (
        plan.two_stage
        and (spec.window, spec.comparison) == (plan.primary_window, plan.primary_comparison)
        and (spec.kind == "overall" or (spec.kind == "interaction" and not spec.adjusted))
    )


def two_stage_record(prepared: PreparedModel, plan: AnalysisPlan) -> TwoStageEstimate | None:
    """The two-stage estimate of the model's reported term (None when not computed).

    Overall models: the treatment effect; interaction models: the within-trial interaction
    of a binary or continuous modifier (categorical modifiers are not computed).
    """
    if not wants_two_stage(prepared, plan):
        return None
    if prepared.spec.kind == "overall":
        return _two_stage_row(prepared, None, plan)
    if "modifier" not in prepared.data.columns:
        return None
    return _two_stage_row(prepared, "modifier", plan)


def add_two_stage(
    overall: pd.DataFrame, interactions: pd.DataFrame, records: dict[str, ModelResult]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add the ``two_stage_*`` columns from the records (missing outside the main models)."""
    out = []
    for frame in (overall, interactions):
        values = [
            records[str(i)].two_stage if str(i) in records else None for i in frame["model_id"]
        ]
        frame = frame.copy()
        for column in TWO_STAGE_COLUMNS[:-1]:
            name = column.removeprefix("two_stage_")
            frame[column] = [math.nan if v is None else getattr(v, name) for v in values]
        frame["two_stage_note"] = ["" if v is None else v.notice for v in values]
        out.append(frame)
    return out[0], out[1]
