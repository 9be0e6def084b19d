"""The data of the one-stage forest plots: per-trial estimates and the prediction interval.

Per trial (as Stata's ``ipdforest`` draws them, Kontopantelis & Reeves 2013): the
treatment effect from the trial's own regression with the covariates of the overall model,

    y = a + b x0 + t T                 (OLS, linear; ML logistic regression, recovery)

on the same rows the one-stage model used (:func:`ipdma.meta.two_stage`, stage 1). The
pooled estimate beside them is the one-stage model's, never a re-pooling of these.

Prediction interval for the treatment effect in a new trial (Higgins, Thompson &
Spiegelhalter 2009; Riley, Higgins & Deeks 2011), on the model scale (MD or log OR):

    mu +- t_{K-2, (1+level)/2} sqrt(se(mu)^2 + tau^2)

with ``K`` the trials contributing to the treatment effect and ``tau`` the SD of the random
treatment effect; missing when ``K < 3``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import IpdmaError
from ._design import PreparedModel
from ._plan import AnalysisPlan
from ._records import TRIAL_COLUMNS, ModelResult, empty_trials

__all__ = [
    "FOREST_COLUMNS",
    "add_prediction_interval",
    "forest_table",
    "model_counts",
    "prediction_interval",
    "trial_effects",
    "wants_trials",
]

FOREST_COLUMNS = [
    "outcome", "window", "comparison", "trial", "n", "estimate", "ci_low", "ci_high", "scale",
    "used", "reason",
]  # fmt: skip


def prediction_interval(
    estimate: float, se: float, tau: float, trials: int, level: float
) -> tuple[float, float]:
    """``(low, high)`` of the prediction interval on the model scale (NaN when K < 3)."""
    tau = 0.0 if tau is None or not math.isfinite(tau) else tau
    if trials < 3 or not (math.isfinite(estimate) and math.isfinite(se)):
        return math.nan, math.nan
    half = stats.t.ppf(0.5 + level / 2, trials - 2) * math.sqrt(se**2 + tau**2)
    return estimate - half, estimate + half


def add_prediction_interval(overall: pd.DataFrame, level: float) -> pd.DataFrame:
    """Add ``pi_low, pi_high`` (reporting scale: MD, or OR for global recovery) beside the CI.

    ``se`` and ``tau`` in the overall table are on the model scale (log OR for recovery).
    """
    lows, highs = [], []
    for row in overall.to_dict("records"):
        odds = row["scale"] == "OR"
        estimate = row["estimate"]
        if odds:
            estimate = math.log(estimate) if estimate > 0 else math.nan
        low, high = prediction_interval(
            float(estimate), float(row["se"]), float(row["tau"]), int(row["studies"]), level
        )
        lows.append(math.exp(low) if odds else low)
        highs.append(math.exp(high) if odds else high)
    out = overall.copy()
    at = out.columns.get_loc("ci_high") + 1
    out.insert(at, "pi_high", highs)
    out.insert(at, "pi_low", lows)
    return out


def wants_trials(prepared: PreparedModel, plan: AnalysisPlan) -> bool:
    """Per-trial effects are kept for the overall models in the primary window."""
    spec = prepared.spec
    return spec.kind == "overall" and spec.window == plan.primary_window


def trial_effects(prepared: PreparedModel, level: float) -> pd.DataFrame:
    """Per-trial treatment effects of an overall model (:data:`TRIAL_COLUMNS`, reporting
    scale: MD, or OR for global recovery); empty when they cannot be computed."""
    from ..meta import two_stage

    data = prepared.data
    frame = pd.DataFrame(
        {
            "trial": data["trial"].astype(str),
            "y": data["y"],
            "baseline": data["baseline"],
            "treat": (data["treat"] > 0).astype(float),
        }
    )
    odds = prepared.family == "binomial"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = two_stage(
                frame,
                outcome="y",
                baseline="baseline",
                family="binomial" if odds else "gaussian",
                level=level,
            )
    except (IpdmaError, ValueError, ArithmeticError, np.linalg.LinAlgError):
        return empty_trials()
    trials = result.trials.copy()
    for column in ("estimate", "ci_low", "ci_high"):
        values = trials[column].astype(float)
        trials[column] = np.exp(values) if odds else values
    return trials.reindex(columns=list(TRIAL_COLUMNS)).reset_index(drop=True)


def forest_table(records: Sequence[ModelResult]) -> pd.DataFrame:
    """The ``forest`` table (:data:`FOREST_COLUMNS`): the records' per-trial effects."""
    frames = []
    for record in records:
        if record.spec.kind != "overall" or record.trials.empty:
            continue
        trials = pd.DataFrame(record.trials).copy()
        spec = record.spec
        trials["outcome"], trials["window"], trials["comparison"] = (
            spec.outcome,
            spec.window,
            spec.comparison,
        )
        trials["scale"] = "OR" if spec.outcome == "recovery" else "MD"
        frames.append(trials.reindex(columns=FOREST_COLUMNS))
    if not frames:
        return pd.DataFrame(columns=FOREST_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def model_counts(frame: pd.DataFrame, models: pd.DataFrame) -> pd.DataFrame:
    """``studies, participants`` replaced by every trial and row in each row's model
    (``ngroups, nobs`` of the models table): the paper's counting convention."""
    counts = models.set_index("id")[["ngroups", "nobs"]]
    out = frame.copy()
    found = out["model_id"].isin(counts.index)
    ids = out.loc[found, "model_id"]
    out.loc[found, "studies"] = counts.loc[ids, "ngroups"].to_numpy()
    out.loc[found, "participants"] = counts.loc[ids, "nobs"].to_numpy()
    return out
