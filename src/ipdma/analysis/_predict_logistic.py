"""The logistic effect model of individual treatment-effect prediction (global recovery):
fit, the predicted odds ratio and risk difference, and the logistic pieces of its
internal-external cross-validation (see :mod:`ipdma.analysis._predict`).

Model (ML by adaptive Gauss-Hermite quadrature; the grid's structure for logistic models:
stratified intercepts, random treatment effect and random baseline slope, the baseline
centred within trial; Riley et al. 2020, Stat Med 39:2115)::

    logit P(y_ij = 1) = alpha_i + (beta_b + v_i) c(base_ij) + sum_m delta_m x_mij
                        + treat_ij (theta + u_i) + sum_m gamma_m treat_ij (x_mij - xbar_mi)

The predicted treatment effect for a profile z is the log odds ratio ``d(z) = theta +
gamma' (z - xbar)`` (a typical trial, random effects at 0) with the linear model's CI
(z quantiles) and prediction interval ``d -/+ t_{K-2} sqrt(c' V c + tau^2)``. On the risk
scale, for a profile that also gives the baseline value, the comparison-arm risk is
``p0 = expit(eta0)``, ``eta0 = abar + beta_b (base - bbar) + delta' z`` (``abar`` the mean
of the trials' intercepts: the average trial; ``bbar`` the average of the trials' mean
baselines), the exercise-arm risk ``p1 = expit(eta0 + d)`` and the risk difference
``RD = p1 - p0`` (positive: more recover with exercise), with a delta-method CI from the
joint covariance of ``(eta0, d)`` (``dRD/deta0 = p1 (1 - p1) - p0 (1 - p0)``,
``dRD/dd = p1 (1 - p1)``; clipped to [-1, 1]) and a prediction interval from the log odds
ratio's prediction interval at ``p0``.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from ._design import _random_part
from ._splines_models import centred_within
from ._splines_two_stage import logistic_regression

if TYPE_CHECKING:
    from ._predict import EffectModel

__all__ = ["benefit_slope_logistic", "fit_logistic", "group_log_odds_ratio", "risk_columns"]

INTERCEPT, BASELINE = "(intercept)", "(baseline)"


def fit_logistic(
    frame: pd.DataFrame,
    modifiers: tuple[str, ...],
    columns: tuple[str, str, str, str],
    *,
    nagq: int = 7,
    random: tuple[str, ...] = ("treatment", "baseline"),
    correlated: bool = False,
) -> EffectModel:
    """Fit the logistic effect model of the module docstring on complete rows."""
    from ..models import mixed
    from ._predict import EffectModel

    outcome, baseline, treatment, trial = columns
    trial_ids = frame[trial].astype(str).to_numpy()
    base = frame[baseline].to_numpy(float)
    model = pd.DataFrame({
        "y": frame[outcome].to_numpy(float), "baseline": centred_within(base, trial_ids),
        "treat": frame[treatment].to_numpy(float), "trial": trial_ids,
    })  # fmt: skip
    mains, inter = [], []
    for j, name in enumerate(modifiers):
        values = frame[name].to_numpy(float)
        if name != baseline:  # the baseline value's main effect is the baseline term
            model[f"m{j}"] = values
            mains.append(j)
        model[f"g{j}"] = model["treat"] * centred_within(values, trial_ids)
        inter.append(f"g{j}")
    terms = [{"treatment": "treat", "baseline": "baseline"}[r] for r in random]
    fixed = ["0", "C(trial)", "baseline", *(f"m{j}" for j in mains), "treat", *inter]
    formula = "y ~ " + " + ".join(fixed) + _random_part(terms, correlated)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mixed(formula, model, family="binomial", nagq=nagq)
    names = list(fit.fixef.index)
    beta = fit.fixef.to_numpy(float)
    intercepts = [
        i for i, n in enumerate(names) if n.startswith("C(trial)") and np.isfinite(beta[i])
    ]
    rows = {INTERCEPT: {i: 1.0 / len(intercepts) for i in intercepts},
            BASELINE: {names.index("baseline"): 1.0}}  # fmt: skip
    for j in mains:
        rows[f"(main) {modifiers[j]}"] = {names.index(f"m{j}"): 1.0}
    rows["treat"] = {names.index("treat"): 1.0}
    for j, name in enumerate(modifiers):
        rows[name] = {names.index(f"g{j}"): 1.0}
    contrast = np.zeros((len(rows), len(names)))
    for r, weights in enumerate(rows.values()):
        for i, w in weights.items():
            contrast[r, i] = w
    vcov = np.nan_to_num(fit.vcov.to_numpy(float))
    labels = list(rows)
    joint = pd.DataFrame(contrast @ vcov @ contrast.T, index=labels, columns=labels)
    estimates = pd.Series(contrast @ np.nan_to_num(beta), index=labels)
    effect = ["treat", *modifiers]
    vc = fit.varcomp
    tau2 = float(vc.loc[(vc["term1"] == "treat") & vc["term2"].isna(), "variance"].iloc[0])
    centre = frame.groupby(trial)[list(modifiers)].mean().mean()
    base_centre = float(pd.Series(base).groupby(trial_ids).mean().mean())
    return EffectModel(
        modifiers=modifiers, centre=centre,
        coefficients=pd.Series(estimates[effect].to_numpy(), index=effect),
        vcov=joint.loc[effect, effect], tau2=tau2, df=float("inf"),
        n_trials=fit.ngroups, family="binomial", baseline=baseline,
        baseline_centre=base_centre, linear_predictor=estimates, joint_vcov=joint,
    )  # fmt: skip


def risk_columns(
    model: EffectModel, values: pd.DataFrame, base: np.ndarray | None, level: float
) -> dict[str, np.ndarray]:
    """Odds-ratio and risk columns of the logistic prediction (module docstring)."""
    c = np.column_stack([np.ones(len(values)), (values - model.centre).to_numpy()])
    est = c @ model.coefficients.to_numpy()
    se = np.sqrt(np.einsum("ij,jk,ik->i", c, model.vcov.to_numpy(), c))
    q = stats.norm.ppf(0.5 + level / 2)
    q_pi = stats.t.ppf(0.5 + level / 2, max(model.n_trials - 2, 1))
    pi_half = q_pi * np.sqrt(se**2 + model.tau2)
    out = {"odds_ratio": np.exp(est), "or_ci_low": np.exp(est - q * se),
           "or_ci_high": np.exp(est + q * se), "or_pi_low": np.exp(est - pi_half),
           "or_pi_high": np.exp(est + pi_half)}  # fmt: skip
    names = ["risk_comparison", "risk_exercise", "risk_difference", "rd_ci_low", "rd_ci_high",
             "rd_pi_low", "rd_pi_high"]  # fmt: skip
    if base is None:
        return {**out, **{n: np.full(len(values), np.nan) for n in names}}
    lp = model.linear_predictor
    mains = [m for m in model.modifiers if f"(main) {m}" in lp.index]
    prognostic = [INTERCEPT, BASELINE, *(f"(main) {m}" for m in mains)]
    row0 = np.column_stack([np.ones(len(values)), base - model.baseline_centre,
                            *(values[m].to_numpy() for m in mains)])  # fmt: skip
    effect = ["treat", *model.modifiers]
    # rows of (eta0, d) over the joint coefficients (prognostic, effect)
    a = np.hstack([row0, np.zeros_like(c)])
    b = np.hstack([np.zeros_like(row0), c])
    joint = model.joint_vcov.loc[prognostic + effect, prognostic + effect].to_numpy()
    eta0 = row0 @ lp[prognostic].to_numpy()
    p0, p1 = expit(eta0), expit(eta0 + est)
    grad0, grad1 = p1 * (1 - p1) - p0 * (1 - p0), p1 * (1 - p1)
    g = grad0[:, None] * a + grad1[:, None] * b
    rd, rd_se = p1 - p0, np.sqrt(np.einsum("ij,jk,ik->i", g, joint, g))
    return {**out, "risk_comparison": p0, "risk_exercise": p1, "risk_difference": rd,
            "rd_ci_low": np.clip(rd - q * rd_se, -1, 1), "rd_ci_high": np.clip(rd + q * rd_se, -1, 1),
            "rd_pi_low": expit(eta0 + est - pi_half) - p0,
            "rd_pi_high": expit(eta0 + est + pi_half) - p0}  # fmt: skip


def benefit_slope_logistic(
    y: np.ndarray, base: np.ndarray, treat: np.ndarray, predicted: np.ndarray
) -> tuple[float, float]:
    """Calibration slope for benefit in one left-out trial: ``s`` in ``logit P(y = 1) = a +
    b base + c d_hat + treat (c0 + s d_hat)`` (``d_hat`` the predicted log odds ratio; the
    main term of ``d_hat`` dropped when it is collinear with the baseline, i.e. the modifier
    is the baseline value); NaN when the trial's fit separates."""
    x = np.column_stack([np.ones_like(y), base, predicted, treat, treat * predicted])
    if np.linalg.matrix_rank(x[:, :3]) < 3:
        x = x[:, [0, 1, 3, 4]]
    fit = logistic_regression(x, y)
    if isinstance(fit, str):
        return float("nan"), float("nan")
    coef, cov = fit
    return float(coef[-1]), float(np.sqrt(cov[-1, -1]))


def group_log_odds_ratio(
    y: np.ndarray, base: np.ndarray, treat: np.ndarray, trial: np.ndarray
) -> tuple[float, float]:
    """The log odds ratio of treatment in a group of participants: logistic regression on
    trial intercepts, the baseline and treatment. Trials whose outcome does not vary in the
    group are left out (their intercept is infinite and they carry nothing on the effect:
    the exact limit of the likelihood); NaN when the rest separates."""
    keep = pd.Series(y).groupby(trial).transform(lambda v: v.nunique() > 1).to_numpy(bool)
    if keep.sum() < 10:
        return float("nan"), float("nan")
    levels, codes = np.unique(trial[keep], return_inverse=True)
    x = np.column_stack([np.eye(len(levels))[codes], base[keep], treat[keep]])
    fit = logistic_regression(x, y[keep])
    if isinstance(fit, str):
        return float("nan"), float("nan")
    coef, cov = fit
    return float(coef[-1]), float(np.sqrt(cov[-1, -1]))
