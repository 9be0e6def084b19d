"""Combine harmonized trials and the project file into the master dataset's tables."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..spec import Project, TrialSpec
from ._followup import choose_windows, followup_table
from ._trial import HarmonizedTrial

__all__ = ["combine_trials"]

TRIAL_COLUMNS = [
    "trial", "label", "year", "country", "population", "included", "n_participants",
    "pct_female", "mean_age", "mean_pain0", "n_exercise_arms", "n_comparison_arms",
    "comparison_category", "pain_instrument", "function_instrument",
]  # fmt: skip
ARM_COLUMNS = ["trial", "arm_code", "arm", "role", "category", "type", "design", "delivery", "n"]
PUBLISHED_COLUMNS = ["trial", "outcome", "comparison", "md", "se", "time_weeks"]


def _not_included(project: Project) -> tuple[list[dict], list[dict], list[dict]]:
    trials, arms, effects = [], [], []
    for t in project.not_included:
        roles = ["exercise" if a.category == "exercise" else "comparison" for a in t.arms]
        trials.append({
            "trial": t.id, "label": t.label, "year": t.year, "country": t.country,
            "population": t.population, "included": False,
            "n_participants": t.n_participants, "pct_female": t.pct_female,
            "mean_age": t.mean_age, "mean_pain0": t.mean_pain0,
            "n_exercise_arms": roles.count("exercise"),
            "n_comparison_arms": roles.count("comparison"),
            "comparison_category": t.comparison_category,
            "pain_instrument": t.pain_instrument, "function_instrument": t.function_instrument,
        })  # fmt: skip
        for number, (arm, role) in enumerate(zip(t.arms, roles, strict=True), start=1):
            arms.append({
                "trial": t.id, "arm_code": str(number), "arm": arm.name, "role": role,
                "category": arm.category, "type": arm.type, "design": arm.design,
                "delivery": arm.delivery, "n": arm.n,
            })  # fmt: skip
        effects += [_effect_row(t.id, e) for e in t.effects]
    return trials, arms, effects


def _effect_row(trial: str, effect) -> dict:
    return {"trial": trial, "outcome": effect.outcome, "comparison": effect.comparison,
            "md": effect.md, "se": effect.se, "time_weeks": effect.time_weeks}  # fmt: skip


def combine_trials(
    project: Project, specs: Sequence[TrialSpec], harmonized: Sequence[HarmonizedTrial]
) -> dict[str, pd.DataFrame]:
    """The master tables: trials, arms, participants, outcomes, windows, followup,
    published and identifiers (trials in project order, then not-included trials)."""
    extra_trials, extra_arms, effects = _not_included(project)
    trials = pd.DataFrame([h.trial for h in harmonized] + extra_trials, columns=TRIAL_COLUMNS)
    trials["included"] = trials["included"].astype(bool)
    arms = pd.concat([h.arms for h in harmonized] + [pd.DataFrame(extra_arms, columns=ARM_COLUMNS)],
                     ignore_index=True)[ARM_COLUMNS]  # fmt: skip
    arms["n"] = arms["n"].astype("Int64")
    participants = pd.concat([h.participants for h in harmonized], ignore_index=True)
    outcomes = pd.concat([h.outcomes for h in harmonized], ignore_index=True)
    outcomes["time_weeks"] = outcomes["time_weeks"].astype(float)
    outcomes["value"] = outcomes["value"].astype(float)
    outcomes["native_value"] = outcomes["native_value"].astype(float)
    windows = choose_windows(outcomes, [s.id for s in specs], project.settings)
    followup = followup_table(participants, outcomes, windows, project.settings.recovery)
    published = [_effect_row(s.id, e) for s in specs for e in s.published.effects] + effects
    published_frame = pd.DataFrame(published, columns=PUBLISHED_COLUMNS)
    published_frame[["md", "se", "time_weeks"]] = published_frame[
        ["md", "se", "time_weeks"]
    ].astype(float)
    identifiers = pd.concat([h.identifiers for h in harmonized], ignore_index=True)
    for column in ("pct_female", "mean_age", "mean_pain0"):
        trials[column] = trials[column].astype(float)
    return {
        "trials": trials,
        "arms": arms,
        "participants": participants,
        "outcomes": outcomes,
        "windows": windows,
        "followup": followup,
        "published": published_frame,
        "identifiers": identifiers,
    }
