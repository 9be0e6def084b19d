"""Stage 2 of the two-stage imputation model and one posterior draw of the missing values
(:mod:`._twostage` states the model and the draw): Paule-Mandel between-trial variances, the
generalised-least-squares mean, each trial's coefficients and residual variances."""

from __future__ import annotations

import numpy as np
from scipy import special

from ._pooled import posterior_rows
from ._rows import _UNIDENTIFIED, TrialLayout, TrialModels

__all__ = ["draw_values"]

_PM_ITERATIONS = 100  # Paule-Mandel: safeguarded Newton steps at most (about 8 are taken)


def _paule_mandel(b: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-coefficient Paule-Mandel tau^2 from trial estimates ``b`` (K, p) and variances
    ``v`` (K, p), and the number of informative trials per coefficient.

    tau^2 solves  Q(tau^2) = sum_k w_k (b_k - mu_w)^2 = K - 1  with  w_k = 1 / (v_k + tau^2)
    (0 when Q(0) is already below K - 1), as metafor's ``rma(method = "PM")``; all
    coefficients at once, by Newton's method on (K - 1) / Q - 1 (nearly linear in tau^2;
    dQ/dtau^2 = -sum_k w_k^2 (b_k - mu_w)^2), safeguarded by bisection: the root stays
    bracketed (Q decreases in tau^2; it is below K - 1 at span^2, see the bound
    K/(4(K-1))), and a Newton step that leaves the bracket is replaced by its midpoint.
    Stops when the steps are below 1e-13 of tau^2 (about 5 evaluations instead of the 60 of
    plain bisection). DerSimonian-Laird's one-step estimate
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
            # Newton's step on (K - 1) / Q - 1, nearly linear in tau^2 (Q falls about as
            # 1 / (v + tau^2)): the step on Q itself, times Q / (K - 1)
            newton = root - value / slope * (value + target[active]) / target[active]
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
