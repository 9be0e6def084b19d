"""Follow-up outcomes of one simulated trial from the planted one-stage model (0-100 scale).

The model is :class:`~ipdma.simulate._config.OutcomeModel`'s, for each outcome o, trial i,
participant j and visit v (week w_v)::

    y_ijv = a_i + m_o(v) + b_i x0_ij
            + d(v) [arm_ij + s_arm r_ij + T_ij sum_k gamma_k (z_kij - mean_i z_k)]
            + sum_k beta_k (z_kij - mean_k) + sigma_i e_ijv

with ``d(v)`` the effect decay and ``m_o(v)`` the natural course of the visit's window,
arm_ij the arm effect (exercise: effect_usual + u_i; no treatment / usual care / placebo: 0;
other conservative: effect_usual - effect_conservative), s_arm r_ij the participant's own
deviation from it (``response_sd`` of the arm's category; r standard normal, correlated
between pain and function by ``response_correlation``) and errors e correlated between pain
and function (``residual_correlation``) and across visits (``visit_correlation``). Values
are clipped to 0-100. A participant misses a visit with the window's ``dropout`` rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._config import ConsortiumConfig, OutcomeModel, TrialConfig
from ._covariates import draw_baseline, observed_mask

OUTCOMES = ("pain", "function")


def visit_window(week: float) -> str:
    """The window a visit's effect size belongs to: short up to 19.5 weeks, long from 39."""
    if week <= 19.5:
        return "short"
    return "moderate" if week <= 39.0 else "long"


@dataclass(frozen=True)
class TrialEffects:
    """The trial-level random draws of one outcome (recorded in truth.json)."""

    intercept: float
    baseline: float
    treatment: float  # effect_usual + u_i: exercise vs no treatment / usual care
    sigma: float


@dataclass(frozen=True)
class SimulatedTrial:
    """One trial on the harmonized scale, before conversion to its native file.

    ``baseline``: complete baseline data (column ``arm`` indexes ``config.arms``);
    ``observed``: per variable, which baseline values the file contains;
    ``outcomes``: per outcome, an (n x visits) array on 0-100 with NaN where not measured;
    ``effects``: per outcome, the trial's random draws.
    """

    config: TrialConfig
    baseline: pd.DataFrame
    observed: dict[str, np.ndarray]
    outcomes: dict[str, np.ndarray]
    effects: dict[str, TrialEffects]


def _arm_effects(trial: TrialConfig, model: OutcomeModel, treatment: float) -> np.ndarray:
    effects = []
    for arm in trial.arms:
        if arm.role == "exercise":
            effects.append(treatment)
        elif arm.category == "other conservative":
            effects.append(model.effect_usual - model.effect_conservative)
        else:
            effects.append(0.0)
    return np.array(effects)


def _modifier_terms(
    model: OutcomeModel, baseline: pd.DataFrame, treat: np.ndarray, config: ConsortiumConfig
) -> tuple[np.ndarray, np.ndarray]:
    """(treatment x centred modifier part, prognostic part) of the linear predictor."""
    interaction = np.zeros(len(baseline))
    for name, gamma in model.interactions.items():
        z = baseline[name].to_numpy(float)
        interaction += gamma * treat * (z - z.mean())
    prognostic = np.zeros(len(baseline))
    for name, beta in model.prognostic.items():
        z = baseline[name].to_numpy(float)
        centre = _population_mean(name, config)
        prognostic += beta * (z - centre)
    return interaction, prognostic


def _population_mean(name: str, config: ConsortiumConfig) -> float:
    cov = config.covariates
    if name in cov.binary:
        return cov.binary[name].p
    if name in cov.continuous:
        spec = cov.continuous[name]
        return float(np.exp(spec.mean)) if spec.log else spec.mean
    return float(np.mean([t.mean_age for t in config.trials])) if name == "age" else 0.0


def _errors(
    n: int, visits: int, config: ConsortiumConfig, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Standard normal errors, correlated between outcomes and across one person's visits."""
    rho = config.residual_correlation
    persistent = rng.multivariate_normal([0.0, 0.0], [[1.0, rho], [rho, 1.0]], n)
    transient = rng.multivariate_normal([0.0, 0.0], [[1.0, rho], [rho, 1.0]], (n, visits))
    share = np.sqrt(config.visit_correlation)
    rest = np.sqrt(1.0 - config.visit_correlation)
    return {
        outcome: share * persistent[:, k, None] + rest * transient[:, :, k]
        for k, outcome in enumerate(OUTCOMES)
    }


def _responses(n: int, config: ConsortiumConfig, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Each participant's standardized deviation from their arm's effect (pain, function).

    Drawn from a child stream of ``rng``, so every other draw is the same whatever the
    response SDs are (the counterfactuals of ``implied_truth`` share all draws).
    """
    child = rng.spawn(1)[0]
    rho = config.response_correlation
    draws = child.multivariate_normal([0.0, 0.0], [[1.0, rho], [rho, 1.0]], n)
    return {outcome: draws[:, k] for k, outcome in enumerate(OUTCOMES)}


@dataclass(frozen=True)
class TrialDraws:
    """Every random draw of one trial, before an outcome model turns them into outcomes.

    ``errors`` / ``response``: per outcome, standard normal residuals (n x visits) and
    response deviations (n); ``effects``: per outcome, the standard normals of the trial's
    intercept, baseline slope, treatment effect and log residual SD; ``missing``: per
    outcome, which follow-up values the file lacks (dropout, item missingness, visits
    where the outcome was not measured).
    """

    trial: TrialConfig
    baseline: pd.DataFrame
    observed: dict[str, np.ndarray]
    treat: np.ndarray
    errors: dict[str, np.ndarray]
    response: dict[str, np.ndarray]
    effects: dict[str, np.ndarray]
    missing: dict[str, np.ndarray]


def draw_trial(
    trial: TrialConfig, config: ConsortiumConfig, rng: np.random.Generator
) -> TrialDraws:
    """All random draws of one trial: baseline data, what its file observes, errors."""
    baseline = draw_baseline(trial, config, rng)
    n = len(baseline)
    observed = observed_mask(trial, config, n, rng)
    arm = baseline["arm"].to_numpy()
    treat = np.array([a.role == "exercise" for a in trial.arms], dtype=float)[arm]
    weeks = np.asarray(trial.visits, dtype=float)
    windows = [visit_window(w) for w in weeks]
    errors = _errors(n, len(weeks), config, rng)
    missed = np.column_stack([rng.random(n) < config.dropout[w] for w in windows])
    response = _responses(n, config, rng)
    effects: dict[str, np.ndarray] = {}
    missing: dict[str, np.ndarray] = {}
    for outcome in OUTCOMES:
        effects[outcome] = rng.standard_normal(4)
        measured = np.isin(weeks, trial.visits_for(outcome))
        item_missing = rng.random((n, len(weeks))) < config.covariates.outcome_item_missing
        missing[outcome] = missed | item_missing | ~measured[None, :]
    return TrialDraws(trial, baseline, observed, treat, errors, response, effects, missing)


def trial_outcomes(
    draws: TrialDraws, config: ConsortiumConfig, models: dict[str, OutcomeModel] | None = None
) -> tuple[dict[str, np.ndarray], dict[str, TrialEffects]]:
    """Outcomes (n x visits on 0-100, NaN where missing) and trial effects from ``draws``.

    ``models`` replaces the config's outcome models (the counterfactuals of
    ``implied_truth``: the same draws under another arm effect).
    """
    trial, baseline = draws.trial, draws.baseline
    arm = baseline["arm"].to_numpy()
    windows = [visit_window(w) for w in trial.visits]
    outcomes: dict[str, np.ndarray] = {}
    effects: dict[str, TrialEffects] = {}
    for outcome in OUTCOMES:
        model = (models or {}).get(outcome) or config.outcome_model(outcome)
        z = draws.effects[outcome]
        effect = TrialEffects(
            intercept=model.intercept + model.intercept_sd * z[0],
            baseline=model.baseline + model.baseline_sd * z[1],
            treatment=model.effect_usual + model.tau * z[2],
            sigma=model.residual_sd * float(np.exp(model.residual_trial_sd * z[3])),
        )
        effects[outcome] = effect
        x0 = baseline[f"{outcome}0"].to_numpy(float)
        arm_effect = _arm_effects(trial, model, effect.treatment)[arm]
        response_sd = np.array([model.response_sd.get(a.category, 0.0) for a in trial.arms])[arm]
        interaction, prognostic = _modifier_terms(model, baseline, draws.treat, config)
        personal = arm_effect + interaction + response_sd * draws.response[outcome]
        values = np.empty((len(baseline), len(windows)))
        for v, window in enumerate(windows):
            values[:, v] = (
                effect.intercept
                - model.improvement[window]
                + effect.baseline * x0
                + model.decay[window] * personal
                + prognostic
                + effect.sigma * draws.errors[outcome][:, v]
            )
        values = np.clip(values, 0.0, 100.0)
        values[draws.missing[outcome]] = np.nan
        outcomes[outcome] = values
    return outcomes, effects


def simulate_trial(
    trial: TrialConfig, config: ConsortiumConfig, rng: np.random.Generator
) -> SimulatedTrial:
    """Draw one trial: baseline data, what its file observes, and outcomes at its visits."""
    draws = draw_trial(trial, config, rng)
    outcomes, effects = trial_outcomes(draws, config)
    return SimulatedTrial(trial, draws.baseline, draws.observed, outcomes, effects)


def simulate_trials(config: ConsortiumConfig, seed: int) -> list[SimulatedTrial]:
    """Every trial of ``config``; trial k uses its own stream spawned from ``seed``.

    Spawned streams make each trial's data independent of the other trials' settings, so
    editing one trial in a design study leaves the others' data unchanged.
    """
    streams = np.random.SeedSequence(seed).spawn(len(config.trials))
    return [
        simulate_trial(trial, config, np.random.default_rng(stream))
        for trial, stream in zip(config.trials, streams, strict=True)
    ]
