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
from types import MappingProxyType

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


def _frames(config: ConsortiumConfig, seed: int, size_factor: float) -> dict[str, pd.DataFrame]:
    """The typical-trials consortium under the planted model and two counterfactuals.

    "usual": exercise arms get the arm effect of no treatment / usual care (0) and no
    interactions; "conservative": that of other conservative arms. The three share every
    random draw (same seed, same number of draws), so per-participant differences are the
    effects on the observed (bounded, rounded) 0-100 scale.
    """
    from ._harmonized import harmonized_ipd

    big = replace(typical_trials(config), size_factor=config.size_factor * size_factor)
    frames = {"planted": harmonized_ipd(seed=seed, config=big)}
    for name in ("usual", "conservative"):
        models = {}
        for outcome in ("pain", "function"):
            model = big.outcome_model(outcome)
            effect = 0.0 if name == "usual" else model.effect_usual - model.effect_conservative
            models[outcome] = replace(model, effect_usual=effect, interactions=MappingProxyType({}))
        frames[name] = harmonized_ipd(seed=seed, config=replace(big, **models))
    return frames


_CACHE: dict[tuple, dict[str, float]] = {}
#: consortia averaged for the implied recovery odds ratios (their Monte Carlo SD ~ 0.02)
OR_REPLICATES = 6


def implied_truth(
    config: ConsortiumConfig, *, seed: int = 20200, size_factor: float = 15.0
) -> dict[str, float]:
    """What the analyses of the simulated (bounded, rounded) data estimate, by design.

    Pain and function are clipped to 0-100 and rounded to each instrument's steps, which
    attenuates the planted latent effects slightly. On a consortium of
    :func:`typical_trials` with sizes times ``size_factor``:

    * ``md_<outcome>_<set>``: mean over exercise participants of (outcome under the planted
      model - outcome had they received the set's comparison), common random numbers;
    * ``interaction_<outcome>_<modifier>``: slope of that difference (vs usual care) on the
      trial-centred modifier, with trial-specific intercepts;
    * ``or_usual``, ``or_conservative``, ``or_any`` and ``or_interaction_<modifier>``:
      recovery odds ratios from a logistic regression with trial intercepts, baseline
      function and treatment (recovery is derived from pain and function, never planted),
      log odds ratios averaged over :data:`OR_REPLICATES` such consortia.
    """
    key = (repr(config), seed, size_factor)
    if key not in _CACHE:
        _CACHE.clear()  # one config at a time: a design study changes it between calls
        _CACHE[key] = _implied(config, seed, size_factor)
    return dict(_CACHE[key])


def _implied(config: ConsortiumConfig, seed: int, size_factor: float) -> dict[str, float]:
    frames = _frames(config, seed, size_factor)
    planted = frames["planted"]
    out: dict[str, float] = {}
    for outcome in ("pain", "function"):
        for name in ("usual", "conservative"):
            rows = comparison_rows(planted, name).index
            exercise = rows[planted.loc[rows, "treat"].to_numpy() == 1]
            delta = planted.loc[exercise, outcome] - frames[name].loc[exercise, outcome]
            out[f"md_{outcome}_{name}"] = float(delta.mean())
        rows = comparison_rows(planted, "any")
        rows = rows[rows["treat"] == 1]
        delta = planted.loc[rows.index, outcome] - frames["usual"].loc[rows.index, outcome]
        modifiers = set(config.outcome_model(outcome).interactions) | {"female", "leg_pain"}
        for modifier in sorted(modifiers):
            out[f"interaction_{outcome}_{modifier}"] = _within_slope(rows, delta, modifier)
    # recovery odds ratios: mean log OR over replicate consortia (their covariate draws vary)
    replicates = [planted]
    typical = replace(typical_trials(config), size_factor=config.size_factor * size_factor)
    from ._harmonized import harmonized_ipd

    replicates += [harmonized_ipd(seed=seed + r, config=typical) for r in range(1, OR_REPLICATES)]
    for c in COMPARISON_SETS:
        out[f"or_{c}"] = float(np.exp(np.mean([recovery_log_odds(d, c) for d in replicates])))
    modifiers = sorted(set(config.pain.interactions) | set(config.function.interactions))
    for modifier in modifiers:
        logs = [recovery_log_odds(d, "any", modifier) for d in replicates]
        out[f"or_interaction_{modifier}"] = float(np.exp(np.mean(logs)))
    return out


def _within_slope(rows: pd.DataFrame, delta: pd.Series, modifier: str) -> float:
    """Slope of ``delta`` on ``modifier`` within trials (both centred at trial means)."""
    keep = rows[modifier].notna() & delta.notna()
    rows, delta = rows[keep], delta[keep]
    z = rows[modifier] - rows.groupby("trial")[modifier].transform("mean")
    d = delta - delta.groupby(rows["trial"]).transform("mean")
    return float((z * d).sum() / (z * z).sum())


def implied_recovery(config: ConsortiumConfig, **options) -> dict[str, float]:
    """The recovery odds ratios of :func:`implied_truth` (keys ``or_*``)."""
    return {k: v for k, v in implied_truth(config, **options).items() if k.startswith("or_")}


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
