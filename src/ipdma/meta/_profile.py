"""Log-likelihoods of the random-effects (meta-regression) model and the profile-likelihood
confidence interval for tau2.

With ``W = diag(1 / (v + tau2))``, ``beta(tau2) = (X'W X)^-1 X'W y`` and
``RSS(tau2) = sum w_i (y_i - x_i'beta)^2``:

    ll_ML(tau2)   = -1/2 [k log(2 pi) + sum log(v_i + tau2) + RSS]
    ll_REML(tau2) = -1/2 [(k - p) log(2 pi) - log|X'X| + sum log(v_i + tau2)
                          + log|X'W X| + RSS]

as metafor's ``fit.stats`` (``REMLf = TRUE``). The profile-likelihood CI (Hardy & Thompson
1996; metafor ``confint(type = "PL")``) is ``{tau2 : 2 (ll(hat) - ll(tau2)) <= chi2_1(level)}``
with the likelihood the fit maximised (ML or REML), bounds truncated at 0.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats

from ._tau2 import decreasing_root

__all__ = ["loglik", "profile_ci"]


def loglik(tau2: float, yi: np.ndarray, vi: np.ndarray, x: np.ndarray, *, reml: bool) -> float:
    """The (restricted) log-likelihood at ``tau2`` with beta profiled out."""
    k, p = x.shape
    w = 1.0 / (vi + tau2)
    xtwx = x.T @ (x * w[:, None])
    beta = np.linalg.solve(xtwx, x.T @ (w * yi))
    rss = float(np.sum(w * (yi - x @ beta) ** 2))
    if not reml:
        return float(-0.5 * (k * np.log(2 * np.pi) + np.sum(np.log(vi + tau2)) + rss))
    _, logdet_xtwx = np.linalg.slogdet(xtwx)
    _, logdet_xtx = np.linalg.slogdet(x.T @ x)
    return float(
        -0.5
        * ((k - p) * np.log(2 * np.pi) - logdet_xtx + np.sum(np.log(vi + tau2)) + logdet_xtwx + rss)
    )


def profile_ci(
    yi: np.ndarray, vi: np.ndarray, x: np.ndarray, tau2: float, level: float, *, reml: bool
) -> tuple[float, float]:
    """Profile-likelihood CI for tau2 around the ML/REML estimate ``tau2``."""
    crit = float(stats.chi2.ppf(level, 1))
    best = loglik(tau2, yi, vi, x, reml=reml)

    def excess(t: float) -> float:  # negative inside the interval
        return 2.0 * (best - loglik(t, yi, vi, x, reml=reml)) - crit

    scale = float(np.var(yi, ddof=1)) + float(np.mean(vi))
    if tau2 <= 0.0 or excess(0.0) <= 0.0:
        lower = 0.0
    else:
        # excess decreases from 0 to the estimate: its root on [0, tau2]
        lower = float(optimize.brentq(excess, 0.0, tau2, xtol=1e-15, rtol=1e-15))
    upper = decreasing_root(lambda t: -excess(t), max(scale, 2.0 * tau2), low=tau2)
    return (lower, upper)
