"""Table 1: characteristics of the trials included in the IPD meta-analysis."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..store import MasterData
from ._common import require

__all__ = ["table1"]

_WINDOWS = ("short", "moderate", "long")


def _arms_text(n_exercise: Any, n_comparison: Any) -> str:
    def num(value: Any) -> str:
        return "?" if pd.isna(value) else str(int(value))

    return f"{num(n_exercise)}; {num(n_comparison)}"


def table1(master: MasterData) -> pd.DataFrame:
    """One row per included trial, ordered by label (author, year), as the paper's Table 1.

    Columns: ``trial, study, country, population, participants, pct_female, mean_age,
    arms`` ("#exercise; #comparison" arms), ``comparison_category`` ("N/A" without a
    comparison arm), ``pain_instrument``, ``function_instrument`` ("-" when the trial has no
    such outcome), and ``short, moderate, long``: "+" when the trial has a visit in that
    follow-up window for pain or function, "-" otherwise (from ``master.windows``).
    Numbers stay numeric; rendering is the report's job.
    """
    trials = require(
        master,
        "trials",
        (
            "trial",
            "label",
            "country",
            "population",
            "included",
            "n_participants",
            "pct_female",
            "mean_age",
            "n_exercise_arms",
            "n_comparison_arms",
            "comparison_category",
            "pain_instrument",
            "function_instrument",
        ),
    )
    windows = require(master, "windows", ("trial", "outcome", "window", "time_weeks"))
    included = trials[trials["included"].astype(bool)].copy()
    available = (
        windows.assign(has=np.isfinite(pd.to_numeric(windows["time_weeks"], errors="coerce")))
        .groupby(["trial", "window"], observed=True)["has"]
        .any()
    )
    rows = []
    for _, trial in included.sort_values(["label", "trial"]).iterrows():
        no_comparison = pd.notna(trial.n_comparison_arms) and int(trial.n_comparison_arms) == 0
        row = {
            "trial": trial.trial,
            "study": trial.label,
            "country": trial.country,
            "population": trial.population,
            "participants": trial.n_participants,
            "pct_female": trial.pct_female,
            "mean_age": trial.mean_age,
            "arms": _arms_text(trial.n_exercise_arms, trial.n_comparison_arms),
            "comparison_category": "N/A" if no_comparison else trial.comparison_category,
            "pain_instrument": trial.pain_instrument if pd.notna(trial.pain_instrument) else "-",
            "function_instrument": (
                trial.function_instrument if pd.notna(trial.function_instrument) else "-"
            ),
        }
        for window in _WINDOWS:
            row[window] = "+" if bool(available.get((trial.trial, window), False)) else "-"
        rows.append(row)
    columns = [
        "trial",
        "study",
        "country",
        "population",
        "participants",
        "pct_female",
        "mean_age",
        "arms",
        "comparison_category",
        "pain_instrument",
        "function_instrument",
        *_WINDOWS,
    ]
    return pd.DataFrame(rows, columns=columns).reset_index(drop=True)
