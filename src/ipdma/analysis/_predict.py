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
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError, ModelError

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
    """A fitted effect model: ``theta``, ``gamma`` (by modifier), their covariance, tau^2."""

    modifiers: tuple[str, ...]
    centre: pd.Series
    coefficients: pd.Series
    vcov: pd.DataFrame
    tau2: float
    df: float
    n_trials: int


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
) -> EffectModel:
    """Fit the one-stage effect model of the module docstring (:func:`ipdma.mixed`)."""
    from ..models import mixed

    modifiers = tuple(modifiers)
    frame = _prepare(data, modifiers, outcome, baseline, treatment, trial)
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
    modifier): ``estimate, se, ci_low, ci_high, pi_low, pi_high`` (see the module docstring)."""
    missing = [m for m in model.modifiers if m not in profiles.columns]
    if missing:
        raise InputError(
            f"the profiles have no column {missing[0]!r}",
            variable=missing[0],
            hint=f"give one column per modifier: {', '.join(model.modifiers)}",
        )
    values = pd.DataFrame(index=profiles.index)
    for name in model.modifiers:
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
        values[name] = numbers.astype(float)
    bad = values.isna().any(axis=1)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"profile row {row + 1} has a missing modifier value", row=row + 1)
    c = np.column_stack([np.ones(len(values)), (values - model.centre).to_numpy()])
    estimate = c @ model.coefficients.to_numpy()
    se = np.sqrt(np.einsum("ij,jk,ik->i", c, model.vcov.to_numpy(), c))
    quantile = 0.5 + level / 2
    q_ci = stats.t.ppf(quantile, model.df) if np.isfinite(model.df) else stats.norm.ppf(quantile)
    q_pi = stats.t.ppf(quantile, max(model.n_trials - 2, 1))
    pi_se = np.sqrt(se**2 + model.tau2)
    return pd.DataFrame(
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
    treatment, normal 95% CI)."""

    trials: pd.DataFrame
    slope: float
    slope_ci: tuple[float, float]
    c_benefit: float
    groups: pd.DataFrame = field(default_factory=pd.DataFrame)


def _calibration_slope(y, base, treat, predicted) -> tuple[float, float]:
    x = np.column_stack([np.ones_like(y), base, predicted, treat, treat * predicted])
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ coef
    s2 = float(resid @ resid) / (len(y) - x.shape[1])
    cov = s2 * np.linalg.pinv(x.T @ x)
    return float(coef[4]), float(np.sqrt(cov[4, 4]))


def _c_for_benefit(y, treat, predicted) -> float:
    """Pairs matched on the rank of predicted effect; concordance of pair predicted vs
    observed effects (ties in observed effect skipped, ties in prediction count 1/2)."""
    treated = np.flatnonzero(treat == 1)
    control = np.flatnonzero(treat == 0)
    m = min(len(treated), len(control))
    treated = treated[np.argsort(predicted[treated], kind="stable")]
    control = control[np.argsort(predicted[control], kind="stable")]
    # take m evenly spread units of the larger arm so both sides span the prediction range
    treated = treated[np.linspace(0, len(treated) - 1, m).round().astype(int)]
    control = control[np.linspace(0, len(control) - 1, m).round().astype(int)]
    pred = (predicted[treated] + predicted[control]) / 2
    observed = y[treated] - y[control]
    dp = pred[:, None] - pred[None, :]
    do = observed[:, None] - observed[None, :]
    upper = np.triu(np.ones((m, m), dtype=bool), 1) & (do != 0)
    concordant = ((np.sign(dp) == np.sign(do)) & (dp != 0) & upper).sum()
    tied = ((dp == 0) & upper).sum()
    return float((concordant + 0.5 * tied) / upper.sum())


def calibration_groups(
    y: np.ndarray,
    base: np.ndarray,
    treat: np.ndarray,
    trial: np.ndarray,
    predicted: np.ndarray,
    n_groups: int = 5,
) -> pd.DataFrame:
    """Observed vs mean predicted effect in groups of predicted effect (see
    :class:`BenefitCalibration`); a group where the effect is not estimable gets NaN."""
    edges = np.quantile(predicted, np.linspace(0, 1, n_groups + 1))
    group = np.clip(np.searchsorted(edges, predicted, side="right") - 1, 0, n_groups - 1)
    q = stats.norm.ppf(0.975)
    rows = []
    for g in range(n_groups):
        chosen = group == g
        estimate = se = np.nan
        levels, codes = np.unique(trial[chosen], return_inverse=True)
        dummies = np.eye(len(levels))[codes]
        x = np.column_stack([dummies, base[chosen], treat[chosen]])
        n = int(chosen.sum())
        if n > x.shape[1] + 2 and np.linalg.matrix_rank(x) == x.shape[1]:
            coef, *_ = np.linalg.lstsq(x, y[chosen], rcond=None)
            resid = y[chosen] - x @ coef
            s2 = float(resid @ resid) / (n - x.shape[1])
            estimate = float(coef[-1])
            se = float(np.sqrt(s2 * np.linalg.inv(x.T @ x)[-1, -1]))
        mean = float(predicted[chosen].mean()) if n else np.nan
        rows.append((g + 1, n, mean, estimate, se, estimate - q * se, estimate + q * se))
    columns = ["group", "n", "predicted", "observed", "observed_se", "ci_low", "ci_high"]
    return pd.DataFrame(rows, columns=columns)


def iecv(
    data: pd.DataFrame,
    modifiers: tuple[str, ...] | list[str],
    *,
    outcome: str = "y",
    baseline: str = "base",
    treatment: str = "treat",
    trial: str = "trial",
    n_groups: int = 5,
) -> BenefitCalibration:
    """Internal-external cross-validation of the effect model (leave one trial out)."""
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
                                 treatment=treatment, trial=trial)  # fmt: skip
        part = frame[held]
        predicted = predict_effect(model, part)["estimate"].to_numpy()
        everyone[held.to_numpy()] = predicted
        y = part[outcome].to_numpy(float)
        treat = part[treatment].to_numpy(float)
        arms = min(int((treat == 1).sum()), int((treat == 0).sum()))
        x = np.column_stack([np.ones_like(y), part[baseline], predicted, treat, treat * predicted])
        if arms < _MIN_PER_ARM or np.linalg.matrix_rank(x) < x.shape[1]:
            # the left-out trial cannot show a difference in benefit (one arm, or no spread
            # of predicted benefit in it): no slope, no c-for-benefit
            rows.append((str(level), int(held.sum()), np.nan, np.nan, np.nan))
            continue
        slope, se = _calibration_slope(y, part[baseline].to_numpy(float), treat, predicted)
        rows.append((str(level), int(held.sum()), slope, se, _c_for_benefit(y, treat, predicted)))
    trials = pd.DataFrame(rows, columns=["trial", "n", "slope", "slope_se", "c_benefit"])
    usable = trials.dropna()
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
        c_benefit=float(np.average(usable["c_benefit"], weights=usable["n"])),
        groups=calibration_groups(
            frame[outcome].to_numpy(float),
            frame[baseline].to_numpy(float),
            frame[treatment].to_numpy(float),
            frame[trial].astype(str).to_numpy(),
            everyone,
            n_groups,
        ),
    )
