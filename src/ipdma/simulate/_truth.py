"""Implied truths: what the analyses of the simulated data estimate, by design.

The outcome model is planted on a latent scale; the data are clipped to 0-100, rounded to
each instrument's steps, and global recovery is derived from them (the paper's rule), so
the values an analysis estimates are computed, not planted. Many large consortia are
simulated from the same config together with counterfactual outcomes (each exercise
participant under the comparison's treatment, the same random draws), and averaged:
mean differences and interaction slopes on the observed scale, and recovery odds ratios
from a logistic regression with trial-specific intercepts, baseline function and treatment
(the paper's model without the random effect, Appendix 1), fitted by Newton-Raphson.
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
    both = data.groupby("trial")["treat"].transform("nunique") == 2
    return data[both]


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


def _counterfactual(config: ConsortiumConfig, name: str, sign: float = 1.0) -> dict:
    """Outcome models giving exercise arms the arm effect of comparison set ``name``.

    "usual": the effect (0) and response SD of usual care; "conservative": those of other
    conservative arms, the participant's response deviation multiplied by ``sign`` (-1: the
    antithetic draw). The trial's treatment deviation (tau) and the interactions are
    removed: they belong to exercise, and the comparison arms have neither.
    """
    models = {}
    for outcome in ("pain", "function"):
        model = config.outcome_model(outcome)
        category = "usual care" if name == "usual" else "other conservative"
        effect = 0.0 if name == "usual" else model.effect_usual - model.effect_conservative
        sd = dict(model.response_sd)
        sd["exercise"] = sign * sd.get(category, 0.0)
        models[outcome] = replace(model, effect_usual=effect, tau=0.0,
                                  response_sd=MappingProxyType(sd),
                                  interactions=MappingProxyType({}))  # fmt: skip
    return models


def scenario_frame(config: ConsortiumConfig, seed: int, window: str = "short") -> pd.DataFrame:
    """A consortium at ``window`` under the planted model and its counterfactuals.

    One row per participant: ``trial, treat, comparison``, the baseline variables (NaN
    where the file lacks them), ``pain``, ``function`` and ``recovery`` as ingest derives
    them; ``<outcome>_usual`` / ``<outcome>_conservative``: the outcome had an exercise
    participant received that comparison set's treatment (NaN in the comparison arms);
    ``<outcome>_deviation``: the exercise arm's share of its trial's random treatment
    deviation at the chosen visit (decay x (treatment - effect_usual); 0 in the comparison
    arms, mean 0 by design). All share every random draw (common random numbers), so differences are the effects on the observed (bounded,
    rounded) 0-100 scale; the conservative outcome is the mean of two antithetic draws of
    the response deviation (+r and -r), which removes most of the noise it adds. Outcomes
    are rounded to each instrument's steps as in the native files; covariates keep their
    simulated values (their native rounding does not matter for a population truth).
    """
    from ._generate import OUTCOMES, draw_trial, trial_outcomes, visit_window
    from ._harmonized import comparison_set, global_recovery, window_visit
    from ._instruments import instrument
    from ._native import visit_weeks

    scenarios = {"": None, "_usual": _counterfactual(config, "usual"),
                 "_plus": _counterfactual(config, "conservative", 1.0),
                 "_minus": _counterfactual(config, "conservative", -1.0)}  # fmt: skip
    parts = []
    streams = np.random.SeedSequence(seed).spawn(len(config.trials))
    for trial, stream in zip(config.trials, streams, strict=True):
        draws = draw_trial(trial, config, np.random.default_rng(stream))
        arm = draws.baseline["arm"].to_numpy()
        n = len(arm)
        sets = np.array([comparison_set(a) for a in trial.arms], dtype=object)
        part = {"trial": np.full(n, trial.trial, dtype=object), "treat": draws.treat,
                "comparison": sets[arm]}  # fmt: skip
        for name, values in draws.baseline.items():
            if name != "arm":
                part[name] = np.where(draws.observed[name], values.to_numpy(float), np.nan)
        # per outcome: its instrument and the visit ingest picks (None: no value)
        weeks = visit_weeks(trial)
        chosen = {}
        for outcome in OUTCOMES:
            name = trial.pain_instrument if outcome == "pain" else trial.function_instrument
            if name is not None:
                inst = instrument(name)
                part[f"{outcome}0"] = inst.to_harmonized(inst.to_native(part[f"{outcome}0"]))
                index = window_visit(trial, weeks, outcome, config, window)
                chosen[outcome] = None if index is None else (inst, index)
            else:
                chosen[outcome] = None
        for suffix, models in scenarios.items():
            outcomes, effects = trial_outcomes(draws, config, models)
            for outcome, pick in chosen.items():
                if pick is None:
                    part[outcome + suffix] = part[f"{outcome}_deviation"] = np.full(n, np.nan)
                    continue
                inst, index = pick
                values = outcomes[outcome][:, index]
                part[outcome + suffix] = inst.to_harmonized(inst.to_native(values))
                if not suffix:
                    model = config.outcome_model(outcome)
                    decay = model.decay[visit_window(trial.visits[index])]
                    deviation = decay * (effects[outcome].treatment - model.effect_usual)
                    part[f"{outcome}_deviation"] = deviation * draws.treat
        part["recovery"] = global_recovery({o: part[f"{o}0"] for o in OUTCOMES}, part, config)
        parts.append(pd.DataFrame(part))
    frame = pd.concat(parts, ignore_index=True)
    for outcome in OUTCOMES:
        plus, minus = frame.pop(f"{outcome}_plus"), frame.pop(f"{outcome}_minus")
        frame[f"{outcome}_conservative"] = (plus + minus) / 2.0
        frame.loc[frame["treat"] != 1, [f"{outcome}_usual", f"{outcome}_conservative"]] = np.nan
    return frame


_CACHE: dict[tuple, dict[str, float]] = {}
#: replicate consortia averaged for the implied truth (each ``size_factor`` x the sizes)
REPLICATES = 40


def implied_truth(
    config: ConsortiumConfig,
    *,
    seed: int = 20200,
    size_factor: float = 4.0,
    replicates: int = REPLICATES,
) -> dict[str, float]:
    """What the analyses of the simulated (bounded, rounded) data estimate, by design.

    Pain and function are clipped to 0-100 and rounded to each instrument's steps, which
    attenuates the planted latent effects, and recovery is derived from them, so these
    values are computed, not planted: averaged over ``replicates`` consortia drawn from
    ``config`` with sizes times ``size_factor`` (seeds ``seed``, ``seed + 1``, ...; the
    trials' random effects vary between replicates, because on the bounded scale the
    effects depend on them), with :func:`scenario_frame`'s common random numbers:

    * ``md_<outcome>_<set>``: mean over exercise participants of (outcome under the planted
      model - outcome had they received the set's comparison);
    * ``interaction_<outcome>_<modifier>``: slope of that difference on the trial-centred
      modifier within trials, for the "any" comparison set (the comparison is each trial's
      mix of usual-care-type and other conservative arms, as the analysis compares);
    * ``or_usual``, ``or_conservative``, ``or_any`` and ``or_interaction_<modifier>``:
      recovery odds ratios from a logistic regression with trial intercepts, baseline
      function and treatment; log odds ratios are averaged.

    With the defaults the Monte Carlo SE of each value is 0.02-0.04 points (mean
    differences, interactions) or 0.02 on the log odds ratio scale (docs/simulate.md); the
    result is cached for the last config.
    """
    key = (repr(config), seed, size_factor, replicates)
    if key not in _CACHE:
        _CACHE.clear()  # one config at a time: a design study changes it between calls
        big = replace(config, size_factor=config.size_factor * size_factor)
        parts = [_replicate(config, big, seed + r) for r in range(replicates)]
        _CACHE[key] = {
            k: float(np.exp(np.mean([p[k] for p in parts]))) if k.startswith("or_")
            else float(np.mean([p[k] for p in parts]))
            for k in parts[0]
        }  # fmt: skip
    return dict(_CACHE[key])


def _replicate(config: ConsortiumConfig, big: ConsortiumConfig, seed: int) -> dict[str, float]:
    """Effects on one large consortium (log odds ratios under the ``or_`` keys)."""
    frame = scenario_frame(big, seed)
    out: dict[str, float] = {}
    for outcome in ("pain", "function"):
        for name in ("usual", "conservative"):
            rows = comparison_rows(frame, name)
            rows = rows[rows["treat"] == 1]
            # minus the trial's treatment deviation: its mean is 0 by design, so this control
            # variate removes the deviation's noise (between-trial SD tau) without bias
            delta = rows[outcome] - rows[f"{outcome}_{name}"] - rows[f"{outcome}_deviation"]
            out[f"md_{outcome}_{name}"] = float(delta.mean())
        rows = comparison_rows(frame, "any")
        share = _conservative_share(rows)
        rows = rows[rows["treat"] == 1]
        s = rows["trial"].map(share).to_numpy()
        comparison = (1.0 - s) * rows[f"{outcome}_usual"] + s * rows[f"{outcome}_conservative"]
        delta = rows[outcome] - comparison
        modifiers = set(config.outcome_model(outcome).interactions) | {"female", "leg_pain"}
        for modifier in sorted(modifiers):
            out[f"interaction_{outcome}_{modifier}"] = _within_slope(rows, delta, modifier)
    for c in COMPARISON_SETS:
        out[f"or_{c}"] = recovery_log_odds(frame, c)
    for modifier in sorted(set(config.pain.interactions) | set(config.function.interactions)):
        out[f"or_interaction_{modifier}"] = recovery_log_odds(frame, "any", modifier)
    return out


def _conservative_share(rows: pd.DataFrame) -> pd.Series:
    """Per trial, the share of its comparison participants in other conservative arms."""
    comparison = rows[rows["treat"] == 0]
    conservative = (comparison["comparison"] == "conservative").astype(float)
    return conservative.groupby(comparison["trial"]).mean()


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
