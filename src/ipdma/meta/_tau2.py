"""Between-study variance (tau2) estimators for the random-effects (meta-regression) model.

Model: ``y = X beta + u + e``, ``u ~ N(0, tau2 I)``, ``e ~ N(0, diag(v))`` with ``v`` known
(``X`` is a column of ones without moderators). With ``W = diag(1 / (v + tau2))`` write
``P = W - W X (X'W X)^-1 X'W``, ``Q(tau2) = y'P y`` (the generalized residual Q) and
``p = rank(X)``:

- ``DL`` DerSimonian-Laird: ``(Q(0) - (k - p)) / tr P(0)``.
- ``HE`` Hedges (variance components / method of moments): with the OLS projection
  ``P0 = I - X (X'X)^-1 X'``, ``(y'P0 y - tr(P0 V)) / (k - p)``.
- ``HS`` Hunter-Schmidt: ``(Q(0) - k) / sum(1/v)``.
- ``SJ`` Sidik-Jonkman: ``tau0 = mean((y - ybar)^2)``, ``tau0 Q(tau0) / (k - p)``.
- ``ML``: root of ``y'P P y - tr W``; ``REML``: root of ``y'P P y - tr P``.
- ``PM`` Paule-Mandel and ``EB`` empirical Bayes (Morris 1983): the root of
  ``Q(tau2) = k - p`` (metafor reaches the same root by its EB iteration).

Every estimate is truncated at 0. metafor (``rma.uni``) iterates and stops at its
convergence threshold; here each estimating equation is solved to machine precision with
Brent's method on a bracket, so metafor agrees when run with a tight ``control``.
``tau2_se`` gives metafor's ``se.tau2`` for each estimator (``sqrt(2 / tr(P P))`` for REML,
``sqrt(2 / sum w^2)`` for ML, the moment-estimator variances for DL, HE, HS and SJ). The
Q-profile confidence interval (Viechtbauer 2007; metafor ``confint``) solves
``Q(tau2) = chi2_{k-p}`` quantiles.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import optimize, stats

__all__ = [
    "generalized_q",
    "ones",
    "projection",
    "q_profile_ci",
    "tau2_estimate",
    "tau2_se",
]

_XTOL = 1e-15
_RTOL = 4 * np.finfo(float).eps


def ones(k: int) -> np.ndarray:
    """The intercept-only design (a ``k x 1`` column of ones)."""
    return np.ones((k, 1))


def _design(yi: np.ndarray, x: np.ndarray | None) -> np.ndarray:
    return ones(yi.size) if x is None else x


def projection(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``P = W - W X (X'W X)^-1 X'W`` for weights ``w`` (the residual-forming matrix)."""
    wx = x * w[:, None]
    inner = np.linalg.solve(x.T @ wx, wx.T)
    return np.diag(w) - wx @ inner


def generalized_q(
    tau2: float, yi: np.ndarray, vi: np.ndarray, x: np.ndarray | None = None
) -> float:
    """``Q(tau2) = y'P y``, the weighted residual sum of squares with ``w = 1 / (v + tau2)``."""
    p_mat = projection(1.0 / (vi + tau2), _design(yi, x))
    return float(yi @ p_mat @ yi)


def _ml_score(tau2: float, yi: np.ndarray, vi: np.ndarray, x: np.ndarray | None = None) -> float:
    w = 1.0 / (vi + tau2)
    py = projection(w, _design(yi, x)) @ yi
    return float(py @ py - np.sum(w))


def _reml_score(tau2: float, yi: np.ndarray, vi: np.ndarray, x: np.ndarray | None = None) -> float:
    p_mat = projection(1.0 / (vi + tau2), _design(yi, x))
    py = p_mat @ yi
    return float(py @ py - np.trace(p_mat))


def decreasing_root(func: Callable[[float], float], scale: float, low: float = 0.0) -> float:
    """Root of a function positive at ``low`` that becomes negative for large tau2 (the
    first sign change on a geometric bracket, refined by Brent to machine precision)."""
    high = max(scale, low * 2.0, 1e-8)
    for _ in range(200):
        if func(high) < 0:
            break
        low, high = high, high * 4.0
    else:  # pragma: no cover - the functions used here always turn negative
        return float("inf")
    return float(optimize.brentq(func, low, high, xtol=_XTOL * max(1.0, high), rtol=_RTOL))


def _scale(yi: np.ndarray, vi: np.ndarray) -> float:
    return float(np.var(yi, ddof=1)) + float(np.mean(vi))


def _sj_start(yi: np.ndarray) -> float:
    return float(np.mean((yi - np.mean(yi)) ** 2))


def tau2_estimate(
    yi: np.ndarray, vi: np.ndarray, method: str, x: np.ndarray | None = None
) -> float:
    """Estimate tau2 by ``method`` (FE, DL, HE, HS, SJ, ML, REML, EB, PM; FE returns 0)."""
    x = _design(yi, x)
    k, p = x.shape
    if method == "FE" or k <= p:
        return 0.0
    if method == "DL":
        p_fe = projection(1.0 / vi, x)
        return max(0.0, (float(yi @ p_fe @ yi) - (k - p)) / float(np.trace(p_fe)))
    if method == "HS":
        q0 = generalized_q(0.0, yi, vi, x)
        return max(0.0, (q0 - k) / float(np.sum(1.0 / vi)))
    if method == "HE":
        p_ols = projection(np.ones(k), x)
        rss = float(yi @ p_ols @ yi)
        return max(0.0, (rss - float(np.sum(np.diag(p_ols) * vi))) / (k - p))
    if method == "SJ":
        start = _sj_start(yi)
        return max(0.0, start * generalized_q(start, yi, vi, x) / (k - p))
    if method in ("PM", "EB"):

        def func(t: float) -> float:
            return generalized_q(t, yi, vi, x) - (k - p)
    elif method == "ML":

        def func(t: float) -> float:
            return _ml_score(t, yi, vi, x)
    elif method == "REML":

        def func(t: float) -> float:
            return _reml_score(t, yi, vi, x)
    else:  # pragma: no cover - validated by the caller
        raise ValueError(method)
    if func(0.0) <= 0.0:
        return 0.0
    return decreasing_root(func, _scale(yi, vi))


def tau2_se(
    yi: np.ndarray, vi: np.ndarray, method: str, tau2: float, x: np.ndarray | None = None
) -> float:
    """Standard error of the tau2 estimate as metafor reports it (``se.tau2``); NaN for FE."""
    x = _design(yi, x)
    k, p = x.shape
    t = max(tau2, 0.0)
    if method == "FE" or k <= p:
        return float("nan")
    if method in ("DL", "HS"):
        p_fe = projection(1.0 / vi, x)
        tr_p = float(np.trace(p_fe))
        core = 2 * (k - p) + 4 * t * tr_p + 2 * t**2 * float(np.sum(p_fe * p_fe))
        denom = tr_p if method == "DL" else float(np.sum(1.0 / vi))
        return float(np.sqrt(core) / denom)
    if method == "HE":
        pv = projection(np.ones(k), x) * vi[None, :]
        core = 2 * float(np.sum(pv * pv.T)) + 4 * t * float(np.trace(pv)) + 2 * t**2 * (k - p)
        return float(np.sqrt(core) / (k - p))
    if method == "SJ":
        start = _sj_start(yi)
        p_mat = projection(1.0 / (vi + start), x)
        pv = p_mat * vi[None, :]
        core = (
            2 * float(np.sum(pv * pv.T))
            + 4 * t * float(np.sum(pv * p_mat))
            + 2 * t**2 * float(np.sum(p_mat * p_mat))
        )
        return float(start * np.sqrt(core) / (k - p))
    w = 1.0 / (vi + t)
    if method == "ML":
        return float(np.sqrt(2.0 / np.sum(w**2)))
    if method == "REML":
        p_mat = projection(w, x)
        return float(np.sqrt(2.0 / np.sum(p_mat * p_mat)))
    if method in ("PM", "EB"):
        return float(np.sqrt(2.0 * k**2 / (k - p)) / np.sum(w))
    raise ValueError(method)  # pragma: no cover - validated by the caller


def q_profile_ci(
    yi: np.ndarray, vi: np.ndarray, level: float, x: np.ndarray | None = None
) -> tuple[float, float]:
    """Q-profile confidence interval for tau2 (metafor ``confint``), bounds truncated at 0:
    ``{tau2 : chi2_{k-p, alpha/2} <= Q(tau2) <= chi2_{k-p, 1-alpha/2}}``."""
    x = _design(yi, x)
    k, p = x.shape
    if k <= p:
        return (float("nan"), float("nan"))
    alpha = 1.0 - level
    q0 = generalized_q(0.0, yi, vi, x)
    bounds = []
    for quantile in (1.0 - alpha / 2.0, alpha / 2.0):
        target = float(stats.chi2.ppf(quantile, k - p))
        if q0 <= target:
            bounds.append(0.0)
            continue

        def func(t: float, target: float = target) -> float:
            return generalized_q(t, yi, vi, x) - target

        bounds.append(decreasing_root(func, _scale(yi, vi)))
    return (bounds[0], bounds[1])
