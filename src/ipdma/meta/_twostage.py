"""Two-stage IPD meta-analysis: a per-trial ANCOVA, then pooling with :func:`pool`."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from .._frozen import freeze
from .._literals import TauMethod, validate
from ..errors import InputError, ModelError, SeparationWarning, SpecError
from ._fits import logistic_fit, ols_fit, poisson_fit
from ._pool import PiType, pool
from ._result import PoolResult
from ._summary import Summary

__all__ = ["AGGREGATE_MARK", "TwoStageResult", "two_stage"]

AGGREGATE_MARK = " (AD)"  # label suffix of aggregate-data trials (forest plots, tables)

TwoStageFamily = Literal["auto", "gaussian", "binomial", "poisson"]


@dataclass(frozen=True)
class TwoStageResult:
    """Per-trial estimates (``trials``) and their pooled result (``pooled``).

    ``trials`` has one row per trial: ``trial, n, dropped, estimate, se, ci_low, ci_high,
    used, reason, source`` (``reason`` says why an unused trial could not contribute;
    ``source`` is "IPD" or "aggregate" for trials that enter by their published estimate).
    """

    outcome: str
    term: str
    family: str
    modifier: str | None
    trials: pd.DataFrame
    pooled: PoolResult

    def __post_init__(self) -> None:
        object.__setattr__(self, "trials", freeze(self.trials))  # read-only (audit record)

    @property
    def estimate(self) -> float:
        return self.pooled.estimate

    @property
    def se(self) -> float:
        return self.pooled.se

    @property
    def ci(self) -> tuple[float, float]:
        return self.pooled.ci

    @property
    def tau2(self) -> float:
        return self.pooled.tau2

    def to_frame(self) -> pd.DataFrame:
        """The trial rows followed by one ``trial="pooled"`` row (n = participants used)."""
        used = self.trials[self.trials.used]
        pooled = {
            "trial": "pooled",
            "n": int(used.n.fillna(0).sum()),
            "dropped": int(self.trials.dropped.sum()),
            "estimate": self.pooled.estimate,
            "se": self.pooled.se,
            "ci_low": self.pooled.ci[0],
            "ci_high": self.pooled.ci[1],
            "used": True,
            "reason": "",
            "source": "pooled",
        }
        out = pd.concat([self.trials, pd.DataFrame([pooled])], ignore_index=True)
        return out.assign(term=self.term, outcome=self.outcome)

    tidy = to_frame

    def summary(self) -> Summary:
        scale = {"binomial": "log odds ratio", "poisson": "log rate ratio"}.get(
            self.family, "mean difference"
        )
        notes = (
            f"{self.pooled.k} of {len(self.trials)} trials contribute; {self.pooled.model}",
            self.pooled.heterogeneity_text(),
        )
        table = self.to_frame()[["trial", "n", "estimate", "se", "ci_low", "ci_high", "reason"]]
        return Summary(f"Two-stage IPD meta-analysis: {self.term} ({scale})", table, notes)

    def __str__(self) -> str:
        return str(self.summary())

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()


def _require_columns(data: pd.DataFrame, columns: list[str]) -> None:
    for column in columns:
        if column not in data.columns:
            raise InputError(
                f"column {column!r} is not in the data",
                variable=column,
                hint=f"available columns: {', '.join(map(str, data.columns))}",
            )
        if column != columns[-1] and not pd.api.types.is_numeric_dtype(data[column]):
            raise InputError(
                f"column {column!r} must be numeric",
                variable=column,
                value=str(data[column].dtype),
                hint="code binary variables 0/1 and pass continuous variables as numbers",
            )


def _check_treatment(frame: pd.DataFrame, treatment: str, trial: str) -> None:
    bad = ~frame[treatment].isin([0, 1])
    if bad.any():
        row = frame.index[bad.to_numpy()][0]
        raise InputError(
            "treatment must be coded 1 (exercise) / 0 (comparison)",
            trial=str(frame.at[row, trial]),
            variable=treatment,
            row=row,
            value=frame.at[row, treatment],
            hint="recode the treatment column to 0/1",
        )


def _log_exposure(frame: pd.DataFrame, exposure: str | None, trial: str) -> np.ndarray:
    """``log(exposure)`` per row (0 without exposure); exposures must be > 0."""
    if exposure is None:
        return np.zeros(len(frame))
    values = frame[exposure].to_numpy(float)
    bad = np.flatnonzero(~(values > 0))
    if bad.size:
        raise InputError(
            "exposure (person-time) must be > 0",
            trial=trial,
            variable=exposure,
            row=frame.index[bad[0]],
            value=float(values[bad[0]]),
            hint="fix the exposure or drop the participant",
        )
    return np.log(values)


def _aggregate_rows(aggregate: pd.DataFrame, ipd_trials: set[str]) -> pd.DataFrame:
    """Validated rows for trials that contribute only a published estimate and SE (the
    checks the one-stage IPD + aggregate model makes, :func:`ipdma.models.mixed_aggregate`)."""
    from ..models._linear_aggregate import validated_aggregate

    frame = validated_aggregate(aggregate, ipd_trials)
    return pd.DataFrame(
        {
            "trial": frame.trial.astype(str),
            "n": np.nan,
            "dropped": 0,
            "estimate": frame.estimate.astype(float),
            "se": frame.se.astype(float),
            "used": True,
            "reason": "",
            "source": "aggregate",
        }
    )


def two_stage(
    data: pd.DataFrame,
    *,
    outcome: str,
    baseline: str,
    treatment: str = "treat",
    trial: str = "trial",
    modifier: str | None = None,
    family: TwoStageFamily = "auto",
    exposure: str | None = None,
    method: TauMethod = "REML",
    hksj: bool = False,
    adhoc: bool = False,
    level: float = 0.95,
    pi_type: PiType = "metafor",
    aggregate: pd.DataFrame | None = None,
) -> TwoStageResult:
    """Two-stage IPD meta-analysis of the treatment effect or a treatment-modifier interaction.

    Stage 1, in each trial ``i`` separately (complete cases of the variables used)::

        y = a + b * baseline + t * treatment                                 (treatment)
        y = a + b * baseline + t * treatment + c * z_c + g * treatment * z_c (modifier)

    with ``z_c = z - mean_i(z)`` the modifier centred at its trial mean, so ``g`` uses
    within-trial information only (Fisher et al. 2017; Riley et al. 2020). Continuous
    outcomes: OLS (R ``lm``), ``t`` is the ANCOVA mean difference. Binary outcomes:
    logistic regression by ML (R ``glm(family=binomial)``), ``t`` is a log odds ratio.
    Counts (``family="poisson"``): Poisson regression by ML with ``log(exposure)`` as the
    offset when ``exposure`` names a column of person-time (R ``glm(family=poisson,
    offset=log(exposure))``), ``t`` is a log rate ratio.
    Stage 2: the per-trial ``t`` (or ``g``) and their squared standard errors are pooled by
    :func:`pool` with ``method``, ``hksj``, ``level``.

    A trial contributes only if it has both arms, more participants than coefficients,
    variation in the modifier (and for binary outcomes in the outcome, without separation);
    ``result.trials`` gives the reason for every trial that does not.

    ``family="auto"`` uses "binomial" when the outcome holds only 0 and 1.

    ``aggregate``: trials without IPD that enter stage 2 by their published estimate and
    standard error (columns ``trial, estimate, se``, on the scale of ``t``), pooled with the
    IPD trials' estimates (Riley et al. 2008, Stat Med 27:1870; Stata ``ipdmetan, ad()``).
    """
    validate(family, TwoStageFamily, "family")
    if exposure is not None and family != "poisson":
        raise SpecError("exposure= applies to family='poisson' only", hint="drop exposure=")
    extra = [exposure] if exposure else []
    columns = [outcome, baseline, treatment] + ([modifier] if modifier else []) + extra + [trial]
    _require_columns(data, columns)
    if family == "auto":
        values = data[outcome].dropna().unique()
        family = "binomial" if len(values) and set(values) <= {0, 1} else "gaussian"
    term = f"{treatment}:{modifier}" if modifier else treatment
    rows = []
    for name, frame in data.groupby(trial, sort=True, observed=True):
        complete = frame[columns].dropna()
        _check_treatment(complete, treatment, trial)
        row = {"trial": str(name), "n": len(complete), "dropped": len(frame) - len(complete)}
        reason = ""
        treat = complete[treatment].to_numpy(float)
        if treat.size == 0:
            reason = "no participant with all of " + ", ".join(columns[:-1])
        elif treat.min() == treat.max():
            reason = "only one arm"
        design = [np.ones(len(complete)), complete[baseline].to_numpy(float), treat]
        index = 2
        if modifier and not reason:
            z = complete[modifier].to_numpy(float)
            z = z - z.mean()
            if np.ptp(z) == 0:
                reason = f"no variation in {modifier}"
            design += [z, treat * z]
            index = 4
        estimate = se = np.nan
        if not reason:
            X = np.column_stack(design)
            y = complete[outcome].to_numpy(float)
            if family == "poisson":
                if not ((y >= 0) & (y == np.round(y))).all():
                    raise InputError(
                        "a count outcome must hold whole numbers >= 0",
                        trial=str(name),
                        variable=outcome,
                        hint="pass the number of events, with person-time in exposure=",
                    )
                fit = poisson_fit(X, y, _log_exposure(complete, exposure, str(name)))
            elif family == "binomial":
                if not np.isin(y, (0.0, 1.0)).all():
                    raise InputError(
                        "a binary outcome must be coded 0/1",
                        trial=str(name),
                        variable=outcome,
                        hint="recode the outcome or pass family='gaussian'",
                    )
                fit = logistic_fit(X, y)
            else:
                fit = ols_fit(X, y) or "too few participants or collinear covariates"
            if isinstance(fit, str):
                reason = fit
                if fit.startswith("separation"):
                    warnings.warn(
                        f"trial {name}: {fit}; it is left out of the two-stage analysis",
                        SeparationWarning,
                        stacklevel=2,
                    )
            else:
                estimate, se = float(fit[0][index]), float(fit[1][index])
        rows.append({**row, "estimate": estimate, "se": se, "used": not reason, "reason": reason})
    trials = pd.DataFrame(rows).assign(source="IPD")
    if aggregate is not None:
        trials = pd.concat(
            [trials, _aggregate_rows(aggregate, set(trials.trial))], ignore_index=True
        )
    used = trials[trials.used]
    if used.empty:
        raise ModelError(
            f"no trial can estimate {term}",
            variable=term,
            hint="reasons per trial: "
            + "; ".join(f"{t}: {r}" for t, r in zip(trials.trial, trials.reason, strict=True)),
        )
    pooled = pool(
        used.estimate,
        used.se**2,
        method=method,
        hksj=hksj,
        adhoc=adhoc,
        level=level,
        labels=used.trial + np.where(used.source == "aggregate", AGGREGATE_MARK, ""),
        pi_type=pi_type,
    )
    z = float(stats.norm.ppf(0.5 + level / 2.0))  # per-trial Wald intervals
    trials = trials.assign(
        ci_low=trials.estimate - z * trials.se, ci_high=trials.estimate + z * trials.se
    )
    trials = trials[
        ["trial", "n", "dropped", "estimate", "se", "ci_low", "ci_high", "used", "reason", "source"]
    ]
    return TwoStageResult(outcome, term, family, modifier, trials, pooled)
