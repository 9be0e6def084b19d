"""Logistic imputation model with common slopes fitted in one stage (all trials at once).

For a binary z in trial k with predictors x_ik = (f_ik, c_ik): f the columns whose
coefficients are trial-specific (intercept and treatment: each arm's level of z), c those
whose coefficients are common to the trials (the slopes)::

    logit P(z_ik = 1) = f_ik' a_k + c_ik' beta

The parameters maximize the penalized log-likelihood summed over the trials (normal priors
on the standardized coefficients, the common ones counted once), by Newton's method on the
arrowhead Hessian: per-trial blocks A_k (a_k), B_k (a_k with beta) and the sum of the C_k
(beta), solved through the Schur complement S = sum_k (C_k - B_k' A_k^-1 B_k) + prior.

Why not two stages for the common slopes. A two-stage fixed-effect meta-analysis of per-trial
logistic slopes weights each trial by the inverse of a variance evaluated at its own
estimate, and a logistic slope's variance grows with its size (fitted probabilities further
from 1/2): trials whose slope came out large get less weight, so the pooled slope is biased
toward 0 in small trials (in the validity study the outcome's coefficients were 9-12% short
with trials of 60-160 participants, and the imputed interactions in never-measured trials
about 11%; it vanished with trials of 1,000; benchmarks/bench_impute_diagnosis.py). The one-stage fit evaluates every trial's
information at the common slopes (as a stratified logistic regression does).

Returned: a_k and beta; cov(beta) = S^-1 (the trials' intercepts profiled out); the
conditional covariance A_k^-1 of a_k given beta and the shift -A_k^-1 B_k, so that
a_k(beta*) = a_k + shift_k (beta* - beta) follows a draw beta* of the slopes.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse, special
from scipy.linalg import blas

__all__ = ["joint_logistic"]

_ITERATIONS = 100
_TOL = 1e-7  # largest coefficient step (standardized predictors)
_HALVINGS = 30


def joint_logistic(
    xw: np.ndarray,
    z3: np.ndarray,
    use: np.ndarray,
    free: np.ndarray,
    precision: np.ndarray,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fit the model to the trials' padded rows (``xw`` (K, n, p), ``z3``, ``use``).

    ``free`` (p,) marks the trial-specific columns, ``precision`` (p,) the prior precisions;
    ``start`` (K, p; default 0) the coefficients Newton's method starts from (an imputation
    chain passes its previous sweep's estimate of the same model: fewer iterations to the
    same optimum, the convergence criterion and the step halving unchanged).
    Returns ``coef`` (K, p: each trial's a_k, and beta repeated), ``cov_free`` (K, f, f),
    ``shift`` (K, f, c) and ``cov_common`` (c, c).
    """
    n_trials, width, p = xw.shape
    f, c = np.flatnonzero(free), np.flatnonzero(~free)
    # the observed rows only (no padding), in trial order
    flat = np.flatnonzero(use.reshape(-1))
    trial = flat // width
    rows = xw.reshape(-1, p)[flat]
    data = _Rows(rows[:, f], rows[:, c], z3.reshape(-1)[flat], trial, n_trials)
    pf, pc = precision[f], precision[c]
    if start is None or start.shape != (n_trials, p) or not np.isfinite(start).all():
        a, beta = np.zeros((n_trials, len(f))), np.zeros(len(c))
    else:
        a, beta = start[:, f].copy(), start[:, c].mean(axis=0)
    eta = data.eta(a, beta)
    value = data.objective(eta, a, beta, pf, pc)
    for _ in range(_ITERATIONS):
        da, db, *_ = data.newton(eta, a, beta, pf, pc)
        step_eta = data.eta(da, db)  # eta is linear in the coefficients
        length = 1.0
        for _ in range(_HALVINGS):
            trial_eta = eta + length * step_eta
            trial_value = data.objective(trial_eta, a + length * da, beta + length * db, pf, pc)
            if trial_value >= value - 1e-12 * (1 + abs(value)):
                break
            length /= 2
        else:  # no step raised the objective: the last halved one is taken, as it stands
            trial_eta = eta + length * step_eta
            trial_value = data.objective(trial_eta, a + length * da, beta + length * db, pf, pc)
        a, beta, eta, value = a + length * da, beta + length * db, trial_eta, trial_value
        if max(np.abs(length * da).max(initial=0.0), np.abs(length * db).max(initial=0.0)) < _TOL:
            break
    _, _, a_inv, b_block, s_inv = data.newton(eta, a, beta, pf, pc)
    coef = np.empty((n_trials, p))
    coef[:, f] = a
    coef[:, c] = beta
    shift = -a_inv @ b_block
    return coef, a_inv, shift, s_inv


class _Rows:
    """The trials' observed rows stacked without padding, in trial order (``xf``: the
    trial-specific columns, ``xc``: the common ones, ``trial`` of each row)."""

    def __init__(self, xf, xc, z, trial, n_trials) -> None:
        self.xf, self.xc = np.ascontiguousarray(xf), np.ascontiguousarray(xc)
        self.z, self.trial, self.n_trials = z, trial, n_trials
        self.starts = np.searchsorted(trial, np.arange(n_trials))
        self.empty = np.bincount(trial, minlength=n_trials) == 0
        # (K, rows): a trial's sum over its rows as a sparse product (the values are set
        # per use)
        ends = np.r_[self.starts, len(trial)]
        self.summing = sparse.csr_array(
            (np.ones(len(trial)), np.arange(len(trial)), ends), shape=(n_trials, len(trial))
        )

    def by_trial(self, values: np.ndarray) -> np.ndarray:
        """Sums of ``values`` (rows, m) over each trial's rows: (K, m)."""
        if not len(values):
            return np.zeros((self.n_trials, values.shape[1]))
        sums = np.add.reduceat(values, np.minimum(self.starts, len(values) - 1), axis=0)
        sums[self.empty] = 0.0
        return sums

    def eta(self, a: np.ndarray, beta: np.ndarray) -> np.ndarray:
        return np.einsum("nf,nf->n", self.xf, a[self.trial]) + self.xc @ beta

    def objective(self, eta, a, beta, precision_f, precision_c) -> float:
        loglik = (self.z * eta - np.logaddexp(0.0, eta)).sum()
        prior = (precision_f * a**2).sum() + (precision_c * beta**2).sum()
        return float(loglik - 0.5 * prior)

    def newton(self, eta, a, beta, precision_f, precision_c):
        """The Newton step (da, db), A_k^-1, B_k and S^-1 at (a, beta), eta the linear
        predictor there."""
        mu = special.expit(eta)
        weight = mu * (1 - mu)
        residual = self.z - mu
        xf, xc = self.xf, self.xc
        n_rows, n_free, n_common = len(xf), xf.shape[1], xc.shape[1]
        xfw = xf * weight[:, None]
        a_block = self.by_trial((xfw[:, :, None] * xf[:, None, :]).reshape(n_rows, -1))
        a_block = a_block.reshape(-1, n_free, n_free) + np.diag(precision_f)
        b_block = np.empty((self.n_trials, n_free, n_common))
        for j in range(n_free):
            self.summing.data = xfw[:, j]
            b_block[:, j] = self.summing @ xc
        # sum_i w_i xc_i xc_i' by a symmetric rank-k update (the upper triangle, mirrored)
        upper = blas.dsyrk(1.0, (xc * np.sqrt(weight)[:, None]).T)
        c_sum = np.triu(upper) + np.triu(upper, 1).T + np.diag(precision_c)
        ga = self.by_trial(xf * residual[:, None]) - precision_f * a
        gb = xc.T @ residual - precision_c * beta
        a_inv = np.linalg.inv(a_block)
        bt_ainv = np.swapaxes(b_block, 1, 2) @ a_inv  # (K, c, f)
        schur = c_sum - (bt_ainv @ b_block).sum(axis=0)
        s_inv = np.linalg.inv(schur)
        db = s_inv @ (gb - np.einsum("kcf,kf->c", bt_ainv, ga))
        da = np.einsum("kfg,kg->kf", a_inv, ga - np.einsum("kfc,c->kf", b_block, db))
        return da, db, a_inv, b_block, (s_inv + s_inv.T) / 2


def posterior_free(
    xw: np.ndarray,
    z3: np.ndarray,
    use: np.ndarray,
    free: np.ndarray,
    beta: np.ndarray,
    mean: np.ndarray,
    psi: np.ndarray,
    start: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Laplace approximation of each trial's posterior of its own coefficients a_k given the
    common ones ``beta`` and the between-trial distribution a_k ~ N(``mean``, diag ``psi``):
    the mode (K, f) and the inverse curvature there (K, f, f), by Newton's method with step
    halving per trial from ``start``. A coefficient with no between-trial variance is held at
    the mean (its prior precision is set very large)."""
    f, c = np.flatnonzero(free), np.flatnonzero(~free)
    precision = 1 / np.maximum(psi, 1e-10)
    offset = xw[:, :, c] @ beta
    xf = xw[:, :, f]
    a = np.where(psi > 1e-10, start, mean)

    def value(a):
        eta = (xf @ a[:, :, None])[:, :, 0] + offset
        loglik = np.where(use, z3 * eta - np.logaddexp(0.0, eta), 0.0).sum(axis=1)
        return loglik - 0.5 * (precision * (a - mean) ** 2).sum(axis=1)

    def terms(a):
        mu = special.expit((xf @ a[:, :, None])[:, :, 0] + offset)
        weight = np.where(use, mu * (1 - mu), 0.0)
        grad = (np.swapaxes(xf, 1, 2) @ np.where(use, z3 - mu, 0.0)[:, :, None])[:, :, 0]
        hess = np.swapaxes(xf * weight[:, :, None], 1, 2) @ xf + np.diag(precision)
        return hess, grad - precision * (a - mean)

    current = value(a)
    for _ in range(_ITERATIONS):
        hess, grad = terms(a)
        step = np.linalg.solve(hess, grad[:, :, None])[:, :, 0]
        length = np.ones(len(a))
        for _ in range(_HALVINGS):
            worse = value(a + length[:, None] * step) < current - 1e-12 * (1 + np.abs(current))
            if not worse.any():
                break
            length[worse] /= 2
        a = a + length[:, None] * step
        current = value(a)
        if np.abs(length[:, None] * step).max(initial=0.0) < _TOL:
            break
    hess, _ = terms(a)
    return a, np.linalg.inv(hess)
