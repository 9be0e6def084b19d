"""One draw of a multilevel imputation model by the two-stage method with trial-specific parameters.

For a variable z (the target) with predictors x (intercept, treatment, outcomes, their
products with the treatment, other covariates), in trial k::

    continuous   z_ik = x_ik' beta_k + e_ik,        e_ik ~ N(0, sigma_k^2)
    binary       logit P(z_ik = 1) = x_ik' beta_k
    beta_k = beta + u_k,  u_k ~ N(0, Psi)            (Psi diagonal; see below)
    log sigma_k^2 ~ N(mu, s^2)                       (heteroscedastic between trials)

Stage 1 fits the model in every trial that observed z (ordinary least squares, or logistic
regression with a weak normal prior N(0, 5^2) on the standardized coefficients, which keeps
sparse or separated trials finite). Columns without variation inside a trial are not
identified there; the trial contributes no information on them (its variance is set to a
large value). Stage 2 meta-analyses the trial estimates b_k (covariance V_k) by a
method-of-moments (DerSimonian-Laird) estimator per coefficient, which gives the diagonal of
Psi, and the generalised-least-squares mean beta.

One imputation draw (Resche-Rigon & White 2018, SMMR 27:1634, the "two-stage" method of
R's micemd; Jolani et al. 2015, Stat Med 34:1841) then takes, all from their approximate
posteriors:

* Psi*_jj = Psi_jj (K_j - 1) / chi2(K_j - 1);   beta* ~ N(beta_hat, (sum (V_k + Psi)^-1)^-1)
* in a trial that observed z:  beta_k* ~ N(beta* + Psi*(Psi*+V_k)^-1 (b_k - beta*),
  Psi* - Psi*(Psi*+V_k)^-1 Psi*) and sigma_k^2* = RSS_k / chi2(n_k - p_k);
* in a trial that never measured z (systematically missing): beta_k* ~ N(beta*, Psi*) and
  log sigma_k^2* ~ N(mu*, s^2) from the observed trials' residual variances;

and draws the missing values from the trial's own model. The between-trial covariance of the
coefficients is taken as diagonal: a simplification of micemd's full-matrix estimator that
keeps stage 2 stable with many predictors and few trials.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg, special

__all__ = ["TrialModels", "draw_values", "fit_trials"]

_UNIDENTIFIED = 1e8  # variance of a coefficient a trial carries no information on
_PRIOR_SD = 5.0  # logistic stage 1: weak prior on standardized coefficients


@dataclass(frozen=True)
class TrialModels:
    """Stage-1 estimates of every trial (rows of ``estimates`` are trials)."""

    estimates: np.ndarray  # (K, p)
    covariances: np.ndarray  # (K, p, p)
    observed: np.ndarray  # (K,) bool: the trial has its own estimate
    residual: np.ndarray  # (K,) residual sum of squares (continuous) or nan
    df: np.ndarray  # (K,) residual df


def _identified(x: np.ndarray) -> np.ndarray:
    """Columns with variation inside the trial (and the intercept, column 0)."""
    keep = np.ptp(x, axis=0) > 1e-12
    keep[0] = True
    return keep


def _ols(x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, int]:
    keep = _identified(x)
    xs = x[:, keep]
    q, r = np.linalg.qr(xs)
    diag = np.abs(np.diag(r))
    rank_ok = diag > 1e-9 * max(diag.max(), 1.0)
    if not rank_ok.all():  # aliased inside the trial: drop the later columns
        idx = np.flatnonzero(keep)
        keep[idx[~rank_ok]] = False
        xs = x[:, keep]
        q, r = np.linalg.qr(xs)
    coef = linalg.solve_triangular(r, q.T @ z)
    resid = z - xs @ coef
    df = len(z) - xs.shape[1]
    rss = float(resid @ resid)
    sigma2 = rss / max(df, 1)
    rinv = linalg.solve_triangular(r, np.eye(r.shape[0]))
    cov_kept = sigma2 * (rinv @ rinv.T)
    return _expand(coef, cov_kept, keep), _expand_cov(cov_kept, keep), rss, df


def _expand(coef: np.ndarray, _cov: np.ndarray, keep: np.ndarray) -> np.ndarray:
    full = np.zeros(len(keep))
    full[keep] = coef
    return full


def _expand_cov(cov: np.ndarray, keep: np.ndarray) -> np.ndarray:
    p = len(keep)
    full = np.zeros((p, p))
    full[np.ix_(keep, keep)] = cov
    full[~keep, ~keep] = _UNIDENTIFIED
    return full


def _logistic(x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Penalized (normal prior) logistic regression by Newton's method."""
    keep = _identified(x)
    xs = x[:, keep]
    precision = np.full(xs.shape[1], 1 / _PRIOR_SD**2)
    precision[0] = 1 / 10.0**2  # the intercept: weaker prior
    beta = np.zeros(xs.shape[1])
    for _ in range(50):
        eta = np.clip(xs @ beta, -30, 30)
        mu = special.expit(eta)
        w = mu * (1 - mu)
        grad = xs.T @ (z - mu) - precision * beta
        hess = (xs * w[:, None]).T @ xs + np.diag(precision)
        step = linalg.solve(hess, grad, assume_a="pos")
        beta = beta + step
        if np.max(np.abs(step)) < 1e-8:
            break
    eta = np.clip(xs @ beta, -30, 30)
    w = special.expit(eta) * (1 - special.expit(eta))
    hess = (xs * w[:, None]).T @ xs + np.diag(precision)
    cov = np.linalg.inv(hess)
    return _expand(beta, cov, keep), _expand_cov(cov, keep)


def fit_trials(
    x: np.ndarray, z: np.ndarray, trial: np.ndarray, n_trials: int, kind: str, min_rows: int
) -> TrialModels:
    """Stage 1: the imputation model fitted in every trial with at least ``min_rows``
    observed values of ``z`` (rows with ``z`` missing are ignored)."""
    p = x.shape[1]
    estimates = np.zeros((n_trials, p))
    covariances = np.tile(np.eye(p) * _UNIDENTIFIED, (n_trials, 1, 1))
    observed = np.zeros(n_trials, dtype=bool)
    residual = np.full(n_trials, np.nan)
    df = np.zeros(n_trials)
    seen = ~np.isnan(z)
    for k in range(n_trials):
        rows = seen & (trial == k)
        if rows.sum() < min_rows:
            continue
        xk, zk = x[rows], z[rows]
        if kind == "binary":
            estimates[k], covariances[k] = _logistic(xk, zk)
        else:
            if np.ptp(zk) == 0:  # constant inside the trial: no residual variance to learn
                continue
            estimates[k], covariances[k], residual[k], df[k] = _ols(xk, zk)
            if df[k] < 1:
                continue
        observed[k] = True
    return TrialModels(estimates, covariances, observed, residual, df)


def _dersimonian_laird(b: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Per-coefficient DerSimonian-Laird tau^2 from trial estimates ``b`` (K, p) and
    variances ``v`` (K, p); coefficients a trial does not inform carry variance 1e8."""
    w = 1 / v
    informative = v < _UNIDENTIFIED / 10
    tau2 = np.zeros(b.shape[1])
    for j in range(b.shape[1]):
        use = informative[:, j]
        if use.sum() < 2:
            continue
        wj, bj = w[use, j], b[use, j]
        mean = (wj @ bj) / wj.sum()
        q = float(wj @ (bj - mean) ** 2)
        c = wj.sum() - (wj**2).sum() / wj.sum()
        tau2[j] = max(0.0, (q - (use.sum() - 1)) / c) if c > 0 else 0.0
    return tau2


def draw_values(
    x: np.ndarray,
    trial: np.ndarray,
    missing: np.ndarray,
    models: TrialModels,
    kind: str,
    rng: np.random.Generator,
) -> np.ndarray:
    """Stage 2 and one posterior draw: imputed values for the rows in ``missing``."""
    obs = np.flatnonzero(models.observed)
    b = models.estimates[obs]
    cov = models.covariances[obs]
    v = np.diagonal(cov, axis1=1, axis2=2)
    tau2 = _dersimonian_laird(b, v)
    n_inform = ((v < _UNIDENTIFIED / 10).sum(axis=0)).astype(float)
    scale = np.where(n_inform > 1, (n_inform - 1) / rng.chisquare(np.maximum(n_inform - 1, 1)), 1)
    psi = np.diag(tau2 * scale)
    total_precision = np.zeros_like(psi)
    weighted = np.zeros(psi.shape[0])
    for bk, ck in zip(b, cov, strict=True):
        inv = np.linalg.inv(ck + np.diag(tau2))
        total_precision += inv
        weighted += inv @ bk
    mean_cov = np.linalg.inv(total_precision)
    beta_hat = mean_cov @ weighted
    beta = rng.multivariate_normal(beta_hat, (mean_cov + mean_cov.T) / 2, method="cholesky")
    log_s2 = np.log(models.residual[obs] / np.maximum(models.df[obs], 1))
    out = np.empty(int(missing.sum()))
    rows_missing = np.flatnonzero(missing)
    trials_missing = trial[rows_missing]
    position = {k: i for i, k in enumerate(obs)}
    for k in np.unique(trials_missing):
        sel = trials_missing == k
        xk = x[rows_missing[sel]]
        if k in position:
            i = position[k]
            gain = psi @ np.linalg.inv(psi + cov[i])
            mean_k = beta + gain @ (b[i] - beta)
            cov_k = psi - gain @ psi
            beta_k = _mvn(rng, mean_k, cov_k)
            if kind != "binary":
                sigma2 = models.residual[obs[i]] / rng.chisquare(models.df[obs[i]])
        else:
            beta_k = _mvn(rng, beta, psi)
            if kind != "binary":
                if len(log_s2) > 1:
                    mu = rng.normal(log_s2.mean(), log_s2.std(ddof=1) / np.sqrt(len(log_s2)))
                    sigma2 = float(np.exp(rng.normal(mu, log_s2.std(ddof=1))))
                else:
                    sigma2 = float(np.exp(log_s2[0]))
        eta = xk @ beta_k
        if kind == "binary":
            out[sel] = (rng.random(len(eta)) < special.expit(eta)).astype(float)
        else:
            out[sel] = eta + np.sqrt(sigma2) * rng.standard_normal(len(eta))
    return out


def _mvn(rng: np.random.Generator, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """A normal draw with a possibly singular covariance (zero variances stay fixed)."""
    cov = (cov + cov.T) / 2
    values, vectors = np.linalg.eigh(cov)
    values = np.clip(values, 0, None)
    return mean + vectors @ (np.sqrt(values) * rng.standard_normal(len(mean)))
