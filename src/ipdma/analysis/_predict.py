"""Individual treatment-effect prediction from a one-stage IPD-MA model (Riley et al. 2020;
Belias et al. 2022 for the internal-external cross-validation of benefit).

The model (linear, REML; random treatment effect by trial, modifiers centred within trial so
that the interactions are within-trial)::

    y_ij = alpha_i + beta_b base_ij + sum_m delta_m x_mij + treat_ij (theta + u_i)
           + sum_m gamma_m treat_ij (x_mij - xbar_mi) + e_ij,    u_i ~ N(0, tau^2)

The predicted effect of exercise vs comparison for a profile z is
``d(z) = theta + gamma' (z - xbar)`` (``xbar`` the average of the trials' means), with
a confidence interval from ``c' V c`` (``c = (1, z - xbar)``, V the fixed effects' covariance,
t quantiles with the model's df of theta) and a prediction interval for the effect in a new
trial ``d(z) -/+ t_{K-2} sqrt(c' V c + tau^2)`` (Higgins, Thompson & Spiegelhalter 2009;
K trials).

Internal-external cross-validation: each trial in turn is left out, the model refitted on the
others and the effect predicted for the left-out participants, ``d_hat``. Per trial, the
calibration slope for benefit is ``s`` in ``y = a + b base + c d_hat + treat (c0 + s d_hat)
+ e`` fitted by least squares in that trial (1 = predicted differences in benefit are right,
< 1 = too extreme); the slopes are pooled by DerSimonian-Laird. The c-for-benefit (van Klaveren et al. 2018, J Clin Epidemiol 94:59) pairs each treated
participant with the comparison participant of the nearest predicted effect (by rank), and is
the concordance between the pairs' predicted and observed effects (y_treated - y_comparison).

Global recovery (``family="binomial"``): the logistic effect model of
:mod:`ipdma.analysis._predict_logistic`; the predicted effect is a log odds ratio (with the
odds ratio and, given the baseline value, the risk difference). In the cross-validation the
calibration slope for benefit is ``s`` in the logistic regression ``logit P(y = 1) = a +
b base + c d_hat + treat (c0 + s d_hat)`` in the left-out trial (``d_hat`` the predicted log
odds ratio), and the c-for-benefit matches pairs on the predicted risk difference (absolute
benefit, as van Klaveren et al. define it for binary outcomes) and compares it with the
pair's observed benefit, recovered(exercise) - recovered(comparison), in {-1, 0, 1}.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError, ModelError, SpecError
from ._benefit import _c_for_benefit, _calibration_slope, calibration_groups
from ._predict_logistic import (
    benefit_slope_logistic,
    fit_logistic,
    risk_columns,
)

_MIN_PER_ARM = 5  # a left-out trial needs this many participants per arm to be assessed

__all__ = [
    "BenefitCalibration",
    "EffectModel",
    "calibration_groups",
    "fit_effect_model",
    "iecv",
    "predict_effect",
]


@dataclass(frozen=True)
class EffectModel:
    """A fitted effect model: ``theta``, ``gamma`` (by modifier), their covariance, tau^2.

    ``family`` is ``gaussian`` (effects are mean differences) or ``binomial`` (log odds
    ratios); a logistic model also keeps the name of the ``baseline`` column, the average
    of the trials' mean baselines, and the control-arm linear predictor's coefficients
    (``linear_predictor``: the mean trial intercept, baseline and modifier main effects)
    with their joint covariance with the effect coefficients (``joint_vcov``), for the
    risk difference (:mod:`ipdma.analysis._predict_logistic`)."""

    modifiers: tuple[str, ...]
    centre: pd.Series
    coefficients: pd.Series
    vcov: pd.DataFrame
    tau2: float
    df: float
    n_trials: int
    family: str = "gaussian"
    baseline: str = ""
    baseline_centre: float = float("nan")
    linear_predictor: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    joint_vcov: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def scale(self) -> str:
        """``"MD"`` or ``"log OR"``."""
        return "log OR" if self.family == "binomial" else "MD"


def _prepare(data, modifiers, outcome, baseline, treatment, trial):
    columns = list(dict.fromkeys([outcome, baseline, treatment, trial, *modifiers]))
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise InputError(f"no column {missing[0]!r} in the data", variable=missing[0])
    return data[columns].dropna().reset_index(drop=True)


def fit_effect_model(
    data: pd.DataFrame,
    modifiers: tuple[str, ...] | list[str],
    *,
    outcome: str = "y",
    baseline: str = "base",
    treatment: str = "treat",
    trial: str = "trial",
    family: str = "gaussian",
    nagq: int = 7,
    random: tuple[str, ...] = ("treatment", "baseline"),
    correlated: bool = False,
) -> EffectModel:
    """Fit the one-stage effect model of the module docstring (:func:`ipdma.mixed`).

    ``family="binomial"``: the logistic effect model for a 0/1 outcome, with the grid's
    ``nagq``, random terms (``random_binomial``) and ``correlated`` options
    (:mod:`ipdma.analysis._predict_logistic`).
    """
    from ..models import mixed

    modifiers = tuple(modifiers)
    frame = _prepare(data, modifiers, outcome, baseline, treatment, trial)
    if family not in ("gaussian", "binomial"):
        raise SpecError(f"family must be 'gaussian' or 'binomial', got {family!r}")
    if family == "binomial":
        _check_binary(frame, outcome)
        return fit_logistic(frame, modifiers, (outcome, baseline, treatment, trial), nagq=nagq,
                            random=random, correlated=correlated)  # fmt: skip
    model = pd.DataFrame({
        "y": frame[outcome].astype(float), "base": frame[baseline].astype(float),
        "treat": frame[treatment].astype(float), "trial": frame[trial].astype(str),
    })  # fmt: skip
    means = frame.groupby(trial)[list(modifiers)].transform("mean")
    centre = frame.groupby(trial)[list(modifiers)].mean().mean()
    names = []
    for j, name in enumerate(modifiers):
        model[f"m{j}"] = frame[name].astype(float)
        model[f"g{j}"] = model["treat"] * (frame[name] - means[name]).astype(float)
        names.append(j)
    # a modifier that is the baseline value of the outcome has its main effect in ``base``
    mains = "".join(f" + m{j}" for j in names if modifiers[j] != baseline)
    inter = " + ".join(f"g{j}" for j in names)
    formula = f"y ~ 0 + C(trial) + base{mains} + treat + {inter} + (0 + treat | trial)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mixed(formula, model)
    terms = ["treat", *(f"g{j}" for j in names)]
    labels = ["treat", *modifiers]
    vcov = fit.vcov.loc[terms, terms].to_numpy()
    vc = fit.varcomp
    tau2 = float(vc.loc[(vc["term1"] == "treat") & vc["term2"].isna(), "variance"].iloc[0])
    return EffectModel(
        modifiers=modifiers,
        centre=centre,
        coefficients=pd.Series(fit.fixef[terms].to_numpy(), index=labels),
        vcov=pd.DataFrame(vcov, index=labels, columns=labels),
        tau2=tau2,
        df=float(fit.df["treat"]),
        n_trials=fit.ngroups,
    )


def predict_effect(model: EffectModel, profiles: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Predicted effect of exercise vs comparison for each row of ``profiles`` (one column per
    modifier): ``estimate, se, ci_low, ci_high, pi_low, pi_high`` (see the module docstring;
    a mean difference, or for a logistic model a log odds ratio).

    A logistic model adds ``odds_ratio, or_ci_low, or_ci_high, or_pi_low, or_pi_high`` and
    the risks ``risk_comparison, risk_exercise, risk_difference, rd_ci_low, rd_ci_high,
    rd_pi_low, rd_pi_high`` (missing unless ``profiles`` has the baseline column; see
    :mod:`ipdma.analysis._predict_logistic`)."""
    missing = [m for m in model.modifiers if m not in profiles.columns]
    if missing:
        raise InputError(
            f"the profiles have no column {missing[0]!r}",
            variable=missing[0],
            hint=f"give one column per modifier: {', '.join(model.modifiers)}",
        )
    values = pd.DataFrame(index=profiles.index)
    for name in model.modifiers:
        values[name] = _numbers(profiles, name)
    c = np.column_stack([np.ones(len(values)), (values - model.centre).to_numpy()])
    estimate = c @ model.coefficients.to_numpy()
    se = np.sqrt(np.einsum("ij,jk,ik->i", c, model.vcov.to_numpy(), c))
    quantile = 0.5 + level / 2
    q_ci = stats.t.ppf(quantile, model.df) if np.isfinite(model.df) else stats.norm.ppf(quantile)
    q_pi = stats.t.ppf(quantile, max(model.n_trials - 2, 1))
    pi_se = np.sqrt(se**2 + model.tau2)
    out = pd.DataFrame(
        {
            "estimate": estimate,
            "se": se,
            "ci_low": estimate - q_ci * se,
            "ci_high": estimate + q_ci * se,
            "pi_low": estimate - q_pi * pi_se,
            "pi_high": estimate + q_pi * pi_se,
        },
        index=profiles.index,
    )
    if model.family != "binomial":
        return out
    base = None
    if model.baseline in profiles.columns:
        base = _numbers(profiles, model.baseline).to_numpy(float)
    return out.assign(**risk_columns(model, values, base, level))


def _numbers(profiles: pd.DataFrame, name: str) -> pd.Series:
    """A profile column as floats; a non-number or a missing value is a clear error."""
    numbers = pd.to_numeric(profiles[name], errors="coerce")
    wrong = numbers.isna() & profiles[name].notna()
    if wrong.any():
        row = int(np.flatnonzero(wrong.to_numpy())[0])
        raise InputError(
            f"profile row {row + 1}: {name} = {profiles[name].iloc[row]!r} is not a number",
            variable=name,
            row=row + 1,
            value=profiles[name].iloc[row],
            hint="give modifier values as numbers (binary modifiers as 0/1)",
        )
    if numbers.isna().any():
        row = int(np.flatnonzero(numbers.isna().to_numpy())[0])
        raise InputError(
            f"profile row {row + 1} has a missing value of {name}",
            variable=name,
            row=row + 1,
            hint="give every profile a value of each modifier (and of the baseline, if given)",
        )
    return numbers.astype(float)


def _check_binary(frame: pd.DataFrame, outcome: str) -> None:
    values = pd.to_numeric(frame[outcome], errors="coerce")
    bad = ~values.isin([0, 1])
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"the outcome {outcome!r} of a logistic effect model must be 0/1, found "
            f"{frame[outcome].iloc[row]!r}",
            variable=outcome,
            value=frame[outcome].iloc[row],
            hint="code the outcome as 1 = recovered, 0 = not",
        )


@dataclass(frozen=True)
class BenefitCalibration:
    """IECV results: per left-out trial ``trial, n, slope, slope_se, c_benefit`` (missing
    for a trial with fewer than 5 participants in an arm or no spread of predicted benefit);
    the pooled calibration slope (DerSimonian-Laird) with its CI, and the mean
    c-for-benefit weighted by trial size.

    ``groups`` (the calibration plot): the left-out participants of all trials cut at the
    quantiles of their predicted effect into ``n_groups`` groups, per group ``group, n,
    predicted`` (mean predicted effect) and ``observed, observed_se, ci_low, ci_high`` (the
    treatment effect in the group by least squares of y on trial intercepts, baseline and
    treatment, normal 95% CI; for a logistic model the log odds ratio by logistic regression,
    the predicted effect the mean predicted log odds ratio).

    ``scale``: ``"MD"`` or ``"log OR"`` (the scale of the slopes' predicted effects and of
    the groups)."""

    trials: pd.DataFrame
    slope: float
    slope_ci: tuple[float, float]
    c_benefit: float
    groups: pd.DataFrame = field(default_factory=pd.DataFrame)
    scale: str = "MD"


def iecv(
    data: pd.DataFrame,
    modifiers: tuple[str, ...] | list[str],
    *,
    outcome: str = "y",
    baseline: str = "base",
    treatment: str = "treat",
    trial: str = "trial",
    n_groups: int = 5,
    family: str = "gaussian",
    nagq: int = 7,
    random: tuple[str, ...] = ("treatment", "baseline"),
    correlated: bool = False,
) -> BenefitCalibration:
    """Internal-external cross-validation of the effect model (leave one trial out); for
    ``family="binomial"`` of the logistic effect model (module docstring)."""
    from ..meta._tau2 import tau2_estimate

    frame = _prepare(data, list(modifiers), outcome, baseline, treatment, trial)
    levels = list(pd.unique(frame[trial]))
    if len(levels) < 4:
        raise ModelError("internal-external cross-validation needs at least 4 trials")
    rows = []
    everyone = np.full(len(frame), np.nan)
    for level in levels:
        held = frame[trial] == level
        model = fit_effect_model(frame[~held], modifiers, outcome=outcome, baseline=baseline,
                                 treatment=treatment, trial=trial, family=family, nagq=nagq,
                                 random=random, correlated=correlated)  # fmt: skip
        part = frame[held]
        prediction = predict_effect(model, part)
        predicted = prediction["estimate"].to_numpy()
        # the c-for-benefit ranks absolute benefit: the risk difference for a binary outcome
        benefit = prediction["risk_difference" if family == "binomial" else "estimate"]
        everyone[held.to_numpy()] = predicted
        y = part[outcome].to_numpy(float)
        treat = part[treatment].to_numpy(float)
        arms = min(int((treat == 1).sum()), int((treat == 0).sum()))
        x = np.column_stack([np.ones_like(y), part[baseline], predicted, treat, treat * predicted])
        if family == "binomial":  # the main term of d_hat may be dropped (aliased with base)
            x = x[:, [0, 3, 4]]
        if arms < _MIN_PER_ARM or np.linalg.matrix_rank(x) < x.shape[1]:
            # the left-out trial cannot show a difference in benefit (one arm, or no spread
            # of predicted benefit in it): no slope, no c-for-benefit
            rows.append((str(level), int(held.sum()), np.nan, np.nan, np.nan))
            continue
        slope_of = benefit_slope_logistic if family == "binomial" else _calibration_slope
        slope, se = slope_of(y, part[baseline].to_numpy(float), treat, predicted)
        c_benefit = _c_for_benefit(y, treat, benefit.to_numpy(float))
        rows.append((str(level), int(held.sum()), slope, se, c_benefit))
    trials = pd.DataFrame(rows, columns=["trial", "n", "slope", "slope_se", "c_benefit"])
    usable = trials.dropna(subset=["slope", "slope_se"])
    ranked = trials.dropna(subset=["c_benefit"])
    if len(usable) < 2:
        raise ModelError(
            "internal-external cross-validation: fewer than 2 left-out trials have both arms "
            "and a spread of predicted benefit"
        )
    yi, vi = usable["slope"].to_numpy(), usable["slope_se"].to_numpy() ** 2
    tau2 = tau2_estimate(yi, vi, "DL")
    w = 1 / (vi + tau2)
    pooled = float(np.sum(w * yi) / np.sum(w))
    se = float(np.sqrt(1 / np.sum(w)))
    q = stats.norm.ppf(0.975)
    return BenefitCalibration(
        trials=trials,
        slope=pooled,
        slope_ci=(pooled - q * se, pooled + q * se),
        c_benefit=float(np.average(ranked["c_benefit"], weights=ranked["n"]))
        if len(ranked)
        else float("nan"),
        groups=calibration_groups(
            frame[outcome].to_numpy(float),
            frame[baseline].to_numpy(float),
            frame[treatment].to_numpy(float),
            frame[trial].astype(str).to_numpy(),
            everyone,
            n_groups,
            family,
        ),
        scale="log OR" if family == "binomial" else "MD",
    )
