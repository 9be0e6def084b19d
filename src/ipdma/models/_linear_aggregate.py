"""One-stage linear mixed model of IPD trials together with aggregate-data (AD) trials.

Riley, Lambert, Staessen et al. (2008), Stat Med 27:1870, "Meta-analysis of continuous
outcomes combining individual patient data and aggregate data": trials with IPD enter the
one-stage model participant by participant; trials that give only a published treatment
effect ``d_k`` with standard error ``s_k`` enter by that estimate. For IPD trial ``i``,
participant ``j``::

    y_ij = a_i + x_ij' b_i + t_i T_ij + e_ij,   e_ij ~ N(0, sigma^2)  (or sigma_i^2)
    (b_i, t_i) = (b, t) + u_i,                   u_i ~ N(0, G)

and for AD trial ``k`` (one pseudo-observation, known sampling variance)::

    d_k = t + v_k + f_k,   v_k ~ N(0, tau^2),   f_k ~ N(0, s_k^2)

with ``tau^2 = G[treat, treat]`` (the same random treatment effect). The joint likelihood is
the IPD mixed-model likelihood times ``prod_k N(d_k; t, s_k^2 + tau^2)``. Written as one
linear model ``Y = X beta + Z u + e`` (an AD row has 1 in the treatment column of X and of
Z, 0 elsewhere, and residual variance ``s_k^2``), ML maximises::

    -2 l = N log(2 pi) + log|V| + r' V^-1 r,    r = Y - X beta_hat (GLS)

and REML adds ``log|X' V^-1 X|`` with ``N - p`` in place of ``N`` (Harville 1977; the same
criterion as lme4's, and with AD trials only, metafor ``rma(method = "ML" / "REML")``).
``sigma^2`` cannot be profiled out (the AD variances are known), so every variance
parameter is optimised; V^-1 is never formed: per IPD trial the Woodbury identity works on
the cross-products of ``[1, x, T]`` and ``y``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .._literals import Residual
from ..errors import InputError, ModelError
from ._linear_aggregate_optimize import fit_deviance
from ._linear_aggregate_result import AggregateMixedResult, result_of

__all__ = ["AggregateMixedResult", "mixed_aggregate"]

_LOG_2PI = math.log(2.0 * math.pi)


class _Problem:
    """Cross-products of the IPD trials and the AD rows; evaluates the (RE)ML deviance."""

    def __init__(
        self,
        ipd: list[tuple[np.ndarray, np.ndarray]],
        ad_estimate: np.ndarray,
        ad_variance: np.ndarray,
        random: list[int],
        correlated: bool,
        stratified: bool,
        reml: bool,
        width: int,
    ) -> None:
        self.k_ipd = len(ipd)
        self.width = width  # columns of W = [1, covariates..., treat]; treat is the last
        self.random = random  # indices into W of the random slopes
        self.correlated = correlated
        self.stratified = stratified
        self.reml = reml
        self.ad_estimate = ad_estimate
        self.ad_variance = ad_variance
        self.treat_random = (width - 1) in random
        m = width + 1
        self.cross = np.zeros((self.k_ipd, m, m))
        self.nobs = np.zeros(self.k_ipd)
        for i, (design, y) in enumerate(ipd):
            full = np.column_stack([design, y])
            self.cross[i] = full.T @ full
            self.nobs[i] = len(y)
        self.n_total = float(self.nobs.sum()) + len(ad_estimate)
        self.p = self.k_ipd + (width - 1)  # intercepts + shared (covariates and treatment)
        q = len(random)
        self.n_g = q * (q + 1) // 2 if correlated else q
        self.n_sigma = (self.k_ipd if stratified else 1) if self.k_ipd else 0

    # -- parameters: [residual SDs..., G factor (lower-triangular, by rows, or its diagonal)]
    def split(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        q = len(self.random)
        sigma = theta[: self.n_sigma]
        factor = np.zeros((q, q))
        values = theta[self.n_sigma :]
        if self.correlated:
            factor[np.tril_indices(q)] = values
        else:
            factor[np.diag_indices(q)] = values
        residual = np.broadcast_to(sigma**2 if self.n_sigma else np.ones(1), (self.k_ipd,))
        return residual, factor

    def bounds(self) -> list[tuple[float | None, float | None]]:
        q = len(self.random)
        bounds: list[tuple[float | None, float | None]] = [(1e-8, None)] * self.n_sigma
        if not self.correlated:
            return bounds + [(0.0, None)] * q
        rows, cols = np.tril_indices(q)
        diagonal = rows == cols
        return bounds + [(0.0, None) if d else (None, None) for d in diagonal]

    def parts(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, float, float]:
        """log|V|, X'V^-1X (p x p), X'V^-1y, and y'V^-1y and tau^2 of the treatment."""
        residual, factor = self.split(theta)
        g = factor @ factor.T
        w = self.width
        p, k = self.p, self.k_ipd
        xvx = np.zeros((p, p))
        xvy = np.zeros(p)
        yvy = 0.0
        logdet = 0.0
        if k:
            cross = self.cross / residual[:, None, None]  # (1/s) [W y]'[W y]
            zc = cross[:, self.random, :]  # (1/s) Z'[W y]
            lam = np.broadcast_to(factor, (k, *factor.shape))
            zlam = np.swapaxes(lam, 1, 2) @ zc  # Lambda' Z'[W y] / s (Lambda = L, not L/sqrt s)
            a = np.eye(len(self.random)) + zlam[:, :, self.random] @ lam
            chol = np.linalg.cholesky(a)
            half = np.linalg.solve(chol, zlam)  # chol^-1 Lambda' Z'[W y] / s
            inner = cross - np.swapaxes(half, 1, 2) @ half  # [W y]' V^-1 [W y]
            logdet = float(
                np.sum(self.nobs * np.log(residual))
                + 2.0 * np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2)))
            )
            idx = np.arange(k)
            xvx[idx, idx] = inner[:, 0, 0]
            xvx[:k, k:] = inner[:, 0, 1:w]
            xvx[k:, :k] = inner[:, 0, 1:w].T
            xvx[k:, k:] = inner[:, 1:w, 1:w].sum(axis=0)
            xvy[:k] = inner[:, 0, w]
            xvy[k:] = inner[:, 1:w, w].sum(axis=0)
            yvy = float(inner[:, w, w].sum())
        tau2 = float(g[-1, -1]) if self.treat_random else 0.0
        if len(self.ad_estimate):
            total = self.ad_variance + tau2
            xvx[-1, -1] += float(np.sum(1.0 / total))
            xvy[-1] += float(np.sum(self.ad_estimate / total))
            yvy += float(np.sum(self.ad_estimate**2 / total))
            logdet += float(np.sum(np.log(total)))
        return logdet, xvx, xvy, yvy, tau2

    def deviance(self, theta: np.ndarray) -> float:
        """-2 log-likelihood (ML) or -2 restricted log-likelihood (REML) at ``theta``."""
        logdet, xvx, xvy, yvy, _ = self.parts(theta)
        try:
            chol = np.linalg.cholesky(xvx)
        except np.linalg.LinAlgError:
            return math.inf
        half = np.linalg.solve(chol, xvy)
        rss = yvy - float(half @ half)
        if self.reml:
            logdet_c = 2.0 * float(np.sum(np.log(np.diag(chol))))
            return float((self.n_total - self.p) * _LOG_2PI + logdet + logdet_c + rss)
        return float(self.n_total * _LOG_2PI + logdet + rss)


def validated_aggregate(aggregate: pd.DataFrame | None, ipd_trials: set[str]) -> pd.DataFrame:
    """Aggregate-data rows (``trial, estimate, se``) checked: the columns present, no trial
    also given as IPD, a finite estimate and se > 0, one row per trial."""
    if aggregate is None or len(aggregate) == 0:
        return pd.DataFrame({"trial": [], "estimate": [], "se": []})
    for column in ("trial", "estimate", "se"):
        if column not in aggregate.columns:
            raise InputError(
                f"aggregate data need a column {column!r}",
                variable=column,
                hint="pass one row per trial with trial, estimate and se",
            )
    frame = aggregate.reset_index(drop=True)
    for row, (name, estimate, se) in enumerate(
        zip(frame.trial, frame.estimate, frame.se, strict=True)
    ):
        if str(name) in ipd_trials:
            raise InputError(
                "a trial is given both as IPD and as aggregate data",
                trial=str(name),
                variable="trial",
                row=row,
                hint="keep one of the two (the IPD when available)",
            )
        if not (np.isfinite(float(estimate)) and np.isfinite(float(se)) and float(se) > 0):
            raise InputError(
                "an aggregate estimate needs a finite estimate and se > 0",
                trial=str(name),
                variable="se",
                row=row,
                value=float(se),
                hint="fix the published estimate or leave the trial out",
            )
    if frame.trial.astype(str).duplicated().any():
        name = str(frame.trial[frame.trial.astype(str).duplicated()].iloc[0])
        raise InputError(
            "an aggregate-data trial appears twice",
            trial=name,
            variable="trial",
            hint="give one estimate per trial",
        )
    return frame


def mixed_aggregate(
    data: pd.DataFrame | None,
    aggregate: pd.DataFrame | None = None,
    *,
    outcome: str = "y",
    treatment: str = "treat",
    trial: str = "trial",
    covariates: tuple[str, ...] = ("baseline",),
    random: tuple[str, ...] = ("treat", "baseline"),
    correlated: bool = False,
    residual: Residual = "common",
    reml: bool = True,
    level: float = 0.95,
) -> AggregateMixedResult:
    """Fit the one-stage IPD + aggregate-data linear mixed model (module docstring).

    Parameters
    ----------
    data
        IPD, one row per participant (complete cases are used): ``outcome``, ``treatment``,
        ``trial`` and the ``covariates`` (each with a random or a common slope; stratified
        intercepts per trial). None or empty: AD trials only (then the model is the
        random-effects meta-analysis of the estimates, metafor ``rma``).
    aggregate
        One row per AD trial: ``trial, estimate, se`` (the treatment effect on the scale of
        the ``treatment`` coefficient, and its standard error).
    random
        The random slopes (names among ``treatment`` and ``covariates``); the AD trials share
        the random treatment effect when ``treatment`` is among them.
    residual
        ``"common"`` or ``"stratified"`` (one residual variance per IPD trial).

    Returns
    -------
    AggregateMixedResult
        The treatment effect, its Wald z inference (SE from (X'V^-1X)^-1), tau^2 and the
        variance components.
    """
    frame = pd.DataFrame(columns=[trial, outcome, *covariates, treatment])
    frame = frame if data is None else data
    names = [*covariates, treatment]
    for name in random:
        if name not in names:
            raise InputError(
                f"random slope {name!r} is not a covariate or the treatment",
                variable=name,
                hint=f"random slopes must be among {', '.join(names)}",
            )
    if len(frame):
        for column in (outcome, trial, *names):
            if column not in frame.columns:
                raise InputError(f"column {column!r} is not in the data", variable=column)
        frame = frame[[trial, outcome, *names]].dropna()
    ipd = []
    labels: list[str] = []
    for name, group in frame.groupby(trial, sort=True, observed=True):
        design = np.column_stack([np.ones(len(group)), group[names].to_numpy(float)])
        ipd.append((design, group[outcome].to_numpy(float)))
        labels.append(str(name))
    ad = validated_aggregate(aggregate, set(labels))
    if not ipd:  # AD only: the covariates are not identified, only the treatment effect
        names = [treatment]
        random = tuple(r for r in random if r == treatment)
    if len(ipd) + len(ad) < 2:
        raise ModelError(
            "a random-effects meta-analysis needs at least two trials",
            hint="give IPD or aggregate data of two or more trials",
        )
    # columns of W = [1, covariates, treatment]: sorted, the treatment is last in G
    order = sorted(1 + names.index(name) for name in dict.fromkeys(random))
    problem = _Problem(
        ipd,
        ad.estimate.to_numpy(float),
        ad.se.to_numpy(float) ** 2,
        order,
        correlated,
        residual == "stratified",
        reml,
        len(names) + 1,
    )
    theta0, scales = _start(problem, ipd, ad)
    best = fit_deviance(problem, theta0, scales)
    for start in _correlated_starts(problem, theta0, scales):
        # correlated slopes: also from strong correlations of either sign (an optimum at
        # |corr| = 1 is not reached from 0 when a variance first shrinks to 0)
        other = fit_deviance(problem, start, scales)
        if problem.deviance(other[0]) < problem.deviance(best[0]):
            best = other
    theta, converged, iterations = best
    return result_of(problem, theta, labels, ad, level, converged, iterations, names)


def _correlated_starts(
    problem: _Problem, theta0: np.ndarray, scales: np.ndarray
) -> list[np.ndarray]:
    """Starts with the off-diagonal factor entries at +-0.9 of their scale."""
    if not problem.correlated or len(problem.random) < 2:
        return []
    rows, cols = np.tril_indices(len(problem.random))
    off = problem.n_sigma + np.flatnonzero(rows != cols)
    starts = []
    for sign in (1.0, -1.0):
        start = theta0.copy()
        start[off] = sign * 0.9 * scales[off]
        starts.append(start)
    return starts


def _start(problem: _Problem, ipd: list, ad: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Starting values and typical scales of the parameters: residual SDs from the per-trial
    OLS fits; each random slope's SD a tenth of the residual SD over the within-trial SD of
    its column (without IPD: the spread of the AD estimates)."""
    sigmas, spreads = [], []
    for design, y in ipd:
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        dof = max(len(y) - design.shape[1], 1)
        sigmas.append(math.sqrt(max(float(np.sum((y - design @ coef) ** 2)) / dof, 1e-8)))
        spreads.append(np.std(design, axis=0))
    if problem.stratified:
        sigma = np.array(sigmas)
    else:
        sigma = np.array([float(np.sqrt(np.mean(np.square(sigmas))))]) if sigmas else np.array([])
    if sigmas:
        column_sd = np.mean(spreads, axis=0)[problem.random]
        slope = 0.1 * float(sigma.mean()) / np.where(column_sd > 0, column_sd, 1.0)
    else:
        spread = float(np.std(ad.estimate)) if len(ad) > 1 else 1.0
        slope = np.full(len(problem.random), max(spread, float(ad.se.mean()) * 0.1, 1e-3))
    q = len(problem.random)
    if problem.correlated:
        rows, cols = np.tril_indices(q)
        g = np.where(rows == cols, slope[rows], 0.0)
        g_scale = np.sqrt(slope[rows] * slope[cols])
    else:
        g = g_scale = slope
    start = np.concatenate([sigma, g])
    return start, np.concatenate([sigma, g_scale])
