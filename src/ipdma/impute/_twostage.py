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

Every step works on all trials at once (arrays padded to the largest trial): the cost is a
few batched small-matrix operations per variable and iteration, not a Python loop per trial.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special
from scipy.linalg import lapack

from ._pooled import StackedRows, joint_fit, posterior_rows

__all__ = ["FitCache", "ObservedRows", "TrialLayout", "TrialModels", "draw_values", "fit_trials"]

_UNIDENTIFIED = 1e8  # variance of a coefficient a trial carries no information on
_PRIOR_SD = 5.0  # logistic stage 1: weak prior on standardized coefficients
_INTERCEPT_PRIOR_SD = 10.0
_NEWTON_ITERATIONS = 50
_NEWTON_TOL = 1e-7  # largest coefficient step (standardized predictors)
_HALVINGS = 30  # step halvings per Newton iteration
_RANK_TOL = 1e-10  # design ranks: pivots below this share of the largest diagonal are 0
_CERTAIN_CONDITION = 1e8  # a Gram matrix this well conditioned is inverted directly
_PM_ITERATIONS = 100  # Paule-Mandel: safeguarded Newton steps at most (about 8 are taken)


@dataclass(frozen=True)
class TrialLayout:
    """Rows grouped by trial and padded: ``slot[k, j]`` is the row index of the j-th row of
    trial k (``mask`` False in the padding)."""

    slot: np.ndarray  # (K, n_max) int
    mask: np.ndarray  # (K, n_max) bool
    trial: np.ndarray  # (n,) trial code of each row

    @classmethod
    def of(cls, trial: np.ndarray, n_trials: int) -> TrialLayout:
        order = np.argsort(trial, kind="stable")
        counts = np.bincount(trial, minlength=n_trials)
        n_max = int(counts.max()) if len(counts) else 0
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        position = np.arange(len(trial)) - np.repeat(starts, counts)
        slot = np.zeros((n_trials, n_max), dtype=np.intp)
        mask = np.zeros((n_trials, n_max), dtype=bool)
        sorted_trial = trial[order]
        slot[sorted_trial, position] = order
        mask[sorted_trial, position] = True
        return cls(slot, mask, trial)


@dataclass(frozen=True)
class TrialModels:
    """Stage-1 estimates of every trial (rows of ``estimates`` are trials)."""

    estimates: np.ndarray  # (K, p)
    covariances: np.ndarray  # (K, p, p)
    observed: np.ndarray  # (K,) bool: the trial has its own estimate
    residual: np.ndarray  # (K, 2) residual sum of squares by arm (continuous) or nan
    df: np.ndarray  # (K, 2) residual df by arm
    # binary with common slopes, fitted in one stage (:mod:`._pooled`): which coefficients are
    # common, their covariance, and each trial's shift of its own coefficients per unit change
    # of the common ones (covariances then hold the trial's own block given the common ones)
    common: np.ndarray | None = None  # (p,) bool
    common_cov: np.ndarray | None = None  # (c, c)
    shift: np.ndarray | None = None  # (K, p - c, c)
    rows: StackedRows | None = None  # the fitted trials' data


@dataclass(frozen=True)
class ObservedRows:
    """The trials a model is fitted in (``chosen``: at least ``min_rows`` observed values of
    the target) and their observed rows, padded: ``slot[k, j]`` (``use`` False in the
    padding, which repeats the trial's first row); the same stacked without padding
    (``flat``), trial by trial and within a trial arm 0 before arm 1 (for the by-arm
    regression of a continuous target). They depend on where the target is observed, not on the imputed values, so a
    chain computes them once per model."""

    chosen: np.ndarray  # (K_c,) trial codes
    slot: np.ndarray  # (K_c, width) row indices
    use: np.ndarray  # (K_c, width) bool
    counts: np.ndarray  # (K_c,) observed rows
    z3: np.ndarray  # (K_c, width) the target (0 in the padding)
    arm_rows: np.ndarray  # (K_c, 2) observed rows in arm 0 and in arm 1
    present: np.ndarray  # (K_c, 2) bool: the trial has observed rows in the arm
    varies: np.ndarray  # (K_c,) bool: the target is not constant in the trial
    flat: np.ndarray  # (N,) the observed rows, trial by trial, arm 0 first (no padding)
    flat_trial: np.ndarray  # (N,) their trial (0..K_c-1)
    starts: np.ndarray  # (K_c,) where each trial's rows start among them
    z: np.ndarray  # (N,) the target on them

    @classmethod
    def of(cls, z: np.ndarray, layout: TrialLayout, min_rows: int, arm: np.ndarray) -> ObservedRows:
        use_all = layout.mask & ~np.isnan(z)[layout.slot]
        chosen = np.flatnonzero(use_all.sum(axis=1) >= min_rows)
        slot, use = _front(layout.slot[chosen], use_all[chosen])
        z3 = np.where(use, np.nan_to_num(z)[slot], 0.0)
        # the observed rows stacked trial by trial, arm 0 before arm 1 within a trial
        treated = arm[slot] > 0
        order = np.argsort(~use | treated, axis=1, kind="stable")  # arm 0, arm 1, padding
        sorted_use = np.take_along_axis(use, order, axis=1)
        flat = np.take_along_axis(slot, order, axis=1)[sorted_use]
        flat_trial = np.nonzero(sorted_use)[0]
        starts = np.searchsorted(flat_trial, np.arange(len(chosen)))
        arm_rows = np.stack([(use & ~treated).sum(axis=1), (use & treated).sum(axis=1)], axis=1)
        varies = np.asarray(
            np.where(use, z3, -np.inf).max(axis=1) > np.where(use, z3, np.inf).min(axis=1)
        )
        return cls(chosen, slot, use, use.sum(axis=1), z3, arm_rows, arm_rows > 0, varies,
                   flat, flat_trial, starts, np.nan_to_num(z)[flat])  # fmt: skip

    def stacked(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The observed rows of ``x`` stacked (N, p) and which columns vary within each
        trial (K_c, p; the intercept always counts): a column constant in a trial is not
        identified there."""
        out = x[self.flat]
        spread = np.maximum.reduceat(out, self.starts) - np.minimum.reduceat(out, self.starts)
        keep = spread > 1e-12
        keep[:, 0] = True
        return out, keep


def _front(slot: np.ndarray, use: np.ndarray, minimum: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The used entries of each row of ``slot`` moved to the front (stable), trimmed to the
    longest row (at least ``minimum`` wide); the padding repeats the row's first entry."""
    order = np.argsort(~use, axis=1, kind="stable")
    width = max(int(use.sum(axis=1).max(initial=0)), minimum)
    slot = np.take_along_axis(slot, order, axis=1)[:, :width]
    use = np.take_along_axis(use, order, axis=1)[:, :width]
    return np.where(use, slot, slot[:, :1]), use


@dataclass
class FitCache:
    """What a chain keeps of one conditional model between its sweeps: the observed rows,
    and a binary model's last estimates (K, p), where its next Newton iterations start."""

    rows: ObservedRows | None = None
    start: np.ndarray | None = None


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
    pinv, rank = _pinv_rank(xtx, keep)
    coef = (pinv @ xtz[:, :, None])[:, :, 0]
    squares = (rows.z - np.einsum("np,np->n", stacked, coef[rows.flat_trial])) ** 2
    # sums over each (trial, arm) segment (an empty one: 0; a trailing 0 keeps every start
    # a valid index)
    sums = np.add.reduceat(np.r_[squares, 0.0], bounds[:-1])
    arm_rss = np.where(rows.arm_rows.reshape(-1) > 0, sums, 0.0).reshape(n_chosen, 2)
    rss = arm_rss.sum(axis=1)
    dof = (rows.counts - rank).astype(float)
    # each arm's residual df: its rows less the rank of its own design (every predictor's
    # product with the treatment is among the columns: the fit is the by-arm regression)
    arm_dof = rows.arm_rows - _rank(grams).T
    # each arm with observed rows needs its own residual df (an empty arm draws its
    # variance from the other trials' distribution)
    present = rows.present
    fit_ok = (dof >= 1) & rows.varies & ((arm_dof >= 1) | ~present).all(axis=1)
    cov = np.where(fit_ok, rss / np.maximum(dof, 1), 1.0)[:, None, None] * pinv
    # aliased directions (columns collinear within the trial, e.g. a covariate constant
    # in one arm): the trial carries no information along them, like an unidentified
    # column, so its covariance is made positive definite there
    if (rank < p).any():
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


def _pinv_rank(a: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pseudo-inverse and rank of symmetric positive semi-definite matrices (K, p, p) (Gram
    matrices of designs). Rows and columns where ``keep`` (K, p) is False are 0 (unidentified
    columns) and stay 0.

    A matrix whose inverse certifies a condition number below 1e8 (lambda_min >=
    1 / ||A^-1||_F, lambda_max <= ||A||_F; the zero rows and columns set to the identity,
    scaled as the others, for that and back to 0 after) has full rank and is inverted
    directly. The others (exact collinearities: a covariate constant in one arm, a trial with
    one arm) are factored by Cholesky with complete pivoting, stopped at a pivot below 1e-10
    of the largest diagonal entry (:func:`_rank`), A = L L' with L of full column rank r, and
    A^+ = L (L'L)^-2 L'. (numpy's ``pinv`` cut-off, 1e-15 of the largest eigenvalue, lies
    below the rounding level of such a Gram matrix, about 1e-15 to 1e-17 here, and inverted
    part of that noise: the estimates along the aliased directions were noise and their
    variances of either sign up to 1e14.)"""
    p = a.shape[-1]
    pinv = np.empty_like(a)
    rank = keep.sum(axis=1)
    diagonal = np.einsum("kjj->kj", a)
    scale = np.where(keep, diagonal, 0.0).sum(axis=1) / np.maximum(rank, 1)
    filled = a + (~keep * scale[:, None])[:, :, None] * np.eye(p)
    try:
        inverse = np.linalg.inv(filled)
    except np.linalg.LinAlgError:
        certain = np.zeros(len(a), dtype=bool)
    else:
        bound = np.linalg.norm(filled, axis=(1, 2)) * np.linalg.norm(inverse, axis=(1, 2))
        certain = np.isfinite(bound) & (bound < _CERTAIN_CONDITION)
        both = keep[:, :, None] & keep[:, None, :]
        pinv[certain] = np.where(both, inverse, 0.0)[certain]
    for index in np.flatnonzero(~certain):
        pinv[index], rank[index] = _pinv_pivoted(a[index])
    return pinv, rank


def _pinv_pivoted(a: np.ndarray) -> tuple[np.ndarray, int]:
    """Pseudo-inverse and rank of one positive semi-definite matrix by pivoted Cholesky."""
    largest = float(np.diagonal(a).max(initial=0.0))
    if largest <= 0:
        return np.zeros_like(a), 0
    factor, pivots, rank, _ = lapack.dpstrf(a, tol=_RANK_TOL * largest)
    lower = np.zeros((len(a), rank))  # A = L L' with L[pivots] = U' (U the first rank rows)
    lower[pivots - 1] = np.triu(factor)[:rank].T
    middle = np.linalg.inv(lower.T @ lower)
    return lower @ (middle @ middle) @ lower.T, int(rank)


def _rank(a: np.ndarray) -> np.ndarray:
    """Ranks of symmetric positive semi-definite matrices (..., p, p): Cholesky with complete
    pivoting (LAPACK dpstrf), stopped at a pivot below 1e-10 of the largest diagonal entry,
    some seven times faster than the eigenvalues of ``matrix_rank``. A design of standardized
    columns that is exactly rank deficient (e.g. an arm's treatment products, constant there)
    leaves pivots at rounding level (1e-15 to 1e-13 relative); the tolerance sits well above
    them and well below the smallest eigenvalues of the full-rank designs."""
    flat = a.reshape(-1, *a.shape[-2:])
    ranks = np.zeros(len(flat), dtype=int)
    for index, matrix in enumerate(flat):
        largest = float(np.diagonal(matrix).max(initial=0.0))
        if largest > 0:
            ranks[index] = lapack.dpstrf(matrix, tol=_RANK_TOL * largest)[2]
    return ranks.reshape(a.shape[:-2])


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


def _paule_mandel(b: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-coefficient Paule-Mandel tau^2 from trial estimates ``b`` (K, p) and variances
    ``v`` (K, p), and the number of informative trials per coefficient.

    tau^2 solves  Q(tau^2) = sum_k w_k (b_k - mu_w)^2 = K - 1  with  w_k = 1 / (v_k + tau^2)
    (0 when Q(0) is already below K - 1), as metafor's ``rma(method = "PM")``; all
    coefficients at once, by Newton's method on Q, dQ/dtau^2 = -sum_k w_k^2 (b_k - mu_w)^2,
    safeguarded by bisection: the root stays bracketed (Q decreases in tau^2; it is below
    K - 1 at span^2, see the bound K/(4(K-1))), and a Newton step that leaves the bracket is
    replaced by its midpoint. Stops when the steps are below 1e-13 of tau^2 (about 8
    evaluations instead of the 60 of plain bisection). DerSimonian-Laird's one-step estimate
    is biased low when the trials' variances differ widely (a rare category's logit is
    imprecise exactly where it is extreme), which over-shrinks trial-specific intercepts to
    the mean.
    """
    informative = v < _UNIDENTIFIED / 10
    count = informative.sum(axis=0)
    tau2 = np.zeros(b.shape[1])
    top = np.where(informative, b, -np.inf).max(axis=0)
    bottom = np.where(informative, b, np.inf).min(axis=0)
    columns = np.flatnonzero(count >= 2)
    if not len(columns):
        return tau2, count
    # the columns with two or more informative trials; an uninformative trial weighs 0
    weight0 = np.where(informative, 1 / np.where(informative, v, 1.0), 0.0)[:, columns]
    inv_w = np.where(informative, v, np.inf)[:, columns]  # 1 / w_k at tau^2 = 0
    values = np.where(informative, b, 0.0)[:, columns]
    target = (count[columns] - 1).astype(float)

    def excess(at: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        deviation = values[:, at] - (w * values[:, at]).sum(axis=0) / w.sum(axis=0)
        squares = w * deviation**2
        return squares.sum(axis=0) - target[at], -(w * squares).sum(axis=0)

    active = np.arange(len(columns))
    value, slope = excess(active, weight0)
    active = active[value > 0]  # the others: Q(0) <= K - 1, tau^2 = 0
    value, slope = value[value > 0], slope[value > 0]
    low = np.zeros(len(active))
    high = ((top - bottom)[columns][active]) ** 2 + 1e-12
    root = low.copy()
    found = np.zeros(len(columns))
    for _ in range(_PM_ITERATIONS):
        if not len(active):
            break
        low = np.where(value > 0, root, low)
        high = np.where(value > 0, high, root)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = root - value / slope
        inside = np.isfinite(newton) & (newton > low) & (newton < high)
        step = np.where(inside, newton, (low + high) / 2) - root
        step[value == 0] = 0.0  # at the root already
        root = root + step
        done = (np.abs(step) <= 1e-13 * np.abs(root)) | (value == 0)
        found[active[done]] = root[done]
        keep = ~done
        active, root, low, high = active[keep], root[keep], low[keep], high[keep]
        if len(active):
            value, slope = excess(active, 1 / (inv_w[:, active] + root))
    found[active] = root  # not converged in _PM_ITERATIONS steps: the last one
    tau2[columns] = found
    return tau2, count


def draw_values(
    x: np.ndarray,
    missing: np.ndarray,
    layout: TrialLayout,
    models: TrialModels,
    kind: str,
    rng: np.random.Generator,
    arm: np.ndarray,
    random: np.ndarray | None = None,
) -> np.ndarray:
    """Stage 2 and one posterior draw: imputed values for the rows in ``missing`` (``arm``,
    0/1 per row, picks the residual variance of a continuous variable). ``random`` (bool per
    coefficient; default all) marks the coefficients that vary between trials; the others
    are common to all trials (Psi_jj = 0)."""
    n_trials, p = models.estimates.shape
    obs = np.flatnonzero(models.observed)
    if models.common is None:
        coefficients = _trial_coefficients(models.estimates[obs], models.covariances[obs],
                                           obs, n_trials, rng, random)  # fmt: skip
    else:  # common coefficients fitted in one stage: draw them, then each trial's own
        common, free = np.flatnonzero(models.common), np.flatnonzero(~models.common)
        assert models.common_cov is not None and models.shift is not None
        fitted = models.estimates[obs[0], common]
        slopes = _mvn(rng, fitted, models.common_cov)
        own = models.estimates[obs][:, free]
        own = own + np.einsum("kfc,c->kf", models.shift[obs], slopes - fitted)
        cov = models.covariances[obs][:, free][:, :, free]
        mean, psi_diag = _between(own, cov, rng, None)
        coefficients = np.empty((n_trials, p))
        coefficients[:, common] = slopes
        coefficients[:, free] = mean + np.sqrt(psi_diag) * rng.standard_normal(
            (n_trials, len(free))
        )
        # a trial with its own data: the Laplace approximation of its coefficients' posterior
        # given the drawn slopes and between-trial distribution (exact where its likelihood is
        # near normal; a trial whose participants all fall in one category keeps that,
        # where a normal approximation at its own estimate would shrink it to the mean)
        assert models.rows is not None
        mode, mode_cov = posterior_rows(models.rows, slopes, mean, psi_diag, own)
        coefficients[np.ix_(obs, free)] = _mvn_batch(rng, mode, mode_cov)
    rows = np.flatnonzero(missing)
    trials = layout.trial[rows]
    eta = np.einsum("ij,ij->i", x[rows], coefficients[trials])
    if kind == "binary":
        return (rng.random(len(eta)) < special.expit(eta)).astype(float)
    sigma2 = np.column_stack([_residual_variances(models, a, rng) for a in (0, 1)])
    arms = (arm[rows] > 0).astype(np.intp)
    return eta + np.sqrt(sigma2[trials, arms]) * rng.standard_normal(len(eta))


def _between(
    b: np.ndarray, cov: np.ndarray, rng: np.random.Generator, random: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Stage 2: a posterior draw of the mean beta* and the between-trial variances Psi*
    (diagonal) of the coefficients from the trial estimates ``b`` (covariances ``cov``)."""
    p = b.shape[1]
    variances = np.einsum("kjj->kj", cov)
    if random is None:
        tau2, count = _paule_mandel(b, variances)
    else:  # only the coefficients that vary between trials (same arithmetic per column)
        count = (variances < _UNIDENTIFIED / 10).sum(axis=0)
        varying = np.flatnonzero(random)
        tau2 = np.zeros(p)
        columns = (np.ascontiguousarray(b[:, varying]), np.ascontiguousarray(variances[:, varying]))
        tau2[varying] = _paule_mandel(*columns)[0]
    scale = np.where(count > 1, (count - 1) / rng.chisquare(np.maximum(count - 1, 1)), 1.0)
    precision = np.linalg.inv(cov + np.diag(tau2))
    mean_cov = np.linalg.inv(precision.sum(axis=0))
    beta_hat = mean_cov @ np.einsum("kij,kj->i", precision, b)
    return _mvn(rng, beta_hat, (mean_cov + mean_cov.T) / 2), tau2 * scale


def _trial_coefficients(
    b: np.ndarray,
    cov: np.ndarray,
    obs: np.ndarray,
    n_trials: int,
    rng: np.random.Generator,
    random: np.ndarray | None,
) -> np.ndarray:
    """Stage 2 and the posterior draw of every trial's coefficients from the estimates ``b``
    (covariances ``cov``) of the trials ``obs``; the trials without an estimate draw theirs
    from the between-trial distribution."""
    beta, psi_diag = _between(b, cov, rng, random)
    # trial-specific coefficients: conditional on the trial's own estimate where it has one,
    # N(beta + G_k (b_k - beta), Psi - G_k Psi) with the gain G_k = Psi (Psi + V_k)^-1. The
    # rows of G_k are 0 where Psi_jj is (a coefficient common to the trials), and so are
    # the rows and columns of the covariance: only the block of the varying coefficients
    # is computed (with (Psi + V_k)^-1 symmetric, its rows are the solutions for them).
    coefficients = beta + np.sqrt(psi_diag) * rng.standard_normal((n_trials, b.shape[1]))
    vary = np.flatnonzero(psi_diag > 0)
    coefficients[obs] = beta
    if len(vary):
        psi_v = psi_diag[vary]
        total = cov.copy()
        total[:, np.arange(len(psi_diag)), np.arange(len(psi_diag))] += psi_diag
        unit = np.zeros((len(psi_diag), len(vary)))
        unit[vary, np.arange(len(vary))] = 1.0
        rows = np.swapaxes(np.linalg.solve(total, np.broadcast_to(unit, (len(b), *unit.shape))),
                           1, 2)  # fmt: skip
        gain = psi_v[:, None] * rows  # (K_obs, v, p): the rows of G_k that are not 0
        mean_k = beta[vary] + np.einsum("kij,kj->ki", gain, b - beta)
        cov_k = np.diag(psi_v) - gain[:, :, vary] * psi_v
        coefficients[obs[:, None], vary] = _mvn_batch(rng, mean_k, cov_k)
    return coefficients


def _residual_variances(models: TrialModels, arm: int, rng: np.random.Generator) -> np.ndarray:
    """Residual variances of one arm in every trial: the posterior draw RSS / chi2(df) where
    the trial has its own fit in that arm, else a draw from the log-normal distribution of
    the other trials' variances in that arm (with the uncertainty of its centre)."""
    n_trials = len(models.observed)
    residual, df = models.residual[:, arm], models.df[:, arm]
    own = models.observed & np.isfinite(residual) & (df >= 1)
    if not own.any():  # this arm was never observed: the other arm's variances stand in
        residual, df = models.residual[:, 1 - arm], models.df[:, 1 - arm]
        own = models.observed & np.isfinite(residual) & (df >= 1)
    sigma2 = np.empty(n_trials)
    sigma2[own] = residual[own] / rng.chisquare(df[own])
    log_s2 = np.log(residual[own] / df[own])
    others = ~own
    if others.any():
        if len(log_s2) > 1:
            sd = log_s2.std(ddof=1)
            centre = rng.normal(log_s2.mean(), sd / np.sqrt(len(log_s2)))
            sigma2[others] = np.exp(rng.normal(centre, sd, int(others.sum())))
        else:
            sigma2[others] = np.exp(log_s2[0])
    return sigma2


def _mvn(rng: np.random.Generator, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """A normal draw with a possibly singular covariance (zero variances stay fixed)."""
    return _mvn_batch(rng, mean[None, :], cov[None, :, :])[0]


def _mvn_batch(rng: np.random.Generator, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    cov = (cov + np.swapaxes(cov, 1, 2)) / 2
    values, vectors = np.linalg.eigh(cov)
    root = vectors * np.sqrt(np.clip(values, 0, None))[:, None, :]
    return mean + np.einsum("kij,kj->ki", root, rng.standard_normal(mean.shape))
