"""Non-linear treatment-covariate interactions: restricted cubic splines (Riley et al. 2020).

The treatment effect as a smooth function of a continuous modifier ``x``; linear (pain,
function; REML)::

    y_ij = alpha_i + beta_b base_ij + sum_m delta_m Bc_mij + treat_ij (theta + u_i)
           + sum_m gamma_m treat_ij Bc_mij + e_ij,                u_i ~ N(0, tau^2)

and logistic (global recovery; ML by adaptive Gauss-Hermite quadrature), with the grid's
structure for logistic interaction models (the paper's: stratified intercepts, random
treatment effect and random baseline slope, the baseline centred within trial)::

    logit P(y_ij = 1) = alpha_i + (beta_b + v_i) c(base_ij) + sum_m delta_m Bc_mij
                        + treat_ij (theta + u_i) + sum_m gamma_m treat_ij Bc_mij

``B_m(x)`` is Harrell's restricted cubic spline basis (``B_1(x) = x``, then k - 2 non-linear
terms; linear beyond the outer knots) with **knots common to all trials** at Harrell's default
quantiles of the pooled ``x`` (k = 4: 5, 35, 65, 95%), and ``Bc = B - mean_i(B)`` is centred
**within trial**, so that the interaction is estimated from within-trial information only (no
ecological bias; the across-trial part is absorbed by the trial intercepts and ``theta``).
The effect at ``x`` is ``theta + gamma' (B(x) - Bbar)`` (a mean difference, or a log odds
ratio for a typical trial, random effects at 0), ``Bbar`` the average of the trials' means of
``B``. When the modifier is the outcome's baseline value, ``B_1`` is the baseline term.

One stage: the models above by :func:`ipdma.mixed`. Two stage: each trial's own regression
of the same model without random effects (least squares or logistic), then a multivariate
random-effects meta-analysis of the trials' ``(theta_i, gamma_i)`` by the method of moments
(:mod:`ipdma.analysis._splines_two_stage`; trials whose own logistic fit separates are left
out with their reason). Non-linearity: Wald chi-square test that the k - 2 non-linear
gamma's are jointly zero; for the logistic model also the likelihood-ratio test against the
same model with the linear interaction only (both ML fits).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError, ModelError, SpecError
from ._separation import separated_in
from ._splines_models import centred_within, fit_one_stage
from ._splines_two_stage import multivariate_mm, per_trial

__all__ = [
    "HARRELL_QUANTILES",
    "SplineInteraction",
    "harrell_knots",
    "multivariate_mm",
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
    scale
        ``"MD"`` (linear model) or ``"log OR"`` (logistic model): the scale of the curves.
    one_stage, two_stage : EffectCurve
        Effect curves with pointwise 95% intervals (z) on the ``grid`` of modifier values;
        ``two_stage`` is None when fewer than 3 trials could be fitted on their own.
    linear : EffectCurve
        The linear interaction's effect (the same model with ``B_1`` only), for overlay.
    coefficients : DataFrame
        ``method, term, estimate, se`` for theta and the gamma's (one and two stage), and
        the linear interaction's ``treat`` and ``ts1`` (method ``linear``).
    nonlinear_chi2, nonlinear_df, nonlinear_p
        One-stage Wald test that the non-linear gamma's are jointly zero.
    lr_chi2, lr_p
        Logistic model: the likelihood-ratio test of the same hypothesis (NaN for linear).
    nonlinear_p_two_stage
        The Wald test on the two-stage pooled coefficients (NaN without a two-stage fit).
    psi
        Between-trial covariance of (theta_i, gamma_i) from the method of moments.
    values
        The modifier's observed values (for the distribution beneath the plot).
    studies, participants
        Trials and participants in the one-stage model.
    two_stage_trials, left_out
        The trials pooled in the two-stage analysis; ``(trial, reason)`` of those left out.
    separated
        Logistic model: trials whose own data separate the outcome on their trial-specific
        columns (intercept, random effects; :mod:`ipdma.analysis._separation`).
    converged, messages
        Whether every one-stage fit converged; the fits' warnings.
    """

    modifier: str
    knots: np.ndarray
    centre: np.ndarray
    one_stage: EffectCurve
    two_stage: EffectCurve | None
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
    scale: str = "MD"
    lr_chi2: float = math.nan
    lr_p: float = math.nan
    two_stage_trials: tuple[str, ...] = ()
    left_out: tuple[tuple[str, str], ...] = ()
    separated: tuple[str, ...] = ()
    converged: bool = True
    messages: tuple[str, ...] = ()


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


def _model_frame(
    frame: pd.DataFrame,
    columns: tuple[str, str, str, str],
    centred: np.ndarray,
    family: str,
) -> pd.DataFrame:
    outcome, baseline, treatment, trial = columns
    m = centred.shape[1]
    names = [f"s{j + 1}" for j in range(m)]
    model = pd.DataFrame(centred, columns=names)
    model["y"] = frame[outcome].to_numpy(float)
    trial_ids = frame[trial].astype(str).to_numpy()
    base = frame[baseline].to_numpy(float)
    model["base"] = centred_within(base, trial_ids) if family == "binomial" else base
    model["treat"] = frame[treatment].to_numpy(float)
    model["trial"] = trial_ids
    for name in names:
        model[f"t{name}"] = model["treat"] * model[name]
    return model


def _check(
    data: pd.DataFrame, columns: list[str], family: str, names: tuple[str, str, str]
) -> None:
    """The family is known, the columns exist, treatment (and a binomial outcome) are 0/1."""
    outcome, treatment, trial = names
    if family not in ("gaussian", "binomial"):
        raise SpecError(f"family must be 'gaussian' or 'binomial', got {family!r}")
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise ModelError(f"spline interaction: no column {missing[0]!r} in the data")
    complete = data[columns].notna().all(axis=1).to_numpy()
    checked = [(treatment, "treatment")] + ([(outcome, "outcome")] if family == "binomial" else [])
    for name, what in checked:
        values = pd.to_numeric(data[name], errors="coerce")
        bad = complete & ~values.isin([0, 1]).to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            value = data[name].iloc[row]
            raise InputError(
                f"spline interaction: the {what} {name!r} must be 0/1, found {value!r}",
                trial=str(data[trial].iloc[row]),
                variable=name,
                row=row + 1,
                value=value,
                hint=f"code the {what} as 0/1",
            )


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
    family: str = "gaussian",
    nagq: int = 7,
    random: tuple[str, ...] = ("treatment", "baseline"),
    correlated: bool = False,
) -> SplineInteraction:
    """Fit a restricted-cubic-spline treatment-by-modifier interaction one- and two-stage.

    ``data`` has one row per participant with the named columns (a 0/1 ``treatment``; for
    ``family="binomial"`` a 0/1 ``outcome``); rows with a missing value in any of them are
    dropped. See the module docstring. ``nagq``, ``random`` (``"treatment"``,
    ``"baseline"``) and ``correlated`` set the logistic model's quadrature and random
    effects (the grid's ``[analysis.model]`` options ``nagq``, ``random_binomial``,
    ``correlated``); the linear model has a random treatment effect.
    """
    columns = list(dict.fromkeys([outcome, baseline, treatment, trial, modifier]))
    _check(data, columns, family, (outcome, treatment, trial))
    same = modifier == baseline
    frame = data[columns].dropna().sort_values(trial, kind="stable").reset_index(drop=True)
    x = frame[modifier].to_numpy(float)
    knots = harrell_knots(x, n_knots)
    trial_ids = frame[trial].astype(str).to_numpy()
    centred, centre = _within_trial_centred(rcs_basis(x, knots), trial_ids)
    m = centred.shape[1]
    model = _model_frame(frame, (outcome, baseline, treatment, trial), centred, family)
    one = fit_one_stage(model, m, same=same, family=family, nagq=nagq, random=random,
                        correlated=correlated)  # fmt: skip
    low, high = np.quantile(x, [0.01, 0.99])
    grid = np.linspace(float(low), float(high), grid_size)
    rows = np.column_stack([np.ones(grid_size), rcs_basis(grid, knots) - centre])
    chi2, p = _wald(one.beta[2:], one.vcov[2:, 2:])
    stage1 = per_trial(
        model["y"].to_numpy(), None if same else model["base"].to_numpy(),
        model["treat"].to_numpy(), centred, trial_ids, family,
    )  # fmt: skip
    two_stage, p_two = None, math.nan
    mean = np.full(m + 1, math.nan)
    mean_vcov = psi = np.full((m + 1, m + 1), math.nan)
    if len(stage1.used) >= 3:
        mean, mean_vcov, psi = multivariate_mm(stage1.estimates, stage1.covariances)
        two_stage = _curve(grid, rows, mean, mean_vcov)
        _, p_two = _wald(mean[2:], mean_vcov[2:, 2:])
    interaction = [f"ts{j + 1}" for j in range(m)]
    lin_terms = ["treat", "ts1"]
    coefficients = pd.DataFrame(
        {
            "method": ["one-stage"] * (m + 1) + ["two-stage"] * (m + 1) + ["linear"] * 2,
            "term": ["treat", *interaction] * 2 + lin_terms,
            "estimate": np.concatenate([one.beta, mean, one.linear_beta]),
            "se": np.sqrt(np.concatenate([np.diag(one.vcov), np.diag(mean_vcov),
                                          np.diag(one.linear_vcov)])),
        }
    )  # fmt: skip
    separated: tuple[str, ...] = ()
    if family == "binomial":
        own = [c for c, r in (("treat", "treatment"), ("base", "baseline")) if r in random]
        separated = separated_in(model["y"].to_numpy(float), trial_ids, model[own].to_numpy(float))
    return SplineInteraction(
        modifier=modifier,
        knots=knots,
        centre=centre,
        one_stage=_curve(grid, rows, one.beta, one.vcov),
        two_stage=two_stage,
        linear=_curve(grid, rows[:, :2], one.linear_beta, one.linear_vcov),
        coefficients=coefficients,
        nonlinear_chi2=chi2,
        nonlinear_df=m - 1,
        nonlinear_p=p,
        nonlinear_p_two_stage=p_two,
        psi=psi,
        values=x,
        studies=one.studies,
        participants=len(frame),
        scale="log OR" if family == "binomial" else "MD",
        lr_chi2=one.lr_chi2,
        lr_p=one.lr_p,
        two_stage_trials=stage1.used,
        left_out=stage1.left_out,
        separated=separated,
        converged=one.converged,
        messages=one.messages,
    )
