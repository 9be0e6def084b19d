"""Validation of a :class:`ConsortiumConfig` before anything is simulated or written."""

from __future__ import annotations

import re
from typing import get_args

import numpy as np

from ..errors import SpecError
from ._config import LATENT_ORDER, Category, ConsortiumConfig, FileFormat, TrialConfig
from ._instruments import INSTRUMENTS

_ID = re.compile(r"^[a-z][a-z0-9_\-]*$")
_OPTIONAL = frozenset(LATENT_ORDER) - {"pain0", "function0"}


def validate_config(config: ConsortiumConfig) -> ConsortiumConfig:
    """Return ``config`` if every part is usable; else raise a SpecError saying where."""
    if not config.trials:
        raise SpecError("the consortium has no trials", hint="give at least one TrialConfig")
    seen: set[str] = set()
    for trial in config.trials:
        if trial.trial in seen:
            raise SpecError("trial id appears twice", trial=trial.trial,
                            hint="give every trial its own id")  # fmt: skip
        seen.add(trial.trial)
        _validate_trial(trial)
    _check(config.size_factor > 0, "size_factor must be positive", value=config.size_factor)
    for window, rate in config.dropout.items():
        _check(0 <= rate < 1, f"dropout[{window!r}] must be in [0, 1)", value=rate)
    _check(set(config.windows) == {"short", "moderate", "long"},
           "windows must give 'short', 'moderate' and 'long'", value=sorted(config.windows))  # fmt: skip
    _check(-1 < config.residual_correlation < 1, "residual_correlation must be in (-1, 1)",
           value=config.residual_correlation)  # fmt: skip
    _check(-1 <= config.response_correlation <= 1, "response_correlation must be in [-1, 1]",
           value=config.response_correlation)  # fmt: skip
    _check(0 <= config.visit_correlation < 1, "visit_correlation must be in [0, 1)",
           value=config.visit_correlation)  # fmt: skip
    for pair in config.covariates.correlations:
        unknown = [name for name in pair if name not in LATENT_ORDER]
        _check(not unknown, "correlation names an unknown variable", value=unknown)
    for outcome in ("pain", "function"):
        model = config.outcome_model(outcome)
        for name in (*model.interactions, *model.prognostic):
            _check(name in _OPTIONAL or name in ("age", "female"),
                   f"{outcome} model names an unknown modifier", value=name)  # fmt: skip
        for category, sd in model.response_sd.items():
            _check(
                category in get_args(Category),
                f"{outcome} response_sd names an unknown arm category",
                value=category,
                hint=f"use one of {list(get_args(Category))}",
            )
            _check(sd >= 0, f"{outcome} response_sd[{category!r}] must be >= 0", value=sd)
        _check(model.residual_sd > 0 and model.tau >= 0,
               f"{outcome} model needs residual_sd > 0 and tau >= 0", value=model.residual_sd)  # fmt: skip
    return config


def validate_seed(seed: object) -> int:
    """The seed as an int, or a SpecError (numpy needs a non-negative integer)."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise SpecError("the seed must be a non-negative integer", value=seed,
                        hint="pass e.g. seed=2020 (the same seed writes the same data)")  # fmt: skip
    return int(seed)


def _validate_trial(trial: TrialConfig) -> None:
    where = {"trial": trial.trial}
    _check(bool(_ID.match(trial.trial)), "trial id must be lower case letters, digits, _ or -",
           value=trial.trial, **where)  # fmt: skip
    _check(trial.n >= 1, "trial size must be at least 1", value=trial.n, **where)
    _check(0 <= trial.pct_female <= 100, "pct_female must be in 0-100", value=trial.pct_female,
           **where)  # fmt: skip
    _check(trial.n_exercise_arms >= 1, "a trial needs at least one exercise arm",
           value=[a.name for a in trial.arms], **where)  # fmt: skip
    _check(trial.file_format in get_args(FileFormat), "unknown file format",
           value=trial.file_format, **where)  # fmt: skip
    for outcome in ("pain", "function"):
        name = trial.pain_instrument if outcome == "pain" else trial.function_instrument
        if name is None:
            continue
        inst = INSTRUMENTS.get(name)
        _check(inst is not None and inst.outcome == outcome,
               f"unknown {outcome} instrument", value=name, variable=outcome,
               hint=f"use one of {sorted(k for k, v in INSTRUMENTS.items() if v.outcome == outcome)}",
               **where)  # fmt: skip
        _check(set(trial.visits_for(outcome)) <= set(trial.visits),
               f"{outcome}_visits must be among the trial's visits",
               value=trial.visits_for(outcome), **where)  # fmt: skip
    _check(len(trial.visits) > 0 and min(trial.visits) > 0
           and len(set(trial.visits)) == len(trial.visits),
           "visits must be distinct positive weeks", value=trial.visits, **where)  # fmt: skip
    unknown = sorted(set(trial.measured) - _OPTIONAL)
    _check(not unknown, "measured names unknown variables", value=unknown, **where,
           hint=f"use names from {sorted(_OPTIONAL)}")  # fmt: skip
    bad = sorted(set(trial.identifiers) - {"initials", "birth_date"})
    _check(not bad, "unknown identifier kind", value=bad, hint="use 'initials' or 'birth_date'",
           **where)  # fmt: skip


def _check(condition: bool, message: str, *, hint: str | None = None, **where) -> None:
    if not condition:
        raise SpecError(f"simulation config: {message}",
                        hint=hint or "fix the ConsortiumConfig (dataclasses.replace)", **where)  # fmt: skip
