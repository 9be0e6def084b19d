"""Planted truths: the parameters of the outcome model and the recovery odds ratios they imply.

Global recovery is not generated from a logistic model; it follows from simulated pain and
function (the paper's rule). Its "true" odds ratios are therefore computed, not planted:
a very large consortium (``size_factor`` x the sizes) is simulated from the same config and
a logistic regression with trial-specific intercepts, baseline function and treatment (the
paper's model without the random effect, Appendix 1) is fitted by Newton-Raphson. The
result is the conditional odds ratio the one-stage model estimates, up to the small
non-collapsibility of the between-trial heterogeneity.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from ._config import ConsortiumConfig

COMPARISON_SETS = {"usual": ("usual",), "conservative": ("conservative",),
                   "any": ("usual", "conservative")}  # fmt: skip


def comparison_rows(data: pd.DataFrame, comparison: str) -> pd.DataFrame:
    """Exercise arms plus the comparison arms of one set, in trials that have both."""
    keep = (data["treat"] == 1) | data["comparison"].isin(COMPARISON_SETS[comparison])
    data = data[keep]
    both = data.groupby("trial")["treat"].transform(lambda t: t.nunique() == 2)
    return data[both.astype(bool)]


def _logistic(X: np.ndarray, y: np.ndarray, iterations: int = 50) -> np.ndarray:
    """Maximum likelihood logistic regression coefficients (Newton-Raphson)."""
    beta = np.zeros(X.shape[1])
    for _ in range(iterations):
        eta = np.clip(X @ beta, -30, 30)
        p = 1.0 / (1.0 + np.exp(-eta))
        w = p * (1.0 - p)
        step = np.linalg.solve((X * w[:, None]).T @ X + 1e-9 * np.eye(X.shape[1]), X.T @ (y - p))
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    return beta


def recovery_log_odds(data: pd.DataFrame, comparison: str, modifier: str | None = None) -> float:
    """log OR of recovery for treatment (or treatment x trial-centred ``modifier``)."""
    rows = comparison_rows(data, comparison)
    columns = ["recovery", "function0", "treat"] + ([modifier] if modifier else [])
    rows = rows.dropna(subset=columns)
    trials = pd.get_dummies(rows["trial"], dtype=float).to_numpy()
    parts = [trials, rows[["function0", "treat"]].to_numpy(float)]
    if modifier:
        z = rows[modifier] - rows.groupby("trial")[modifier].transform("mean")
        parts += [z.to_numpy()[:, None], (z * rows["treat"]).to_numpy()[:, None]]
    beta = _logistic(np.column_stack(parts), rows["recovery"].to_numpy(float))
    return float(beta[-1] if modifier else beta[trials.shape[1] + 1])


def typical_trials(config: ConsortiumConfig) -> ConsortiumConfig:
    """``config`` with every trial at the mean of the between-trial distributions.

    Treatment effect, intercept, baseline slope and residual SD take their planted means in
    every trial (tau = 0 and the other trial-level SDs 0); covariate distributions, sizes,
    instruments and visits are unchanged.
    """
    fixed = {"tau": 0.0, "intercept_sd": 0.0, "baseline_sd": 0.0, "residual_trial_sd": 0.0}
    return replace(config, pain=replace(config.pain, **fixed),
                   function=replace(config.function, **fixed))  # fmt: skip


def implied_recovery(
    config: ConsortiumConfig, *, seed: int = 20200, size_factor: float = 15.0
) -> dict[str, float]:
    """Recovery odds ratios implied by the planted pain and function model (short window).

    Computed on a consortium of :func:`typical_trials` (so the value does not depend on
    one draw of 27 trial effects) with sizes times ``size_factor``: the conditional odds
    ratio of the typical trial, which the one-stage random-effects logistic model estimates.
    Keys ``or_usual``, ``or_conservative``, ``or_any`` and ``or_interaction_<modifier>`` for
    every modifier with a planted interaction on pain or function (comparison set "any").
    """
    from ._harmonized import harmonized_ipd

    big = replace(typical_trials(config), size_factor=config.size_factor * size_factor)
    data = harmonized_ipd(seed=seed, config=big)
    out = {f"or_{c}": float(np.exp(recovery_log_odds(data, c))) for c in COMPARISON_SETS}
    modifiers = sorted(set(config.pain.interactions) | set(config.function.interactions))
    for modifier in modifiers:
        out[f"or_interaction_{modifier}"] = float(np.exp(recovery_log_odds(data, "any", modifier)))
    return out


def _plain(value):
    """Dataclasses, mappings, tuples and sets -> plain JSON-able data."""
    if hasattr(value, "__dataclass_fields__"):
        return {name: _plain(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, frozenset | set):
        return [_plain(v) for v in sorted(value)]
    if isinstance(value, tuple | list):
        if all(isinstance(v, tuple) and len(v) == 2 for v in value) and value:
            return [_plain(list(v)) for v in value]
        return [_plain(v) for v in value]
    return value


def config_dict(config: ConsortiumConfig) -> dict:
    """The whole config as plain JSON-able data (correlations as [[a, b], rho] pairs)."""
    out = _plain(config)
    out["covariates"]["correlations"] = [
        [list(pair), rho] for pair, rho in config.covariates.correlations.items()
    ]
    return out
