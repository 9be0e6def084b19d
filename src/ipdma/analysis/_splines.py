"""Non-linear treatment-covariate interactions: restricted cubic splines (Riley et al. 2020).

The treatment effect as a smooth function of a continuous modifier ``x``::

    y_ij = alpha_i + beta_b base_ij + sum_m delta_m Bc_mij + treat_ij (theta + u_i)
           + sum_m gamma_m treat_ij Bc_mij + e_ij

``B_m(x)`` is Harrell's restricted cubic spline basis (``B_1(x) = x``, then k - 2 non-linear
terms; linear beyond the outer knots) with **knots common to all trials** at Harrell's default
quantiles of the pooled ``x`` (k = 4: 5, 35, 65, 95%), and ``Bc = B - mean_i(B)`` is centred
**within trial**, so that the interaction is estimated from within-trial information only (no
ecological bias; the across-trial part is absorbed by the trial intercepts and ``theta``).
The effect at ``x`` is ``theta + gamma' (B(x) - Bbar)``, ``Bbar`` the average of the trials'
means of ``B``.

One stage: the model above by :func:`ipdma.mixed` (REML; random treatment effect by trial).
Two stage: per trial ordinary least squares of the same model without random effects, then a
multivariate random-effects meta-analysis of the trials' ``(theta_i, gamma_i)`` by the method
of moments (Jackson, White & Thompson 2010, Stat Med 29:1282: Q = sum W_i (y_i - ybar)(y_i -
ybar)' matched to its expectation, linear in the between-trial covariance Psi, solved by least
squares and truncated to the positive semi-definite cone). Non-linearity: Wald chi-square test
that the k - 2 non-linear gamma's are jointly zero.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ModelError

__all__ = [
    "HARRELL_QUANTILES",
    "SplineInteraction",
    "harrell_knots",
    "rcs_basis",
    "spline_interaction",
]

HARRELL_QUANTILES = {
    3: (0.10, 0.50, 0.90),
    4: (0.05, 0.35, 0.65, 0.95),
    5: (0.05, 0.275, 0.50, 0.725, 0.95),
    6: (0.05, 0.23, 0.41, 0.59, 0.77, 0.95),
    7: (0.025, 0.1833, 0.3417, 0.50, 0.6583, 0.8167, 0.975),
}


def harrell_knots(x: np.ndarray, n_knots: int = 4) -> np.ndarray:
    """Knots at Harrell's default quantiles (``Hmisc::rcspline.eval``) of the pooled values."""
    if n_knots not in HARRELL_QUANTILES:
        raise ValueError(f"n_knots must be 3 to 7, got {n_knots}")
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    knots = np.quantile(x, HARRELL_QUANTILES[n_knots])
    if np.any(np.diff(knots) <= 0):
        raise ModelError(
            f"the modifier has too few distinct values for {n_knots} spline knots",
            hint="use fewer knots or a linear interaction",
        )
    return knots


def rcs_basis(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Harrell's restricted cubic spline basis (columns x, then k - 2 non-linear terms)::

        B_{j+1}(x) = [(x - t_j)+^3 - (x - t_{k-1})+^3 (t_k - t_j) / (t_k - t_{k-1})
                     + (x - t_k)+^3 (t_{k-1} - t_j) / (t_k - t_{k-1})] / (t_k - t_1)^2

    (``Hmisc::rcspline.eval(norm = 2)``), linear below t_1 and above t_k.
    """
    x = np.asarray(x, dtype=float)
    t = np.asarray(knots, dtype=float)
    k = len(t)

    def cube(v: np.ndarray) -> np.ndarray:
        return np.clip(v, 0, None) ** 3

    columns = [x]
    for j in range(k - 2):
        columns.append(
            (
                cube(x - t[j])
                - cube(x - t[k - 2]) * (t[k - 1] - t[j]) / (t[k - 1] - t[k - 2])
                + cube(x - t[k - 1]) * (t[k - 2] - t[j]) / (t[k - 1] - t[k - 2])
            )
            / (t[k - 1] - t[0]) ** 2
        )
    return np.column_stack(columns)


@dataclass(frozen=True)
class EffectCurve:
    """Treatment effect against the modifier: ``x, estimate, ci_low, ci_high`` (pointwise)."""

    frame: pd.DataFrame


@dataclass(frozen=True)
class SplineInteraction:
    """A spline interaction fitted one-stage and two-stage (see the module docstring).

    Attributes
    ----------
    modifier, knots, centre
        The modifier's name, the common knots, and ``Bbar`` (where the effect is ``theta``).
    one_stage, two_stage : EffectCurve
        Effect curves with pointwise 95% intervals (z) on the ``grid`` of modifier values.
    linear : EffectCurve
        The linear interaction's effect (the same model with ``B_1`` only), for overlay.
    coefficients : DataFrame
        ``method, term, estimate, se`` for theta and the gamma's (one and two stage), and
        the linear interaction's ``treat`` and ``ts1`` (method ``linear``).
    nonlinear_chi2, nonlinear_df, nonlinear_p
        One-stage Wald test that the non-linear gamma's are jointly zero.
    nonlinear_p_two_stage
        The same test on the two-stage pooled coefficients.
    psi
        Between-trial covariance of (theta_i, gamma_i) from the method of moments.
    values
        The modifier's observed values (for the distribution beneath the plot).
    studies, participants
        Trials and participants in the one-stage model.
    """

    modifier: str
    knots: np.ndarray
    centre: np.ndarray
    one_stage: EffectCurve
    two_stage: EffectCurve
    linear: EffectCurve
    coefficients: pd.DataFrame
    nonlinear_chi2: float
    nonlinear_df: int
    nonlinear_p: float
    nonlinear_p_two_stage: float
    psi: np.ndarray
    values: np.ndarray
    studies: int = 0
    participants: int = 0


def _curve(grid: np.ndarray, rows: np.ndarray, beta: np.ndarray, vcov: np.ndarray) -> EffectCurve:
    est = rows @ beta
    se = np.sqrt(np.einsum("ij,jk,ik->i", rows, vcov, rows))
    q = stats.norm.ppf(0.975)
    frame = pd.DataFrame(
        {"x": grid, "estimate": est, "ci_low": est - q * se, "ci_high": est + q * se}
    )
    return EffectCurve(frame)


def _wald(beta: np.ndarray, vcov: np.ndarray) -> tuple[float, float]:
    chi2 = float(beta @ np.linalg.solve(vcov, beta))
    return chi2, float(stats.chi2.sf(chi2, len(beta)))


def _within_trial_centred(basis: np.ndarray, trial: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    frame = pd.DataFrame(basis)
    means = frame.groupby(trial).transform("mean").to_numpy()
    centre = frame.groupby(trial).mean().to_numpy().mean(axis=0)
    return basis - means, centre


def _per_trial(
    y: np.ndarray,
    base: np.ndarray | None,
    treat: np.ndarray,
    centred: np.ndarray,
    trial: np.ndarray,
) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    """OLS per trial of y on 1, base, Bc, treat, treat Bc: (theta_i, gamma_i) and covariance
    (``base`` None when the modifier is the baseline value itself: ``B_1`` is then it)."""
    estimates, covariances, used = [], [], []
    m = centred.shape[1]
    for level in pd.unique(trial):
        rows = trial == level
        t = treat[rows]
        if t.min() == t.max():
            continue
        bc = centred[rows]
        lead = [np.ones(rows.sum())] + ([] if base is None else [base[rows]])
        x = np.column_stack([*lead, bc, t, t[:, None] * bc])
        if rows.sum() <= x.shape[1] + 2 or np.linalg.matrix_rank(x) < x.shape[1]:
            continue
        coef, *_ = np.linalg.lstsq(x, y[rows], rcond=None)
        resid = y[rows] - x @ coef
        s2 = float(resid @ resid) / (rows.sum() - x.shape[1])
        cov = s2 * np.linalg.inv(x.T @ x)
        keep = np.arange(len(lead) + m, len(lead) + 2 * m + 1)
        estimates.append(coef[keep])
        covariances.append(cov[np.ix_(keep, keep)])
        used.append(str(level))
    return estimates, covariances, used


def multivariate_mm(
    estimates: list[np.ndarray], covariances: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Multivariate random-effects meta-analysis, method of moments (Jackson et al. 2010).

    ``Q = sum_i W_i (y_i - ybar)(y_i - ybar)'`` with ``W_i = S_i^-1`` and ``ybar`` the fixed-
    effect mean; ``E[Q] = sum_i W_i sum_j M_ij (S_j + Psi) M_ij'`` with ``M_ij = 1{i=j} I -
    W^-1 W_j`` is linear in Psi: the symmetric Psi matching Q in least squares, with negative
    eigenvalues set to 0. Returns (pooled mean, its covariance, Psi).
    """
    y = np.asarray(estimates)
    s = np.asarray(covariances)
    n, p = y.shape
    w = np.linalg.inv(s)
    w_sum_inv = np.linalg.inv(w.sum(0))
    ybar = w_sum_inv @ np.einsum("iab,ib->a", w, y)
    dev = y - ybar
    q = np.einsum("iab,ib,ic->ac", w, dev, dev)
    eye = np.eye(p)
    m = np.array([[(eye if i == j else 0) - w_sum_inv @ w[j] for j in range(n)] for i in range(n)])

    def expected(psi: np.ndarray, with_s: bool) -> np.ndarray:
        inner = (s if with_s else 0) + psi
        return np.einsum("iab,ijbc,jcd,ijed->ae", w, m, np.broadcast_to(inner, (n, p, p)), m)

    pairs = [(a, b) for a in range(p) for b in range(a, p)]
    design = []
    for a, b in pairs:
        e = np.zeros((p, p))
        e[a, b] = e[b, a] = 1.0
        design.append(expected(e, with_s=False).ravel())
    target = (q - expected(np.zeros((p, p)), with_s=True)).ravel()
    solution, *_ = np.linalg.lstsq(np.array(design).T, target, rcond=None)
    psi = np.zeros((p, p))
    for (a, b), value in zip(pairs, solution, strict=True):
        psi[a, b] = psi[b, a] = value
    values, vectors = np.linalg.eigh(psi)
    psi = (vectors * np.clip(values, 0, None)) @ vectors.T
    w_re = np.linalg.inv(s + psi)
    vcov = np.linalg.inv(w_re.sum(0))
    mean = vcov @ np.einsum("iab,ib->a", w_re, y)
    return mean, vcov, psi


def spline_interaction(
    data: pd.DataFrame,
    modifier: str,
    *,
    outcome: str = "y",
    baseline: str = "base",
    treatment: str = "treat",
    trial: str = "trial",
    n_knots: int = 4,
    grid_size: int = 60,
) -> SplineInteraction:
    """Fit a restricted-cubic-spline treatment-by-modifier interaction one- and two-stage.

    ``data`` has one row per participant with the named columns (a 0/1 ``treatment``);
    rows with a missing value in any of them are dropped. See the module docstring. When
    the modifier is the outcome's baseline value, the spline's main effects replace the
    baseline term (``B_1`` is the baseline value).
    """
    from ..models import mixed

    columns = list(dict.fromkeys([outcome, baseline, treatment, trial, modifier]))
    same = modifier == baseline
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise ModelError(f"spline interaction: no column {missing[0]!r} in the data")
    frame = data[columns].dropna().sort_values(trial, kind="stable").reset_index(drop=True)
    x = frame[modifier].to_numpy(float)
    knots = harrell_knots(x, n_knots)
    trial_ids = frame[trial].astype(str).to_numpy()
    centred, centre = _within_trial_centred(rcs_basis(x, knots), trial_ids)
    m = centred.shape[1]
    names = [f"s{j + 1}" for j in range(m)]
    model = pd.DataFrame(centred, columns=names)
    model["y"] = frame[outcome].to_numpy(float)
    model["base"] = frame[baseline].to_numpy(float)
    model["treat"] = frame[treatment].to_numpy(float)
    model["trial"] = trial_ids
    for name in names:
        model[f"t{name}"] = model["treat"] * model[name]
    interaction = [f"t{name}" for name in names]
    base_term = "" if same else "base + "
    formula = (
        f"y ~ 0 + C(trial) + {base_term}{' + '.join(names)} + treat + {' + '.join(interaction)}"
        " + (0 + treat | trial)"
    )
    linear_formula = f"y ~ 0 + C(trial) + {base_term}s1 + treat + ts1 + (0 + treat | trial)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mixed(formula, model)
        linear = mixed(linear_formula, model[["y", "base", "s1", "treat", "ts1", "trial"]])
    terms = ["treat", *interaction]
    beta = fit.fixef[terms].to_numpy()
    vcov = fit.vcov.loc[terms, terms].to_numpy()

    low, high = np.quantile(x, [0.01, 0.99])
    grid = np.linspace(float(low), float(high), grid_size)
    rows = np.column_stack([np.ones(grid_size), rcs_basis(grid, knots) - centre])
    one_stage = _curve(grid, rows, beta, vcov)
    lin_terms = ["treat", "ts1"]
    linear_curve = _curve(
        grid,
        rows[:, :2],
        linear.fixef[lin_terms].to_numpy(),
        linear.vcov.loc[lin_terms, lin_terms].to_numpy(),
    )
    chi2, p = _wald(beta[2:], vcov[2:, 2:])

    estimates, covariances, used = _per_trial(
        model["y"].to_numpy(), None if same else model["base"].to_numpy(),
        model["treat"].to_numpy(), centred, trial_ids,
    )  # fmt: skip
    if len(used) < 3:
        raise ModelError(
            f"two-stage spline interaction for {modifier!r}: fewer than 3 trials can be fitted "
            "on their own",
            variable=modifier,
        )
    mean, mean_vcov, psi = multivariate_mm(estimates, covariances)
    two_stage = _curve(grid, rows, mean, mean_vcov)
    _, p_two = _wald(mean[2:], mean_vcov[2:, 2:])
    lin_beta = linear.fixef[lin_terms].to_numpy()
    lin_se = np.sqrt(np.diag(linear.vcov.loc[lin_terms, lin_terms].to_numpy()))
    coefficients = pd.DataFrame(
        {
            "method": ["one-stage"] * (m + 1) + ["two-stage"] * (m + 1) + ["linear"] * 2,
            "term": ["treat", *interaction] * 2 + lin_terms,
            "estimate": np.concatenate([beta, mean, lin_beta]),
            "se": np.concatenate([np.sqrt(np.diag(vcov)), np.sqrt(np.diag(mean_vcov)), lin_se]),
        }
    )
    return SplineInteraction(
        modifier=modifier,
        knots=knots,
        centre=centre,
        one_stage=one_stage,
        two_stage=two_stage,
        linear=linear_curve,
        coefficients=coefficients,
        nonlinear_chi2=chi2,
        nonlinear_df=m - 1,
        nonlinear_p=p,
        nonlinear_p_two_stage=p_two,
        psi=psi,
        values=x,
        studies=int(fit.ngroups),
        participants=len(frame),
    )
