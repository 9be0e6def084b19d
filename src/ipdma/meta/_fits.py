"""Per-trial regression fits for the two-stage analysis: OLS, logistic and Poisson (IRLS)."""

from __future__ import annotations

import numpy as np

__all__ = ["logistic_fit", "ols_fit", "poisson_fit"]


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


def poisson_fit(
    X: np.ndarray, y: np.ndarray, offset: np.ndarray, *, max_iter: int = 100, tol: float = 1e-10
) -> tuple[np.ndarray, np.ndarray] | str:
    """Maximum-likelihood Poisson regression, log link, ``log mu = offset + X beta``, by
    Newton-Raphson (= IRLS, as R ``glm(family=poisson, offset=)``).

    Returns coefficients and Wald standard errors (inverse Fisher information
    ``(X' diag(mu) X)^-1``), or a reason: rank deficiency, no events, or a coefficient
    diverging because a level has no events (e.g. none in one arm: the MLE of the rate
    ratio is 0).
    """
    n, p = X.shape
    if n <= p or np.linalg.matrix_rank(X) < p:
        return "too few participants or collinear covariates"
    if not np.any(y > 0):
        return "no events"
    for j in range(1, p):  # a binary covariate (e.g. the arm) with no events at one value
        values = np.unique(X[:, j])
        if values.size == 2 and any(not np.any(y[X[:, j] == v] > 0) for v in values):
            return "no events in one level of a binary covariate (e.g. one arm)"
    beta = np.zeros(p)
    beta[0] = np.log(np.sum(y) / np.sum(np.exp(offset)))  # X[:, 0] is the intercept
    for _ in range(max_iter):
        mu = np.exp(offset + X @ beta)
        info = X.T @ (X * mu[:, None])
        try:
            step = np.linalg.solve(info, X.T @ (y - mu))
        except np.linalg.LinAlgError:
            return "no events in one level (the information matrix is singular)"
        beta = beta + step
        if np.max(np.abs(step)) < tol:  # Newton converges quadratically: beta is exact
            break
    else:
        return "no convergence: the maximum likelihood estimate does not exist"
    mu = np.exp(offset + X @ beta)
    if np.max(np.abs(beta)) > 30 or np.any(mu < 1e-10 * np.exp(offset)):
        return "no events in one level (an estimate diverges: the rate ratio is 0 or infinite)"
    info = X.T @ (X * mu[:, None])
    return beta, np.sqrt(np.diag(np.linalg.inv(info)))
