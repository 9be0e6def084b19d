"""A small MasterData-shaped fixture built from plain DataFrames (numbers chosen by hand)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ipdma.store import MasterData


def _participants() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    frames = []
    for trial, n in (("t1", 40), ("t2", 30), ("t3", 20), ("t4", 10)):
        frame = pd.DataFrame(
            {
                "trial": trial,
                "pid": [f"{trial}-{i}" for i in range(n)],
                "arm_code": "1",
                "treat": rng.integers(0, 2, n).astype(float),
                "age": rng.normal(45, 10, n).round(1),
                "female": rng.integers(0, 2, n).astype(float),
                "pain0": rng.uniform(20, 90, n).round(0),
                "episode_months": rng.exponential(20, n).round(1),
            }
        )
        frames.append(frame)
    data = pd.concat(frames, ignore_index=True)
    data.loc[[0, 5, 50], "age"] = np.nan
    data.loc[data.trial == "t4", "episode_months"] = np.nan  # not collected in t4
    data.loc[3, "female"] = np.nan
    return data


@pytest.fixture
def master() -> MasterData:
    trials = pd.DataFrame(
        {
            "trial": ["t2", "t1", "t3", "t4", "n1", "n2", "n3"],
            "label": ["Beta, 2005", "Alpha, 2001", "Gamma, 2010", "Delta, 2012", "N1", "N2", "N3"],
            "year": [2005, 2001, 2010, 2012, 2003, 2008, 2011],
            "country": ["Denmark", "Spain", "Italy", "Norway", "Canada", "USA", "Japan"],
            "population": [
                "primary care",
                "secondary care",
                "occupational",
                "general or mixed",
                "primary care",
                "primary care",
                "occupational",
            ],
            "included": [True, True, True, True, False, False, False],
            "n_participants": [30, 40, 20, 10, 120, 60, 90],
            "pct_female": [50.0, 45.0, 60.0, 40.0, 30.0, 40.0, 65.0],
            "mean_age": [44.0, 46.0, 45.0, 43.0, 40.0, 42.0, 47.0],
            "mean_pain0": [55.0, 50.0, 60.0, 52.0, 48.0, 58.0, 50.0],
            "n_exercise_arms": [1, 2, 1, 2, 1, 1, 2],
            "n_comparison_arms": [1, 1, 1, 0, 1, 2, 1],
            "comparison_category": [
                "Manual therapy",
                "No treatment/usual care",
                "Education",
                None,
                "x",
                "y",
                "z",
            ],
            "pain_instrument": ["VAS", "NRS", "VAS", None, None, None, None],
            "function_instrument": ["RMDQ", "ODI", None, "RMDQ", None, None, None],
        }
    )
    arms = pd.DataFrame(
        [
            (
                "t1",
                "1",
                "Core",
                "exercise",
                "exercise",
                "core strengthening",
                "individualized",
                "group",
            ),
            ("t1", "2", "Walk", "exercise", "exercise", "aerobic", "standardized", "group"),
            ("t1", "3", "GP", "comparison", "usual care", "usual care", None, None),
            ("t2", "1", "Yoga", "exercise", "exercise", "yoga", "standardized", "group"),
            ("t2", "2", "Manip", "comparison", "other conservative", "manual therapy", None, None),
            ("t3", "1", "Core", "exercise", "exercise", "core strengthening", None, "one-on-one"),
            ("t3", "2", "Edu", "comparison", "other conservative", "advice/education", None, None),
            ("t4", "1", "A", "exercise", "exercise", "mixed", "individualized", "independent"),
            ("t4", "2", "B", "exercise", "exercise", "mixed", "individualized", "independent"),
            ("n1", "1", "C", "exercise", "exercise", "mixed", "standardized", "group"),
            ("n1", "2", "D", "comparison", "no treatment", "no treatment", None, None),
            ("n2", "1", "E", "exercise", "exercise", "strengthening", "standardized", "group"),
            ("n2", "2", "F", "comparison", "usual care", "usual care", None, None),
            ("n2", "3", "G", "comparison", "other conservative", "electrotherapy", None, None),
            ("n3", "1", "H", "exercise", "exercise", "mixed", "standardized", "group"),
            ("n3", "2", "I", "exercise", "exercise", "yoga", "standardized", "group"),
            ("n3", "3", "J", "comparison", "other conservative", "electrotherapy", None, None),
        ],
        columns=["trial", "arm_code", "arm", "role", "category", "type", "design", "delivery"],
    ).assign(n=10)
    windows = pd.DataFrame(
        [
            (trial, outcome, window, weeks)
            for trial, weeks_by_window in {
                "t1": (13, 26, 52),
                "t2": (12, np.nan, 52),
                "t3": (13, np.nan, np.nan),
                "t4": (14, 26, np.nan),
            }.items()
            for outcome in ("pain", "function")
            for window, weeks in zip(("short", "moderate", "long"), weeks_by_window, strict=True)
        ],
        columns=["trial", "outcome", "window", "time_weeks"],
    )
    empty = pd.DataFrame()
    return MasterData(
        trials=trials,
        arms=arms,
        participants=_participants(),
        outcomes=empty,
        windows=windows,
        followup=empty,
        published=empty,
        provenance=empty,
    )
