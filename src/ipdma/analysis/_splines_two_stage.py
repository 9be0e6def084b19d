"""Two-stage spline interactions: each trial's own spline-interaction coefficients and their
covariance (least squares or logistic regression), pooled by a multivariate random-effects
meta-analysis (method of moments, Jackson, White & Thompson 2010, Stat Med 29:1282).

Stage 1, trial ``i`` on its own (``Bc`` the spline basis centred within trial, ``T`` 0/1)::

    linear     y_ij = a + b base_ij + d' Bc_ij + T_ij (theta_i + gamma_i' Bc_ij) + e_ij   (OLS)
    logistic   logit P(y_ij = 1) = a + b c(base_ij) + d' Bc_ij + T_ij (theta_i + gamma_i' Bc_ij)

(the baseline term left out when the modifier is the baseline value itself: ``B_1`` is then
it). The logistic fit is maximum likelihood (Newton-Raphson, as R ``glm``) with the inverse
Fisher information as covariance. A trial whose own data separate the outcome (its
likelihood has no finite maximum, e.g. every exercise participant in a spline segment
recovered; checked by the linear programme of
:func:`ipdma.models._logistic_design.detect_separation`), with one arm only, or with too
few participants for its 2k + 1 coefficients is left out of stage 2 with its reason (no
continuity or Firth correction), as the grid's two-stage estimates do.

Stage 2 pools the trials' ``(theta_i, gamma_i)`` by :func:`multivariate_mm`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["TrialCoefficients", "logistic_regression", "multivariate_mm", "per_trial"]

_SEPARATION = "separation (the trial's own odds ratios are infinite)"


@dataclass(frozen=True)
class TrialCoefficients:
    """Stage 1: the used trials' ``(theta_i, gamma_i)`` and covariances; left-out trials
    with their reason."""

    estimates: tuple[np.ndarray, ...]
    covariances: tuple[np.ndarray, ...]
    used: tuple[str, ...]
    left_out: tuple[tuple[str, str], ...]


def _ols(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray] | str:
    n, p = x.shape
    if n <= p + 2 or np.linalg.matrix_rank(x) < p:
        return "too few participants or no spread of the modifier"
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ coef
    s2 = float(resid @ resid) / (n - p)
    return coef, s2 * np.linalg.inv(x.T @ x)


def logistic_regression(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray] | str:
    """Maximum-likelihood logistic regression of 0/1 ``y`` on ``x`` (R ``glm``): the
    coefficients and their covariance (inverse Fisher information), or the reason it has no
    finite estimate (too few rows, collinear columns, no variation, separation)."""
    from ..meta._fits import logistic_fit
    from ..models._logistic_design import detect_separation

    n, p = x.shape
    if n <= p + 2 or np.linalg.matrix_rank(x) < p:
        return "too few participants or no spread of the modifier"
    if np.all(y == y[0]):
        return "no variation in the outcome"
    if detect_separation(x, y, np.ones(n)) is not None:
        return _SEPARATION
    fit = logistic_fit(x, y)
    if isinstance(fit, str):
        return _SEPARATION if fit.startswith("separation") else fit
    coef = fit[0]
    prob = 1.0 / (1.0 + np.exp(-(x @ coef)))
    information = x.T @ (x * (prob * (1.0 - prob))[:, None])
    return coef, np.linalg.inv(information)


def per_trial(
    y: np.ndarray,
    base: np.ndarray | None,
    treat: np.ndarray,
    centred: np.ndarray,
    trial: np.ndarray,
    family: str = "gaussian",
) -> TrialCoefficients:
    """Stage 1 of the module docstring on each trial (``base`` None when the modifier is the
    baseline value). ``centred``: the spline basis centred within trial, one column per
    basis function."""
    fit = logistic_regression if family == "binomial" else _ols
    estimates, covariances, used, left_out = [], [], [], []
    m = centred.shape[1]
    for level in pd.unique(trial):
        rows = trial == level
        t = treat[rows]
        if t.min() == t.max():
            left_out.append((str(level), "one arm only"))
            continue
        bc = centred[rows]
        lead = [np.ones(int(rows.sum()))] + ([] if base is None else [base[rows]])
        x = np.column_stack([*lead, bc, t, t[:, None] * bc])
        result = fit(x, y[rows])
        if isinstance(result, str):
            left_out.append((str(level), result))
            continue
        coef, cov = result
        keep = np.arange(len(lead) + m, len(lead) + 2 * m + 1)
        estimates.append(coef[keep])
        covariances.append(cov[np.ix_(keep, keep)])
        used.append(str(level))
    return TrialCoefficients(tuple(estimates), tuple(covariances), tuple(used), tuple(left_out))


def multivariate_mm(
    estimates: list[np.ndarray] | tuple[np.ndarray, ...],
    covariances: list[np.ndarray] | tuple[np.ndarray, ...],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Multivariate random-effects meta-analysis, method of moments (Jackson et al. 2010).

    ``Q = sum_i W_i (y_i - ybar)(y_i - ybar)'`` with ``W_i = S_i^-1`` and ``ybar`` the fixed-
    effect mean; ``E[Q] = sum_i W_i sum_j M_ij (S_j + Psi) M_ij'`` with ``M_ij = 1{i=j} I -
    W^-1 W_j`` is linear in Psi: the symmetric Psi matching Q in least squares, with negative
    eigenvalues set to 0. Returns (pooled mean, its covariance, Psi).
    """
    y = np.asarray(estimates)
    s = np.asarray(covariances)
    n, p = y.shape
    w = np.linalg.inv(s)
    w_sum_inv = np.linalg.inv(w.sum(0))
    ybar = w_sum_inv @ np.einsum("iab,ib->a", w, y)
    dev = y - ybar
    q = np.einsum("iab,ib,ic->ac", w, dev, dev)
    eye = np.eye(p)
    m = np.array([[(eye if i == j else 0) - w_sum_inv @ w[j] for j in range(n)] for i in range(n)])

    def expected(psi: np.ndarray, with_s: bool) -> np.ndarray:
        inner = (s if with_s else 0) + psi
        return np.einsum("iab,ijbc,jcd,ijed->ae", w, m, np.broadcast_to(inner, (n, p, p)), m)

    pairs = [(a, b) for a in range(p) for b in range(a, p)]
    design = []
    for a, b in pairs:
        e = np.zeros((p, p))
        e[a, b] = e[b, a] = 1.0
        design.append(expected(e, with_s=False).ravel())
    target = (q - expected(np.zeros((p, p)), with_s=True)).ravel()
    solution, *_ = np.linalg.lstsq(np.array(design).T, target, rcond=None)
    psi = np.zeros((p, p))
    for (a, b), value in zip(pairs, solution, strict=True):
        psi[a, b] = psi[b, a] = value
    values, vectors = np.linalg.eigh(psi)
    psi = (vectors * np.clip(values, 0, None)) @ vectors.T
    w_re = np.linalg.inv(s + psi)
    vcov = np.linalg.inv(w_re.sum(0))
    mean = vcov @ np.einsum("iab,ib->a", w_re, y)
    return mean, vcov, psi
