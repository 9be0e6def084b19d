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

__all__ = ["StackedRows", "joint_fit", "joint_logistic", "posterior_free", "posterior_rows"]

_ITERATIONS = 100
_TOL = 1e-7  # largest coefficient step (standardized predictors)
_HALVINGS = 30


class StackedRows:
    """The fitted trials' observed rows stacked without padding, in trial order: ``xf`` the
    trial-specific columns, ``xc`` the common ones, ``z`` the target, ``trial`` (0..K-1,
    sorted) of each row; every trial has at least one row."""

    def __init__(self, xf, xc, z, trial, n_trials) -> None:
        self.xf, self.xc = np.ascontiguousarray(xf), np.ascontiguousarray(xc)
        self.z, self.trial, self.n_trials = z, trial, n_trials
        self.starts = np.searchsorted(trial, np.arange(n_trials))
        if n_trials and (np.diff(np.r_[self.starts, len(trial)]) < 1).any():
            raise ValueError("every trial needs at least one row")
        # (K, rows): a trial's sum over its rows as a sparse product (values set per use)
        ends = np.r_[self.starts, len(trial)]
        self.summing = sparse.csr_array(
            (np.ones(len(trial)), np.arange(len(trial)), ends), shape=(n_trials, len(trial))
        )

    @classmethod
    def of_padded(cls, xw, z3, use, free) -> StackedRows:
        """From padded arrays (K, n, p), (K, n) and the mask ``use`` (K, n)."""
        n_trials, width, p = xw.shape
        flat = np.flatnonzero(use.reshape(-1))
        rows = xw.reshape(-1, p)[flat]
        return cls(rows[:, free], rows[:, ~free], z3.reshape(-1)[flat], flat // width, n_trials)

    def by_trial(self, values: np.ndarray) -> np.ndarray:
        """Sums of ``values`` (rows, ...) over each trial's rows: (K, ...)."""
        return np.add.reduceat(values, self.starts, axis=0)

    def eta(self, a: np.ndarray, beta: np.ndarray) -> np.ndarray:
        """Linear predictor of every row: xf a_k + xc beta."""
        return np.einsum("nf,nf->n", self.xf, a[self.trial]) + self.xc @ beta

    def loglik(self, eta: np.ndarray) -> np.ndarray:
        """Log-likelihood of each row."""
        return self.z * eta - np.logaddexp(0.0, eta)

    def free_terms(self, eta: np.ndarray) -> tuple[np.ndarray, ...]:
        """Per trial: the information of its own coefficients (K, f, f) and their score
        (K, f); per row: the weight mu (1 - mu) and the residual z - mu."""
        mu = special.expit(eta)
        weight, residual = mu * (1 - mu), self.z - mu
        xf = self.xf
        xfw = xf * weight[:, None]
        info = self.by_trial((xfw[:, :, None] * xf[:, None, :]).reshape(len(xf), -1))
        info = info.reshape(-1, xf.shape[1], xf.shape[1])
        return info, self.by_trial(xf * residual[:, None]), weight, residual


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
    return joint_fit(StackedRows.of_padded(xw, z3, use, free), free, precision, start)


def joint_fit(
    data: StackedRows, free: np.ndarray, precision: np.ndarray, start: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`joint_logistic` on stacked rows."""
    n_trials, p = data.n_trials, len(free)
    f, c = np.flatnonzero(free), np.flatnonzero(~free)
    pf, pc = precision[f], precision[c]
    if start is None or start.shape != (n_trials, p) or not np.isfinite(start).all():
        a, beta = np.zeros((n_trials, len(f))), np.zeros(len(c))
    else:
        a, beta = start[:, f].copy(), start[:, c].mean(axis=0)

    def objective(eta, a, beta) -> float:
        prior = (pf * a**2).sum() + (pc * beta**2).sum()
        return float(data.loglik(eta).sum() - 0.5 * prior)

    eta = data.eta(a, beta)
    value = objective(eta, a, beta)
    for _ in range(_ITERATIONS):
        da, db, a_inv, b_block, s_inv = _newton(data, eta, a, beta, pf, pc)
        step_eta = data.eta(da, db)  # eta is linear in the coefficients
        length = 1.0
        for _ in range(_HALVINGS):
            trial_eta = eta + length * step_eta
            trial_value = objective(trial_eta, a + length * da, beta + length * db)
            if trial_value >= value - 1e-12 * (1 + abs(value)):
                break
            length /= 2
        else:  # no step raised the objective: the last halved one is taken, as it stands
            trial_eta = eta + length * step_eta
            trial_value = objective(trial_eta, a + length * da, beta + length * db)
        a, beta, eta, value = a + length * da, beta + length * db, trial_eta, trial_value
        if max(np.abs(length * da).max(initial=0.0), np.abs(length * db).max(initial=0.0)) < _TOL:
            break
    # the curvature of the last Newton step, at most 1e-7 (in practice about 1e-11) from the
    # optimum, as glm's covariance comes from its last iteration's weights
    coef = np.empty((n_trials, p))
    coef[:, f] = a
    coef[:, c] = beta
    shift = -a_inv @ b_block
    return coef, a_inv, shift, s_inv


def _newton(data: StackedRows, eta, a, beta, precision_f, precision_c):
    """The Newton step (da, db), A_k^-1, B_k and S^-1 at (a, beta), eta the linear
    predictor there."""
    info, score, weight, residual = data.free_terms(eta)
    xf, xc = data.xf, data.xc
    n_free, n_common = xf.shape[1], xc.shape[1]
    a_block = info + np.diag(precision_f)
    b_block = np.empty((data.n_trials, n_free, n_common))
    for j in range(n_free):
        data.summing.data = xf[:, j] * weight
        b_block[:, j] = data.summing @ xc
    # sum_i w_i xc_i xc_i' by a symmetric rank-k update (the upper triangle, mirrored)
    upper = blas.dsyrk(1.0, (xc * np.sqrt(weight)[:, None]).T)
    c_sum = upper + upper.T
    c_sum[np.diag_indices(n_common)] = np.diagonal(upper) + precision_c
    ga = score - precision_f * a
    gb = xc.T @ residual - precision_c * beta
    a_inv = _inverse(a_block)
    bt_ainv = np.swapaxes(b_block, 1, 2) @ a_inv  # (K, c, f)
    schur = c_sum - (bt_ainv @ b_block).sum(axis=0)
    rhs = gb - np.einsum("kcf,kf->c", bt_ainv, ga)
    s_inv = np.linalg.inv(schur)
    db = s_inv @ rhs
    s_inv = (s_inv + s_inv.T) / 2
    da = np.einsum("kfg,kg->kf", a_inv, ga - np.einsum("kfc,c->kf", b_block, db))
    return da, db, a_inv, b_block, s_inv


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
    return posterior_rows(StackedRows.of_padded(xw, z3, use, free), beta, mean, psi, start)


def posterior_rows(
    data: StackedRows, beta: np.ndarray, mean: np.ndarray, psi: np.ndarray, start: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`posterior_free` on stacked rows."""
    precision = 1 / np.maximum(psi, 1e-10)
    offset = data.xc @ beta
    a = np.where(psi > 1e-10, start, mean)

    def value(a):
        eta = np.einsum("nf,nf->n", data.xf, a[data.trial]) + offset
        return data.by_trial(data.loglik(eta)) - 0.5 * (precision * (a - mean) ** 2).sum(axis=1)

    def terms(a):
        info, score, *_ = data.free_terms(np.einsum("nf,nf->n", data.xf, a[data.trial]) + offset)
        return info + np.diag(precision), score - precision * (a - mean)

    current = value(a)
    for _ in range(_ITERATIONS):
        hess, grad = terms(a)
        inverse = _inverse(hess)
        step = (inverse @ grad[:, :, None])[:, :, 0]
        length = np.ones(len(a))
        for _ in range(_HALVINGS):
            trial_value = value(a + length[:, None] * step)
            worse = trial_value < current - 1e-12 * (1 + np.abs(current))
            if not worse.any():
                break
            length[worse] /= 2
        else:  # no step raised every trial's value: the last halved ones are taken
            trial_value = value(a + length[:, None] * step)
        a, current = a + length[:, None] * step, trial_value
        if np.abs(length[:, None] * step).max(initial=0.0) < _TOL:
            break
    return a, inverse  # the curvature of the last Newton step (see joint_fit)


def _inverse(a: np.ndarray) -> np.ndarray:
    """Inverses of (K, f, f) matrices; 2 x 2 ones in closed form (the intercept and the
    treatment coefficient: the usual case, where ``np.linalg.inv`` costs more in overhead)."""
    if a.shape[1:] != (2, 2):
        return np.linalg.inv(a)
    det = a[:, 0, 0] * a[:, 1, 1] - a[:, 0, 1] * a[:, 1, 0]
    if not (np.isfinite(det).all() and (np.abs(det) > 0).all()):
        return np.linalg.inv(a)
    out = np.empty_like(a)
    out[:, 0, 0], out[:, 1, 1] = a[:, 1, 1] / det, a[:, 0, 0] / det
    out[:, 0, 1], out[:, 1, 0] = -a[:, 0, 1] / det, -a[:, 1, 0] / det
    return out
