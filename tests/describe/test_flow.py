"""Figure 1 numbers: trials and participants through the flow, and [flow] validation."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from ipdma import plots
from ipdma.describe import flow_counts
from ipdma.errors import SpecError
from ipdma.spec._project import FlowSpec


def _master():
    trials = pd.DataFrame({"trial": ["a", "b", "c", "x"], "included": [True, True, True, False]})
    participants = pd.DataFrame(
        {"trial": ["a"] * 4 + ["b"] * 3 + ["c"] * 2, "pid": list(range(9)),
         "pain0": [50, 60, np.nan, 40, 55, 45, 35, 30, 20],
         "function0": [50.0] * 9}
    )  # fmt: skip
    followup = pd.DataFrame(
        {"trial": participants.trial, "pid": participants.pid, "window": "short",
         "pain": [10, 20, 30, np.nan, 15, 25, 35, np.nan, np.nan],
         "function": [10.0] * 7 + [np.nan] * 2, "recovery": [1.0] * 7 + [np.nan] * 2}
    )  # fmt: skip
    return SimpleNamespace(trials=trials, participants=participants, followup=followup)


def test_flow_counts_from_the_data_and_the_results():
    overall = pd.DataFrame(
        {"outcome": ["pain"], "window": ["short"], "comparison": ["any"], "participants": [4]}
    )
    counts = flow_counts(_master(), overall)
    assert (counts.eligible, counts.requested, counts.provided) == (4, 4, 3)
    assert counts.included == 2  # trial c has no outcome in any window
    pain = next(w for w in counts.windows if w.outcome == "pain")
    # 9 received: 3 not measured, 1 without baseline, 5 available of which 4 analysed
    assert (pain.no_outcome, pain.no_baseline, pain.analysed, pain.not_contributing) == (
        3, 1, 4, 1
    )  # fmt: skip
    function = next(w for w in counts.windows if w.outcome == "function")
    assert function.analysed == 7 and function.no_outcome == 2  # no result: all available


def test_flow_section_fills_what_the_data_cannot_know():
    flow = FlowSpec(eligible=10, requested=8, not_provided={"no response": 3})
    counts = flow_counts(_master(), None, flow)
    assert (counts.eligible, counts.requested, counts.provided) == (10, 8, 3)
    assert counts.not_provided == (("no response", 3),)
    fig = plots.flow_diagram(counts)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "Eligible trials: 10" in texts and "Not requested: 2 trials" in texts
    assert any(t.startswith("IPD not provided: 5 trials\n  no response: 3") for t in texts)
    with pytest.raises(SpecError, match="provided <= requested <= eligible"):
        flow_counts(_master(), None, FlowSpec(eligible=10, requested=2))
    with pytest.raises(SpecError, match="not_provided"):
        flow_counts(_master(), None, FlowSpec(eligible=6, requested=5, not_provided={"lost": 3}))


def test_followup_week_per_trial_and_window():
    master = _master()
    master.trials["label"] = ["A, 2001", "B, 2002", "C, 2003", "X, 2004"]
    master.followup["pain_weeks"] = [8.0] * 4 + [12.0] * 3 + [np.nan] * 2
    master.followup["function_weeks"] = [8.0] * 4 + [26.0] * 3 + [np.nan] * 2
    from ipdma.describe import followup_weeks

    table = followup_weeks(master).set_index("trial")
    assert table.loc["a", "short"] == "8" and table.loc["a", "label"] == "A, 2001"
    assert table.loc["b", "short"] == "12 / 26"  # pain / function at different visits
    assert table.loc["c", "short"] == ""
