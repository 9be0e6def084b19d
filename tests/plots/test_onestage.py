"""One-stage forest plot: a row per trial, the one-stage diamond, the prediction interval, tau."""

from __future__ import annotations

import math

import pandas as pd

from ipdma import plots


def _texts(fig) -> list[str]:
    ax = fig.axes[0]
    return [t.get_text() for t in (*ax.texts, *fig.texts)]


def _gid(fig, gid: str) -> list:
    ax = fig.axes[0]
    return [a for a in (*ax.collections, *ax.patches, *ax.texts) if a.get_gid() == gid]


TRIALS = pd.DataFrame(
    {"trial": ["t1", "t2", "t3", "t4"], "n": [100, 50, 80, 20],
     "estimate": [-5.0, -2.0, -8.0, math.nan], "ci_low": [-9.0, -7.0, -12.0, math.nan],
     "ci_high": [-1.0, 3.0, -4.0, math.nan], "used": [True, True, True, False],
     "reason": ["", "", "", "only one arm"]}
)  # fmt: skip
POOLED = {"estimate": -5.1, "ci_low": -8.0, "ci_high": -2.2, "pi_low": -14.0,
          "pi_high": 3.8, "tau": 2.5, "studies": 3, "participants": 230}  # fmt: skip


def test_one_stage_forest_rows():
    fig = plots.one_stage_forest(TRIALS, POOLED, labels={"t1": "Trial One, 2001"})
    texts = _texts(fig)
    assert "Trial One, 2001" in texts and "t2" in texts
    assert "(only one arm)" in texts  # an unused trial is listed with its reason
    assert "One-stage estimate (3 trials)" in texts
    assert "Prediction interval (t, 1 df)" in texts
    assert "\u22125.10 [\u22128.00, \u22122.20]" in texts
    assert any("\u03c4 = 2.50 (points)" in t for t in texts)
    (markers,) = _gid(fig, "study-markers")
    assert len(markers.get_offsets()) == 3
    assert len(_gid(fig, "diamond-pooled")) == 1
    (bar,) = _gid(fig, "prediction-interval")
    assert bar.get_segments()[0][:, 0].tolist() == [-14.0, 3.8]


def test_one_stage_forest_odds_ratio_on_a_log_axis_without_pi():
    trials = TRIALS.assign(estimate=[2.0, 1.5, 3.0, math.nan], ci_low=[1.1, 0.8, 1.5, math.nan],
                           ci_high=[3.6, 2.8, 6.0, math.nan])  # fmt: skip
    pooled = {**POOLED, "estimate": 2.1, "ci_low": 1.4, "ci_high": 3.1, "pi_low": math.nan,
              "pi_high": math.nan, "tau": 0.0}  # fmt: skip
    fig = plots.one_stage_forest(trials, pooled, measure="OR", tau_scale="log odds")
    assert fig.axes[0].get_xscale() == "log"
    assert not _gid(fig, "prediction-interval")
    assert any("\u03c4 = 0.00 (log odds)" in t for t in _texts(fig))


def test_subgroup_forest_overall_row_and_interaction_p():
    frame = pd.DataFrame(
        {"modifier": ["medication", "medication"], "level": ["No", "Yes"],
         "estimate": [-2.0, -9.0], "ci_low": [-5.0, -12.0], "ci_high": [1.0, -6.0],
         "participants": [400, 450]}
    )  # fmt: skip
    overall = {"estimate": -5.5, "ci_low": -8.0, "ci_high": -3.0, "participants": 850}
    fig = plots.subgroup_forest(
        frame, group_labels={"medication": "Any LBP medication use"}, overall=overall,
        interaction_p={"medication": "p < 0.001"},
    )  # fmt: skip
    texts = _texts(fig)
    assert "Overall (all participants)" in texts and "850" in texts
    assert "Any LBP medication use  (p < 0.001)" in texts
    assert len(_gid(fig, "diamond-pooled")) == 1
