"""The one-stage spline-interaction models of :mod:`ipdma.analysis._splines`, linear and
logistic, and their linear-interaction companions (see that module's docstring).

Linear (REML, random treatment effect)::

    y ~ 0 + C(trial) + base + s1 + ... + sm + treat + ts1 + ... + tsm + (0 + treat | trial)

Logistic (ML, adaptive Gauss-Hermite quadrature with ``nagq`` nodes per dimension; the
random terms of the plan's ``random_binomial``, by default the paper's random treatment
effect and random baseline slope, independent unless ``correlated``)::

    y ~ 0 + C(trial) + baseline + s1 + ... + sm + treat + ts1 + ... + tsm
        + (0 + treat | trial) + (0 + baseline | trial)

with ``baseline`` centred within trial (as the grid's logistic interaction models). When
the modifier is the baseline value, ``s1`` is the (centred) baseline and the baseline term
stands for it. The linear-interaction model keeps ``ts1`` only (and, for the overlay,
``s1`` only among the main effects); the likelihood-ratio test of non-linearity compares
the spline model with the one that keeps all spline main effects and ``ts1`` only.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..models import MixedResult
from ._design import _random_part

__all__ = ["OneStage", "centred_within", "fit_one_stage"]


@dataclass(frozen=True)
class OneStage:
    """The fitted one-stage spline model: ``(theta, gamma)`` and their covariance, the linear
    interaction's ``(treat, ts1)`` and covariance, the LR test (logistic; NaN for linear)."""

    beta: np.ndarray
    vcov: np.ndarray
    linear_beta: np.ndarray
    linear_vcov: np.ndarray
    studies: int
    converged: bool
    lr_chi2: float = math.nan
    lr_p: float = math.nan
    messages: tuple[str, ...] = ()


def _fit(formula: str, data: pd.DataFrame, family: str, nagq: int) -> tuple[MixedResult, list]:
    from ..models import mixed

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if family == "binomial":
            fit = mixed(formula, data, family="binomial", nagq=nagq)
        else:
            fit = mixed(formula, data)
    return fit, [str(w.message) for w in caught]


def fit_one_stage(
    model: pd.DataFrame,
    m: int,
    *,
    same: bool,
    family: str = "gaussian",
    nagq: int = 7,
    random: tuple[str, ...] = ("treatment", "baseline"),
    correlated: bool = False,
) -> OneStage:
    """Fit the spline model and its linear-interaction companions on ``model`` (columns
    ``y, base, treat, trial, s1..sm, ts1..tsm``; for the logistic model ``base`` is the
    baseline centred within trial)."""
    names = [f"s{j + 1}" for j in range(m)]
    interaction = [f"t{name}" for name in names]
    if family == "binomial":
        data = model.rename(columns={"base": "baseline"})
        base = "baseline"
        terms = [{"treatment": "treat", "baseline": "baseline"}[r] for r in random]
        tail = _random_part(terms, correlated)
        mains = ["baseline", *names[1:]] if same else ["baseline", *names]
        linear_mains = ["baseline"] if same else ["baseline", "s1"]
    else:
        data, base = model, "base"
        tail = " + (0 + treat | trial)"
        mains = names if same else ["base", *names]
        linear_mains = ["s1"] if same else ["base", "s1"]
    head = "y ~ 0 + C(trial) + "
    formula = head + " + ".join([*mains, "treat", *interaction]) + tail
    linear_formula = head + " + ".join([*linear_mains, "treat", "ts1"]) + tail
    columns = list(dict.fromkeys(["y", base, "treat", "trial", "s1", "ts1"]))
    fit, messages = _fit(formula, data, family, nagq)
    linear, more = _fit(linear_formula, data[columns], family, nagq)
    terms = ["treat", *interaction]
    lin_terms = ["treat", "ts1"]
    lr_chi2 = lr_p = math.nan
    converged = bool(fit.converged and linear.converged)
    if family == "binomial" and m > 1:
        restricted_formula = head + " + ".join([*mains, "treat", "ts1"]) + tail
        restricted, others = _fit(restricted_formula, data, family, nagq)
        more += others
        converged = converged and bool(restricted.converged)
        lr_chi2 = max(0.0, 2.0 * (float(fit.loglik) - float(restricted.loglik)))
        lr_p = float(stats.chi2.sf(lr_chi2, m - 1))
    notes = [*fit.warnings, *messages, *linear.warnings, *more]
    return OneStage(
        beta=fit.fixef[terms].to_numpy(float),
        vcov=fit.vcov.loc[terms, terms].to_numpy(float),
        linear_beta=linear.fixef[lin_terms].to_numpy(float),
        linear_vcov=linear.vcov.loc[lin_terms, lin_terms].to_numpy(float),
        studies=int(fit.ngroups),
        converged=converged,
        lr_chi2=lr_chi2,
        lr_p=lr_p,
        messages=tuple(dict.fromkeys(str(n) for n in notes)),
    )


def centred_within(values: np.ndarray, trial: np.ndarray) -> np.ndarray:
    """``values - mean_i(values)`` (the trial's mean over the rows)."""
    means = pd.Series(values).groupby(trial).transform("mean").to_numpy()
    return np.asarray(values, dtype=float) - means
