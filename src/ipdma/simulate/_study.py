"""Does the one-stage analysis recover the planted truth? Bias, coverage and power by seed.

For each seed, :func:`fit_planted` simulates the consortium (:func:`harmonized_ipd`) and
fits the paper's one-stage models with :func:`ipdma.mixed`:

* overall effects, per outcome and comparison set ("usual", "conservative")::

      y ~ 0 + C(trial) + y0 + treat + (0 + treat | trial) + (0 + y0 | trial)

  (REML, stratified residual variances); for recovery the logistic model
  ``recovery ~ 0 + C(trial) + function0 + treat + (0 + treat | trial)`` (ML, AGHQ);
* treatment x modifier interactions (comparison set "any"), modifier centred at its trial
  mean (within-trial information only, no ecological bias)::

      y ~ 0 + C(trial) + y0 + z_c + treat + treat:z_c + (0 + treat | trial) + (0 + y0 | trial)

  using trials with both arms and variation in z.

The reference ("truth") of each parameter is what that analysis estimates by design on the
bounded, rounded data (:func:`implied_truth`), next to the planted latent value: clipping
at 0 and 100 attenuates effects a little, and a single-modifier model also picks up the
interactions of correlated modifiers (education goes with heavy physical demands).

:func:`summarize` turns the per-seed estimates into bias, empirical SD, mean SE, 95% CI
coverage and power (share of CIs excluding 0) per parameter: the figures of a power or
design study when the config is changed.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd

from ._config import ConsortiumConfig, default_config
from ._harmonized import harmonized_ipd
from ._truth import comparison_rows, implied_truth

#: modifiers without a planted interaction, fitted as null checks
NULL_MODIFIERS = ("female", "leg_pain")


def _fit(formula: str, rows: pd.DataFrame, **options) -> dict:
    """Fit one model; an engine failure is recorded (``error``), not raised."""
    from ..models import mixed

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = mixed(formula, rows, **options)
        except Exception as exc:  # a design study must survive one failed fit
            return {"fit": None, "warnings": len(caught), "error": f"{type(exc).__name__}: {exc}"}
    return {"fit": fit, "warnings": len(caught), "error": ""}


def _row(fit: dict, coefficient: str, **info) -> dict:
    result = fit["fit"]
    if result is None:
        return {**info, "estimate": np.nan, "se": np.nan, "df": np.nan, "ci_low": np.nan,
                "ci_high": np.nan, "wald_low": np.nan, "wald_high": np.nan,
                "converged": False, "singular": False, "warnings": fit["warnings"],
                "trials": 0, "participants": 0, "error": fit["error"]}  # fmt: skip
    # the analysis grid's default: Satterthwaite t for linear models, Wald z for logistic
    low, high = result.confint(method="satterthwaite").loc[coefficient].to_numpy(float)
    wald_low, wald_high = result.confint(method="wald").loc[coefficient].to_numpy(float)
    return {**info, "estimate": float(result.fixef[coefficient]),
            "se": float(result.se[coefficient]),
            "df": float(result.df.get(coefficient, np.inf)),
            "ci_low": low, "ci_high": high, "wald_low": wald_low, "wald_high": wald_high,
            "converged": bool(result.converged),
            "singular": bool(result.singular),
            "warnings": fit["warnings"], "trials": int(result.ngroups),
            "participants": int(result.nobs), "error": ""}  # fmt: skip


def _modifier_rows(data: pd.DataFrame, outcome: str, modifier: str) -> pd.DataFrame:
    rows = comparison_rows(data, "any").dropna(subset=[outcome, f"{outcome}0", modifier])
    spread = rows.groupby("trial")[modifier].transform("nunique") > 1
    arms = rows.groupby("trial")["treat"].transform("nunique") == 2
    rows = rows[spread & arms].copy()
    rows["modifier_c"] = rows[modifier] - rows.groupby("trial")[modifier].transform("mean")
    return rows


def fit_planted(
    seed: int, config: ConsortiumConfig | None = None, *, truth: dict | None = None
) -> pd.DataFrame:
    """Estimates of every planted parameter in one simulated consortium (one row each).

    Columns: ``seed, parameter, outcome, comparison, term, planted, truth, estimate, se,
    df, ci_low, ci_high, wald_low, wald_high, converged, singular, warnings, trials,
    participants, error``. ``ci_*`` are the 95% CIs the analysis grid reports by default
    (t with Satterthwaite df for linear models, normal for logistic), ``wald_*`` normal
    quantiles for every model
    (an engine exception is recorded there, with NaN estimates); recovery rows
    are on the log-odds scale. ``truth`` (from :func:`planted_truth`) avoids recomputing
    the implied values.
    """
    config = default_config() if config is None else config
    truth = planted_truth(config) if truth is None else truth
    data = harmonized_ipd(seed=seed, config=config)
    out = []
    for outcome in ("pain", "function"):
        base = f"{outcome}0"
        for comparison in ("usual", "conservative"):
            rows = comparison_rows(data, comparison).dropna(subset=[outcome, base])
            formula = (f"{outcome} ~ 0 + C(trial) + {base} + treat + (0 + treat | trial)"
                       f" + (0 + {base} | trial)")  # fmt: skip
            fit = _fit(formula, rows, residual="stratified")
            key = f"{outcome}:{comparison}"
            out.append(_row(fit, "treat", seed=seed, parameter=key, outcome=outcome,
                            comparison=comparison, term="treat", planted=truth[key][0],
                            truth=truth[key][1]))  # fmt: skip
        modifiers = list(config.outcome_model(outcome).interactions) + list(NULL_MODIFIERS)
        for modifier in modifiers:
            rows = _modifier_rows(data, outcome, modifier)
            formula = (f"{outcome} ~ 0 + C(trial) + {base} + modifier_c + treat + "
                       f"treat:modifier_c + (0 + treat | trial) + (0 + {base} | trial)")  # fmt: skip
            fit = _fit(formula, rows, residual="stratified")
            key = f"{outcome}:treat x {modifier}"
            out.append(_row(fit, "treat:modifier_c", seed=seed, parameter=key, outcome=outcome,
                            comparison="any", term=f"treat:{modifier}",
                            planted=truth[key][0], truth=truth[key][1]))  # fmt: skip
    for comparison in ("usual", "conservative"):
        rows = comparison_rows(data, comparison).dropna(subset=["recovery", "function0"])
        formula = "recovery ~ 0 + C(trial) + function0 + treat + (0 + treat | trial)"
        fit = _fit(formula, rows, family="binomial")
        key = f"recovery:{comparison}"
        out.append(_row(fit, "treat", seed=seed, parameter=key, outcome="recovery",
                        comparison=comparison, term="treat (log OR)", planted=truth[key][0],
                        truth=truth[key][1]))  # fmt: skip
    return pd.DataFrame(out)


def planted_truth(config: ConsortiumConfig | None = None) -> dict[str, tuple[float, float]]:
    """(planted, implied) value of every parameter :func:`fit_planted` estimates.

    Planted: the latent model's effect (recovery: NaN, it is never planted). Implied: what
    the analysis of the bounded, rounded data estimates by design (:func:`implied_truth`),
    the reference for bias and coverage. Recovery values are log odds ratios.
    """
    config = default_config() if config is None else config
    implied = implied_truth(config)
    truth: dict[str, tuple[float, float]] = {}
    for outcome in ("pain", "function"):
        model = config.outcome_model(outcome)
        for comparison in ("usual", "conservative"):
            planted = model.effect_usual if comparison == "usual" else model.effect_conservative
            truth[f"{outcome}:{comparison}"] = (planted, implied[f"md_{outcome}_{comparison}"])
        modifiers = list(model.interactions) + list(NULL_MODIFIERS)
        for modifier in modifiers:
            truth[f"{outcome}:treat x {modifier}"] = (
                model.interactions.get(modifier, 0.0),
                implied[f"interaction_{outcome}_{modifier}"],
            )
    for comparison in ("usual", "conservative"):
        log_or = float(np.log(implied[f"or_{comparison}"]))
        truth[f"recovery:{comparison}"] = (float("nan"), log_or)
    return truth


def recovery_study(seeds: Iterable[int], config: ConsortiumConfig | None = None) -> pd.DataFrame:
    """:func:`fit_planted` over ``seeds``, stacked (one row per seed and parameter)."""
    config = default_config() if config is None else config
    truth = planted_truth(config)
    return pd.concat([fit_planted(s, config, truth=truth) for s in seeds], ignore_index=True)


def summarize(study: pd.DataFrame) -> pd.DataFrame:
    """Per parameter: truth, mean estimate, bias, empirical SD, mean SE, coverage, power.

    ``truth`` is the implied value (what the analysis estimates by design), ``planted`` the
    latent model's parameter; ``mc_se`` is the Monte Carlo standard error of the mean
    estimate (SD / sqrt(seeds)); ``coverage`` is that of the default CIs (Satterthwaite t
    for linear models), ``coverage_wald`` that of normal-quantile CIs; ``median_df`` the
    median Satterthwaite df (inf for logistic models; a fit whose between-trial variance is
    0 has df near the residual df, so the mean would be dominated by those).
    """
    grouped = study.groupby("parameter", sort=False)
    covered = (study["ci_low"] <= study["truth"]) & (study["truth"] <= study["ci_high"])
    wald = (study["wald_low"] <= study["truth"]) & (study["truth"] <= study["wald_high"])
    significant = (study["ci_low"] > 0) | (study["ci_high"] < 0)
    summary = pd.DataFrame({
        "planted": grouped["planted"].first(),
        "truth": grouped["truth"].first(),
        "mean": grouped["estimate"].mean(),
        "bias": grouped["estimate"].mean() - grouped["truth"].first(),
        "empirical_sd": grouped["estimate"].std(ddof=1),
        "mean_se": grouped["se"].mean(),
        "median_df": grouped["df"].median(),
        "coverage": covered.groupby(study["parameter"], sort=False).mean(),
        "coverage_wald": wald.groupby(study["parameter"], sort=False).mean(),
        "power": significant.groupby(study["parameter"], sort=False).mean(),
        "failed": grouped["estimate"].apply(lambda e: e.isna().mean()),
        "converged": grouped["converged"].mean(),
        "singular": grouped["singular"].mean(),
        "seeds": grouped.size(),
    })  # fmt: skip
    summary["mc_se"] = summary["empirical_sd"] / np.sqrt(summary["seeds"])
    return summary.reset_index()
