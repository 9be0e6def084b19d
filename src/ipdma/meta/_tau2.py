"""Between-study variance (tau2) estimators for the random-effects model.

Model: ``y_i = mu + u_i + e_i``, ``u_i ~ N(0, tau2)``, ``e_i ~ N(0, v_i)`` with ``v_i`` known.
With ``w_i = 1 / (v_i + tau2)`` and ``mu(tau2) = sum w_i y_i / sum w_i``:

- DerSimonian-Laird (``DL``): ``max(0, (Q - (k - 1)) / (sum w - sum w^2 / sum w))`` with
  fixed-effect weights ``w = 1/v`` and Cochran's ``Q``.
- Maximum likelihood (``ML``): root of ``sum w_i^2 (y_i - mu)^2 - sum w_i`` (the profile
  score), truncated at 0.
- Restricted ML (``REML``): root of ``sum w_i^2 (y_i - mu)^2 - sum w_i + sum w_i^2 / sum w_i``,
  truncated at 0.
- Paule-Mandel (``PM``): root of the generalized ``Q(tau2) = sum w_i (y_i - mu)^2 = k - 1``,
  0 when ``Q(0) <= k - 1``.

metafor (``rma.uni``) reaches ML/REML by Fisher scoring and PM by ``uniroot`` and stops at
its convergence threshold; here each estimating equation is solved to machine precision with
Brent's method on a bracket, so metafor agrees when run with a tight ``control``. The Q-profile
confidence interval (Viechtbauer 2007; metafor ``confint.rma.uni``) solves
``Q(tau2) = chi2_{k-1}`` quantiles.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import optimize, stats

__all__ = ["generalized_q", "q_profile_ci", "tau2_estimate"]

_XTOL = 1e-15
_RTOL = 4 * np.finfo(float).eps


def _mu(yi: np.ndarray, w: np.ndarray) -> float:
    return float(np.sum(w * yi) / np.sum(w))


def generalized_q(tau2: float, yi: np.ndarray, vi: np.ndarray) -> float:
    """``Q(tau2) = sum w_i (y_i - mu(tau2))^2`` with ``w_i = 1 / (v_i + tau2)``."""
    w = 1.0 / (vi + tau2)
    return float(np.sum(w * (yi - _mu(yi, w)) ** 2))


def _ml_score(tau2: float, yi: np.ndarray, vi: np.ndarray) -> float:
    w = 1.0 / (vi + tau2)
    return float(np.sum(w**2 * (yi - _mu(yi, w)) ** 2) - np.sum(w))


def _reml_score(tau2: float, yi: np.ndarray, vi: np.ndarray) -> float:
    w = 1.0 / (vi + tau2)
    sw = np.sum(w)
    return float(np.sum(w**2 * (yi - _mu(yi, w)) ** 2) - sw + np.sum(w**2) / sw)


def _decreasing_root(func: Callable[[float], float], scale: float) -> float:
    """Smallest-bracket root of a function positive at 0 that becomes negative for large tau2."""
    low, high = 0.0, max(scale, 1e-8)
    for _ in range(200):
        if func(high) < 0:
            break
        low, high = high, high * 4.0
    else:  # pragma: no cover - the functions above always turn negative
        return float("inf")
    return float(optimize.brentq(func, low, high, xtol=_XTOL * max(1.0, high), rtol=_RTOL))


def tau2_estimate(yi: np.ndarray, vi: np.ndarray, method: str) -> float:
    """Estimate tau2 by ``method`` in {"FE", "DL", "REML", "ML", "PM"} (FE returns 0)."""
    k = yi.size
    if method == "FE" or k < 2:
        return 0.0
    scale = float(np.var(yi, ddof=1)) + float(np.mean(vi))
    if method == "DL":
        w = 1.0 / vi
        q = generalized_q(0.0, yi, vi)
        denom = np.sum(w) - np.sum(w**2) / np.sum(w)
        return max(0.0, float((q - (k - 1)) / denom))
    if method == "PM":

        def func(t: float) -> float:
            return generalized_q(t, yi, vi) - (k - 1)
    elif method == "ML":

        def func(t: float) -> float:
            return _ml_score(t, yi, vi)
    elif method == "REML":

        def func(t: float) -> float:
            return _reml_score(t, yi, vi)
    else:  # pragma: no cover - validated by the caller
        raise ValueError(method)
    if func(0.0) <= 0.0:
        return 0.0
    return _decreasing_root(func, scale)


def q_profile_ci(yi: np.ndarray, vi: np.ndarray, level: float) -> tuple[float, float]:
    """Q-profile confidence interval for tau2 (metafor ``confint``), bounds truncated at 0."""
    k = yi.size
    if k < 2:
        return (float("nan"), float("nan"))
    alpha = 1.0 - level
    q0 = generalized_q(0.0, yi, vi)
    scale = float(np.var(yi, ddof=1)) + float(np.mean(vi))
    bounds = []
    for quantile in (1.0 - alpha / 2.0, alpha / 2.0):
        target = float(stats.chi2.ppf(quantile, k - 1))
        if q0 <= target:
            bounds.append(0.0)
            continue

        def func(t: float, target: float = target) -> float:
            return generalized_q(t, yi, vi) - target

        bounds.append(_decreasing_root(func, scale))
    return (bounds[0], bounds[1])
