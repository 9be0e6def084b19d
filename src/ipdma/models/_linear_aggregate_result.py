"""The result of :func:`ipdma.models.mixed_aggregate` (one-stage IPD + aggregate data)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .._frozen import freeze

if TYPE_CHECKING:  # pragma: no cover
    from ._linear_aggregate import _Problem

__all__ = ["AggregateMixedResult", "result_of"]


@dataclass(frozen=True)
class AggregateMixedResult:
    """One-stage IPD + aggregate-data fit (Riley et al. 2008), immutable.

    Attributes
    ----------
    estimate, se, ci, p
        The pooled treatment effect ``t`` with Wald z inference (SE from (X'V^-1X)^-1 at
        the variance estimates, as lme4 and metafor compute it).
    tau2
        Between-trial variance of the treatment effect (shared by IPD and AD trials).
    sigma2
        Residual variance(s) of the IPD trials (one, or one per trial; empty without IPD).
    g
        Covariance matrix of the random slopes (the treatment last).
    loglik
        Maximised (restricted) log-likelihood of the joint model.
    k_ipd, k_aggregate, nobs
        IPD trials, AD trials and IPD participants in the model.
    terms
        ``term, estimate, se, statistic, p, ci_low, ci_high`` of the shared fixed effects.
    """

    method: str
    estimate: float
    se: float
    ci: tuple[float, float]
    p: float
    tau2: float
    sigma2: tuple[float, ...]
    g: tuple[tuple[float, ...], ...]
    loglik: float
    k_ipd: int
    k_aggregate: int
    nobs: int
    level: float
    converged: bool
    iterations: int
    ipd_trials: tuple[str, ...]
    aggregate_trials: tuple[str, ...]
    terms: pd.DataFrame

    def __post_init__(self) -> None:
        object.__setattr__(self, "terms", freeze(self.terms))

    def to_frame(self) -> pd.DataFrame:
        """The shared fixed effects (a modifiable copy of ``terms``)."""
        return self.terms.copy()

    tidy = to_frame

    def summary(self) -> str:
        low, high = self.ci
        return (
            f"One-stage IPD + aggregate data ({self.method}): {self.k_ipd} IPD trials "
            f"({self.nobs} participants), {self.k_aggregate} aggregate-data trials\n"
            f"treatment effect {self.estimate:.4f} (SE {self.se:.4f}; "
            f"{100 * self.level:g}% CI {low:.4f} to {high:.4f}; p = {self.p:.4g}); "
            f"tau2 = {self.tau2:.4g}"
        )

    def __str__(self) -> str:
        return self.summary()


def result_of(
    problem: _Problem,
    theta: np.ndarray,
    ipd_trials: list[str],
    aggregate: pd.DataFrame,
    level: float,
    converged: bool,
    iterations: int,
    names: list[str],
) -> AggregateMixedResult:
    """The result at the optimum ``theta``: GLS coefficients and their covariance."""
    from scipy import stats  # lazily: importing ipdma.models stays free of scipy

    _, xvx, xvy, _, tau2 = problem.parts(theta)
    vcov = np.linalg.inv(xvx)
    beta = vcov @ xvy
    k = problem.k_ipd
    shared = slice(k, None)
    coef = beta[shared]
    se = np.sqrt(np.diag(vcov)[shared])
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    statistic = coef / se
    pvalue = 2.0 * stats.norm.sf(np.abs(statistic))
    terms = pd.DataFrame(
        {
            "term": names,
            "estimate": coef,
            "se": se,
            "statistic": statistic,
            "p": pvalue,
            "ci_low": coef - z * se,
            "ci_high": coef + z * se,
        }
    )
    residual, factor = problem.split(theta)
    g = factor @ factor.T
    sigma2 = (
        tuple(float(v) for v in residual)
        if problem.stratified
        else ((float(residual[0]),) if k else ())
    )
    deviance = problem.deviance(theta)
    return AggregateMixedResult(
        method="REML" if problem.reml else "ML",
        estimate=float(coef[-1]),
        se=float(se[-1]),
        ci=(float(coef[-1] - z * se[-1]), float(coef[-1] + z * se[-1])),
        p=float(pvalue[-1]),
        tau2=float(tau2),
        sigma2=sigma2,
        g=tuple(tuple(float(v) for v in row) for row in g),
        loglik=-0.5 * deviance if math.isfinite(deviance) else math.nan,
        k_ipd=k,
        k_aggregate=len(aggregate),
        nobs=int(problem.nobs.sum()),
        level=level,
        converged=converged,
        iterations=iterations,
        ipd_trials=tuple(ipd_trials),
        aggregate_trials=tuple(str(t) for t in aggregate.trial) if len(aggregate) else (),
        terms=terms,
    )
