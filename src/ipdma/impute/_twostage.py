"""One draw of a multilevel imputation model by the two-stage method with trial-specific parameters.

For a variable z (the target) with predictors x (intercept, treatment, outcomes, their
products with the treatment, other covariates), in trial k::

    continuous   z_ik = x_ik' beta_k + e_ik,        e_ik ~ N(0, sigma_{k,a(i)}^2)
    binary       logit P(z_ik = 1) = x_ik' beta_k
    beta_k = beta + u_k,  u_k ~ N(0, Psi)            (Psi diagonal; see below)
    log sigma_{k,a}^2 ~ N(mu_a, s_a^2)               (heteroscedastic between trials)

with a(i) the arm of participant i: the residual variance is specific to the trial and the
arm (the caller's predictors hold every predictor's product with the treatment, so the model
is the by-arm regression of each trial, and the variance must follow it: with a
treatment-covariate interaction the covariate's residual variance given the outcome differs
between the arms).

Stage 1 fits the model in every trial that observed z (least squares with one residual sum of
squares per arm, or logistic regression
with a weak normal prior N(0, 5^2) on the standardized coefficients, which keeps sparse or
separated trials finite). Columns without variation inside a trial are not identified
there; the trial contributes no information on them (its variance is set to a large value).
A binary z whose slopes are common to the trials is fitted in one stage over the trials
instead (:mod:`._pooled`: two-stage pooling of logistic slopes is biased toward 0 in small
trials), and the draw of its trial coefficients uses the Laplace approximation of their
posterior. Stage 2 meta-analyses the trial estimates b_k (covariance V_k) by the Paule-Mandel
estimator per coefficient, which gives the diagonal of Psi, and the
generalised-least-squares mean beta.

One imputation draw (Resche-Rigon & White 2018, SMMR 27:1634, the "two-stage" method of
R's micemd; Jolani et al. 2015, Stat Med 34:1841) then takes, all from their approximate
posteriors:

* Psi*_jj = Psi_jj (K_j - 1) / chi2(K_j - 1);   beta* ~ N(beta_hat, (sum (V_k + Psi)^-1)^-1)
* in a trial that observed z:  beta_k* ~ N(beta* + Psi*(Psi*+V_k)^-1 (b_k - beta*),
  Psi* - Psi*(Psi*+V_k)^-1 Psi*) and sigma_{k,a}^2* = RSS_{k,a} / chi2(n_{k,a} - p_{k,a});
* in a trial that never measured z (systematically missing): beta_k* ~ N(beta*, Psi*) and
  log sigma_{k,a}^2* ~ N(mu_a*, s_a^2) from the observed trials' residual variances in arm a;

and draws the missing values from the trial's own model. The between-trial covariance of the
coefficients is taken as diagonal: a simplification of micemd's full-matrix estimator that
keeps stage 2 stable with many predictors and few trials.

Every step works on all trials at once (the observed rows stacked without padding, or padded
to the largest trial): the cost is a few batched small-matrix operations per variable and
iteration, not a Python loop per trial. Stage 2 and the draw: :mod:`._stage2`; the trials'
rows: :mod:`._rows`; pseudo-inverses and ranks: :mod:`._linalg`.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from ._linalg import pinv_rank, rank
from ._pooled import StackedRows, joint_fit
from ._rows import _UNIDENTIFIED, FitCache, ObservedRows, TrialLayout, TrialModels

# _paule_mandel: for benchmarks/bench_impute_diagnosis.py
from ._stage2 import _paule_mandel, draw_values  # noqa: F401

__all__ = ["FitCache", "ObservedRows", "TrialLayout", "TrialModels", "draw_values", "fit_trials"]

_PRIOR_SD = 5.0  # logistic stage 1: weak prior on standardized coefficients
_INTERCEPT_PRIOR_SD = 10.0
_NEWTON_ITERATIONS = 50
_NEWTON_TOL = 1e-7  # largest coefficient step (standardized predictors)
_HALVINGS = 30  # step halvings per Newton iteration


def _identified(x3: np.ndarray) -> np.ndarray:
    """(K, p): columns with variation among the rows of each trial (the padding repeats a
    used row; the intercept always counts)."""
    keep = (x3.max(axis=1) - x3.min(axis=1)) > 1e-12
    keep[:, 0] = True
    return keep


def _expand_unidentified(cov: np.ndarray, keep: np.ndarray) -> np.ndarray:
    if keep.all():
        return cov
    both = keep[:, :, None] & keep[:, None, :]
    cov = np.where(both, cov, 0.0)
    diag = np.einsum("kjj->kj", cov)
    diag[~keep] = _UNIDENTIFIED
    return cov


def fit_trials(
    x: np.ndarray,
    z: np.ndarray,
    layout: TrialLayout,
    kind: str,
    min_rows: int,
    arm: np.ndarray,
    random: np.ndarray | None = None,
    cache: FitCache | None = None,
) -> TrialModels:
    """Stage 1: the imputation model fitted in every trial with at least ``min_rows``
    observed values of ``z`` (rows with ``z`` missing are ignored); ``arm`` (0/1 per row)
    splits the residual sum of squares of a continuous ``z``. ``random`` (bool per
    coefficient; default all) marks the trial-specific coefficients: for a binary ``z`` the
    common ones are fitted jointly over the trials (:mod:`._pooled`), not in two stages.
    ``cache`` (a chain's, one per model) keeps the observed rows and a binary model's
    estimates between sweeps: its next fit starts from them (default: from 0; the optimum
    and the convergence criterion are the same)."""
    n_trials, p = layout.slot.shape[0], x.shape[1]
    estimates = np.zeros((n_trials, p))
    covariances = np.tile(np.eye(p) * _UNIDENTIFIED, (n_trials, 1, 1))
    residual = np.full((n_trials, 2), np.nan)
    df = np.zeros((n_trials, 2))
    observed = np.zeros(n_trials, dtype=bool)
    rows = cache.rows if cache is not None else None
    if rows is None:
        rows = ObservedRows.of(z, layout, min_rows, arm)
        if cache is not None:
            cache.rows = rows
    chosen, use, z3 = rows.chosen, rows.use, rows.z3
    if not len(chosen):
        return TrialModels(estimates, covariances, observed, residual, df)
    if kind != "binary":
        return _linear(x, rows, n_trials, p)
    start = None if cache is None or cache.start is None else cache.start[chosen]
    common = None if random is None or random.all() else ~random
    if common is not None:
        models = _joint(x, z, rows, n_trials, common, start)
        if cache is not None:
            cache.start = models.estimates
        return models
    x3 = x[rows.slot]
    keep = _identified(x3)
    xw = x3 if keep.all() else x3 * keep[:, None, :]
    coef, cov = _logistic(xw, z3, use, start)
    fit_ok = np.ones(len(chosen), dtype=bool)
    if cache is not None:
        cache.start = np.zeros((n_trials, p))
        cache.start[chosen] = np.where(keep, coef, 0.0)
    good = chosen[fit_ok]
    observed[good] = True
    estimates[good] = np.where(keep, coef, 0.0)[fit_ok]
    covariances[good] = _expand_unidentified(cov, keep)[fit_ok]
    return TrialModels(estimates, covariances, observed, residual, df)


def _linear(x: np.ndarray, rows: ObservedRows, n_trials: int, p: int) -> TrialModels:
    """Stage 1 of a continuous target: least squares in every trial, with the residual sum of
    squares and df of each arm."""
    chosen = rows.chosen
    estimates = np.zeros((n_trials, p))
    covariances = np.tile(np.eye(p) * _UNIDENTIFIED, (n_trials, 1, 1))
    residual = np.full((n_trials, 2), np.nan)
    df = np.zeros((n_trials, 2))
    observed = np.zeros(n_trials, dtype=bool)
    # each arm's Gram matrix (its rows are consecutive among the stacked ones), whose sum
    # is the trial's; the unidentified columns are set to 0 there
    stacked, keep = rows.stacked(x)
    n_chosen = len(chosen)
    grams = np.zeros((2, n_chosen, p, p))
    bounds = np.cumsum(np.r_[0, rows.arm_rows.reshape(-1)])
    for index in np.flatnonzero(rows.arm_rows.reshape(-1)):
        block = stacked[bounds[index] : bounds[index + 1]]
        grams[index % 2, index // 2] = block.T @ block
    xtz = np.add.reduceat(stacked * rows.z[:, None], rows.starts)
    if not keep.all():
        grams *= keep[:, :, None] & keep[:, None, :]
        xtz = xtz * keep
    xtx = grams[0] + grams[1]
    pinv, full_rank = pinv_rank(xtx, keep)
    coef = (pinv @ xtz[:, :, None])[:, :, 0]
    squares = (rows.z - np.einsum("np,np->n", stacked, coef[rows.flat_trial])) ** 2
    # sums over each (trial, arm) segment (an empty one: 0; a trailing 0 keeps every start
    # a valid index)
    sums = np.add.reduceat(np.r_[squares, 0.0], bounds[:-1])
    arm_rss = np.where(rows.arm_rows.reshape(-1) > 0, sums, 0.0).reshape(n_chosen, 2)
    rss = arm_rss.sum(axis=1)
    dof = (rows.counts - full_rank).astype(float)
    # each arm's residual df: its rows less the rank of its own design (every predictor's
    # product with the treatment is among the columns: the fit is the by-arm regression)
    arm_dof = rows.arm_rows - rank(grams).T
    # each arm with observed rows needs its own residual df (an empty arm draws its
    # variance from the other trials' distribution)
    present = rows.present
    fit_ok = (dof >= 1) & rows.varies & ((arm_dof >= 1) | ~present).all(axis=1)
    cov = np.where(fit_ok, rss / np.maximum(dof, 1), 1.0)[:, None, None] * pinv
    # aliased directions (columns collinear within the trial, e.g. a covariate constant
    # in one arm): the trial carries no information along them, like an unidentified
    # column, so its covariance is made positive definite there
    if (full_rank < p).any():
        aliased = np.eye(p) - pinv @ xtx
        cov = cov + _UNIDENTIFIED * (aliased + np.swapaxes(aliased, 1, 2)) / 2
    arm_ok = fit_ok[:, None] & present & (arm_dof >= 1)
    residual[chosen] = np.where(arm_ok, arm_rss, np.nan)
    df[chosen] = np.where(arm_ok, arm_dof, 0.0)
    good = chosen[fit_ok]
    observed[good] = True
    estimates[good] = np.where(keep, coef, 0.0)[fit_ok]
    covariances[good] = _expand_unidentified(cov, keep)[fit_ok]
    return TrialModels(estimates, covariances, observed, residual, df)


def _joint(x, z, rows: ObservedRows, n_trials, common, start) -> TrialModels:
    """Binary z with common slopes: one-stage penalized logistic fit (see :mod:`._pooled`),
    on the observed rows stacked without padding."""
    p, chosen = x.shape[1], rows.chosen
    stacked, keep = rows.stacked(x)
    if not keep.all():
        stacked = stacked * keep[rows.flat_trial]
    data = StackedRows(stacked[:, ~common], stacked[:, common], z[rows.flat], rows.flat_trial,
                       len(chosen))  # fmt: skip
    precision = np.full(p, 1 / _PRIOR_SD**2)
    precision[0] = 1 / _INTERCEPT_PRIOR_SD**2
    coef, cov_free, shift, common_cov = joint_fit(data, ~common, precision, start)
    free = np.flatnonzero(~common)
    estimates = np.zeros((n_trials, p))
    covariances = np.tile(np.eye(p) * _UNIDENTIFIED, (n_trials, 1, 1))
    observed = np.zeros(n_trials, dtype=bool)
    observed[chosen] = True
    estimates[chosen] = coef
    estimates[chosen[:, None], free] = np.where(keep[:, free], coef[:, free], 0.0)
    block = _expand_unidentified(cov_free, keep[:, free])
    covariances[np.ix_(chosen, free, free)] = block
    shifts = np.zeros((n_trials, len(free), int(common.sum())))
    shifts[chosen] = np.where(keep[:, free, None], shift, 0.0)
    nan = np.full((n_trials, 2), np.nan)
    return TrialModels(estimates, covariances, observed, nan, np.zeros((n_trials, 2)),
                       common, common_cov, shifts, data)  # fmt: skip


def _logistic(
    xw: np.ndarray, z3: np.ndarray, use: np.ndarray, start: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Penalized (normal prior) logistic regression in every trial at once: Newton's method
    with step halving (each step must raise the penalized log-likelihood of its trial; full
    Newton steps from a poor start can overshoot into saturation and diverge), from
    ``start`` (K, p; default 0)."""
    n_trials, _, p = xw.shape
    precision = np.full(p, 1 / _PRIOR_SD**2)
    precision[0] = 1 / _INTERCEPT_PRIOR_SD**2
    if start is not None and start.shape == (n_trials, p) and np.isfinite(start).all():
        beta = start.copy()
    else:
        beta = np.zeros((n_trials, p))
    value = _penalized_loglik(xw, z3, use, beta, precision)
    for _ in range(_NEWTON_ITERATIONS):
        hess, grad = _logistic_terms(xw, z3, use, beta, precision)
        step = np.linalg.solve(hess, grad[:, :, None])[:, :, 0]
        length = np.ones(n_trials)
        for _ in range(_HALVINGS):
            trial_beta = beta + length[:, None] * step
            trial_value = _penalized_loglik(xw, z3, use, trial_beta, precision)
            worse = trial_value < value - 1e-12 * (1 + np.abs(value))
            if not worse.any():
                break
            length[worse] /= 2
        beta = beta + length[:, None] * step
        value = _penalized_loglik(xw, z3, use, beta, precision)
        if np.max(np.abs(length[:, None] * step)) < _NEWTON_TOL:
            break
    hess, _ = _logistic_terms(xw, z3, use, beta, precision)
    return beta, np.linalg.inv(hess)


def _penalized_loglik(xw, z3, use, beta, precision) -> np.ndarray:
    eta = (xw @ beta[:, :, None])[:, :, 0]
    loglik = np.where(use, z3 * eta - np.logaddexp(0.0, eta), 0.0).sum(axis=1)
    return loglik - 0.5 * (precision * beta**2).sum(axis=1)


def _logistic_terms(xw, z3, use, beta, precision):
    mu = special.expit((xw @ beta[:, :, None])[:, :, 0])
    weight = np.where(use, mu * (1 - mu), 0.0)
    residual = np.where(use, z3 - mu, 0.0)
    grad = (np.swapaxes(xw, 1, 2) @ residual[:, :, None])[:, :, 0] - precision * beta
    hess = np.swapaxes(xw * weight[:, :, None], 1, 2) @ xw + np.diag(precision)
    return hess, grad
