"""The analyses beyond the paper's limits, as tidy frames: non-linear interactions,
individual treatment-effect prediction, the credibility of each claimed modifier.

:class:`BeyondResults` is computed by the analysis stage (:func:`ipdma.analysis.run`, see
:mod:`ipdma.analysis._beyond`), kept in the results store and loaded with the other results
(``AnalysisResults.beyond``); plots and the report read these frames, never refit.

Frames (one row per ...)
-------------------------
spline_tests
    continuous modifier x outcome: ``outcome, window, comparison, modifier, label, scale``
    (``MD`` for pain and function, ``log OR`` for global recovery), ``studies,
    participants, n_knots, knots`` (``"; "``-joined), ``chi2, df, p`` (one-stage Wald test
    of non-linearity), ``lr_chi2, p_lr`` (its likelihood-ratio test, logistic models only),
    ``p_two_stage``, ``two_stage_studies`` (trials pooled in the two-stage analysis),
    ``linear_estimate, linear_se, linear_ci_low, linear_ci_high, linear_p`` (the linear
    interaction per unit in the same model, normal 95% CI, on ``scale``), ``separated``
    (``"; "``-joined trials whose own data separate the outcome in the one-stage logistic
    model), ``note`` (trials left out of the two-stage analysis and why, convergence),
    ``error`` ("" when fitted).
spline_curves
    point of an effect curve: ``outcome, window, comparison, modifier, method`` (``one-stage``,
    ``two-stage``, ``linear``), ``x, estimate, ci_low, ci_high`` (pointwise 95%, on the
    test's ``scale``).
spline_histogram
    bin of the modifier's distribution in the model, over the curves' range (1st to 99th
    centile): ``..., modifier, bin_low, bin_high, count`` (counts only: no participant's
    value is stored).
prediction
    outcome: ``outcome, window, comparison, modifiers`` (``"; "``-joined), ``selection``
    (how they were chosen), ``scale`` (``MD`` or ``log OR``: the predicted effect of the
    calibration slope and groups), ``studies, participants, slope, slope_ci_low,
    slope_ci_high, c_benefit, error``.
prediction_trials
    left-out trial: ``outcome, trial, n, slope, slope_se, c_benefit``.
prediction_groups
    group of predicted effect: ``outcome, group, n, predicted, observed, observed_se,
    ci_low, ci_high``.
credibility
    potentially important modifier level (Appendix 9): ``outcome, window, comparison,
    modifier, level, adjusted, rating`` (``high``, ``moderate``, ``low``, or ``not assessed``
    when no trial has its own estimate), ``reasons`` (``" | "``-joined), ``k, pooled, pooled_se,
    i2, tau2, q_p, share`` (per-trial interactions pooled by REML; share of trials in the
    pooled direction), ``scale`` (``MD`` or ``log OR``).
credibility_criteria
    criterion of an assessment: ``outcome, window, comparison, modifier, level, criterion,
    answer, reason``.
credibility_trials
    trial of a per-trial forest: ``outcome, window, comparison, modifier, level, trial,
    estimate, variance, weight``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields
from typing import Any

import pandas as pd

from .._frozen import freeze

__all__ = ["COLUMNS", "BeyondResults", "frame_from_json", "frame_to_json"]

_CELL = ["outcome", "window", "comparison"]
COLUMNS: dict[str, list[str]] = {
    "spline_tests": [*_CELL, "modifier", "label", "scale", "studies", "participants", "n_knots",
                     "knots", "chi2", "df", "p", "lr_chi2", "p_lr", "p_two_stage",
                     "two_stage_studies", "linear_estimate", "linear_se", "linear_ci_low",
                     "linear_ci_high", "linear_p", "separated", "note", "error"],
    "spline_curves": [*_CELL, "modifier", "method", "x", "estimate", "ci_low", "ci_high"],
    "spline_histogram": [*_CELL, "modifier", "bin_low", "bin_high", "count"],
    "prediction": [*_CELL, "modifiers", "selection", "scale", "studies", "participants", "slope",
                   "slope_ci_low", "slope_ci_high", "c_benefit", "error"],
    "prediction_trials": ["outcome", "trial", "n", "slope", "slope_se", "c_benefit"],
    "prediction_groups": ["outcome", "group", "n", "predicted", "observed", "observed_se",
                          "ci_low", "ci_high"],
    "credibility": [*_CELL, "modifier", "level", "adjusted", "rating", "reasons", "k",
                    "pooled", "pooled_se", "i2", "tau2", "q_p", "share", "scale"],
    "credibility_criteria": [*_CELL, "modifier", "level", "criterion", "answer", "reason"],
    "credibility_trials": [*_CELL, "modifier", "level", "trial", "estimate", "variance",
                           "weight"],
}  # fmt: skip


def frame_to_json(frame: pd.DataFrame) -> Any:
    """A frame as a JSON-able object (exact floats: Python's ``repr`` round trip)."""
    rows = [
        [None if isinstance(v, float) and math.isnan(v) else _plain(v) for v in row]
        for row in frame.itertuples(index=False)
    ]
    return {"columns": [str(c) for c in frame.columns], "rows": rows}


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if value is pd.NA:
        return None
    return value


def frame_from_json(obj: Any) -> pd.DataFrame:
    """The frame of :func:`frame_to_json` (missing numbers back as NaN)."""
    frame = pd.DataFrame(obj["rows"], columns=obj["columns"])
    for column in frame.columns:
        if frame[column].dtype == object and frame[column].map(_numeric_or_none).all():
            frame[column] = frame[column].astype(float)
    return frame


def _numeric_or_none(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _empty(name: str) -> pd.DataFrame:
    return pd.DataFrame(columns=COLUMNS[name])


@dataclass(frozen=True)
class BeyondResults:
    """The tidy frames of the module docstring (read-only)."""

    spline_tests: pd.DataFrame
    spline_curves: pd.DataFrame
    spline_histogram: pd.DataFrame
    prediction: pd.DataFrame
    prediction_trials: pd.DataFrame
    prediction_groups: pd.DataFrame
    credibility: pd.DataFrame
    credibility_criteria: pd.DataFrame
    credibility_trials: pd.DataFrame

    @classmethod
    def build(cls, frames: dict[str, pd.DataFrame]) -> BeyondResults:
        """From ``{name: frame}`` (missing names empty), columns in the documented order."""
        out = {}
        for name, columns in COLUMNS.items():
            frame = frames.get(name)
            frame = _empty(name) if frame is None or frame.empty else frame
            out[name] = freeze(frame.reindex(columns=columns).reset_index(drop=True))
        return cls(**out)

    @classmethod
    def empty(cls) -> BeyondResults:
        return cls.build({})

    def frames(self) -> dict[str, pd.DataFrame]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_json(self) -> str:
        return json.dumps({k: frame_to_json(v) for k, v in self.frames().items()})

    @classmethod
    def from_json(cls, text: str) -> BeyondResults:
        data = json.loads(text)
        return cls.build({k: frame_from_json(v) for k, v in data.items() if k in COLUMNS})
