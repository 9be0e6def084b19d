"""Follow-up windows (closest visit, max distance, ties) and global recovery."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ipdma.harmonize import choose_windows, followup_table, recovered
from ipdma.spec import RecoverySettings, Settings


def _outcomes(times, trial="t", outcome="pain"):
    return pd.DataFrame({"trial": trial, "pid": "1", "outcome": outcome,
                         "time_weeks": [0.0, *times], "value": 50.0})  # fmt: skip


@pytest.mark.parametrize(("ties", "expected"), [("later", 17.0), ("earlier", 9.0)])
def test_tie_rule(ties, expected):
    settings = Settings(ties=ties)
    w = choose_windows(_outcomes([9.0, 17.0]), ["t"], settings)
    short = w.query("outcome == 'pain' and window == 'short'")["time_weeks"].item()
    assert short == expected


def test_max_distance_is_a_setting():
    out = _outcomes([6.0, 39.0])
    default = choose_windows(out, ["t"], Settings()).set_index(["outcome", "window"])
    assert default.loc[("pain", "short"), "time_weeks"] == 6.0  # 7 weeks away, max 9
    assert np.isnan(default.loc[("pain", "moderate"), "time_weeks"])  # 13 > 10
    assert default.loc[("pain", "long"), "time_weeks"] == 39.0  # 13 <= 20
    tight = Settings.model_validate(
        {"windows": {"short": {"target": 13, "max_distance": 4},
                     "moderate": {"target": 26, "max_distance": 13},
                     "long": {"target": 52, "max_distance": 5}}}
    )  # fmt: skip
    w = choose_windows(out, ["t"], tight).set_index(["outcome", "window"])
    assert np.isnan(w.loc[("pain", "short"), "time_weeks"])
    assert w.loc[("pain", "moderate"), "time_weeks"] == 39.0  # tie 13 vs 13 -> later
    assert np.isnan(w.loc[("pain", "long"), "time_weeks"])
    assert np.isnan(w.loc[("function", "short"), "time_weeks"])  # outcome absent


def test_baseline_is_never_a_followup():
    w = choose_windows(_outcomes([]), ["t"], Settings())
    assert w["time_weeks"].isna().all()


def test_recovered_thresholds():
    got = recovered([50, 80, 80, 40, np.nan, 50], [35, 56, 57, 20, 10, np.nan],
                    relative=0.3, points=20)  # fmt: skip
    # 15 < 20 points; 24 = 30 % of 80 exactly and >= 20; 23 < 24; 20 >= 12 and >= 20
    np.testing.assert_array_equal(got, [0, 1, 0, 1, np.nan, np.nan])
    assert recovered([30], [20], relative=0.3, points=10)[0] == 1.0


def test_global_recovery_pain_or_function_missing_when_neither():
    participants = pd.DataFrame({"trial": "t", "pid": ["a", "b", "c", "d"],
                                 "pain0": [80.0, 80.0, np.nan, 80.0],
                                 "function0": [30.0, 30.0, 30.0, np.nan]})  # fmt: skip
    outcomes = pd.DataFrame({
        "trial": "t", "pid": ["a", "a", "b", "b", "c", "d"],
        "outcome": ["pain", "function", "pain", "function", "function", "function"],
        "time_weeks": 13.0, "value": [70.0, 20.0, 70.0, 25.0, 29.0, 5.0],
    })  # fmt: skip
    windows = choose_windows(outcomes, ["t"], Settings())
    table = followup_table(participants, outcomes, windows, RecoverySettings())
    short = table[table["window"] == "short"].set_index("pid")["recovery"]
    assert short["a"] == 1.0  # function: 10 points and 33 %
    assert short["b"] == 0.0  # neither
    assert short["c"] == 0.0  # only function computable: 1 point
    assert np.isnan(short["d"])  # no baseline function, no pain follow-up
    custom = followup_table(participants, outcomes, windows,
                            RecoverySettings(function_points=11))  # fmt: skip
    assert custom.query("window == 'short' and pid == 'a'")["recovery"].item() == 0.0
