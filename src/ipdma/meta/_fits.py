"""Per-trial regression fits for the two-stage analysis: OLS and logistic (IRLS)."""

from __future__ import annotations

import numpy as np

__all__ = ["logistic_fit", "ols_fit"]


def ols_fit(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """OLS coefficients and standard errors ``sqrt(s^2 diag((X'X)^-1))``, ``s^2 = RSS/(n-p)``
    (as R ``lm``); ``None`` when ``X`` is rank deficient or ``n <= p``."""
    n, p = X.shape
    if n <= p or np.linalg.matrix_rank(X) < p:
        return None
    q, r = np.linalg.qr(X)
    beta = np.linalg.solve(r, q.T @ y)
    resid = y - X @ beta
    s2 = float(resid @ resid) / (n - p)
    r_inv = np.linalg.inv(r)
    cov = s2 * (r_inv @ r_inv.T)
    return beta, np.sqrt(np.diag(cov))


def logistic_fit(
    X: np.ndarray, y: np.ndarray, *, max_iter: int = 100, tol: float = 1e-12
) -> tuple[np.ndarray, np.ndarray] | str:
    """Maximum-likelihood logistic regression by Newton-Raphson (= IRLS, as R ``glm``).

    Returns coefficients and Wald standard errors from the inverse Fisher information, or a
    reason string when the fit is not possible: rank deficiency, no variation in ``y``, or
    (quasi-)complete separation (fitted probabilities reaching 0 or 1 while the deviance
    keeps falling, so the MLE does not exist).
    """
    n, p = X.shape
    if n <= p or np.linalg.matrix_rank(X) < p:
        return "too few participants or collinear covariates"
    if np.all(y == y[0]):
        return "no variation in the outcome"
    beta = np.zeros(p)
    deviance = np.inf
    for _ in range(max_iter):
        eta = X @ beta
        prob = 1.0 / (1.0 + np.exp(-eta))
        weight = prob * (1.0 - prob)
        info = X.T @ (X * weight[:, None])
        try:
            step = np.linalg.solve(info, X.T @ (y - prob))
        except np.linalg.LinAlgError:
            return "separation (the information matrix is singular)"
        beta = beta + step
        eta = X @ beta
        new_dev = float(-2.0 * np.sum(y * eta - np.logaddexp(0.0, eta)))
        if abs(deviance - new_dev) < tol * (abs(new_dev) + 0.1):
            deviance = new_dev
            break
        deviance = new_dev
    else:
        return "separation (no convergence: the maximum likelihood estimate does not exist)"
    prob = 1.0 / (1.0 + np.exp(-(X @ beta)))
    if np.any(np.minimum(prob, 1.0 - prob) < 1e-8) or np.max(np.abs(beta)) > 30:
        return "separation (fitted probabilities of 0 or 1)"
    info = X.T @ (X * (prob * (1.0 - prob))[:, None])
    return beta, np.sqrt(np.diag(np.linalg.inv(info)))
