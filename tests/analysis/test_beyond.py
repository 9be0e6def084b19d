"""The analyses beyond the paper at analysis time (``AnalysisResults.beyond``): a planted
non-linear interaction is found by the grid's spline step, the stored frames equal direct
calls of the analysis functions, the plan switches them off, the fits are cached."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ipdma
from ipdma.analysis import AnalysisPlan, load_results
from ipdma.analysis._beyond import unit_keys
from ipdma.analysis._beyond_units import cell_frame
from ipdma.analysis._credibility import interaction_by_trial
from ipdma.analysis._predict import iecv
from ipdma.analysis._splines import spline_interaction
from ipdma.analysis._store import ResultsStore

from ._data import frame

pytestmark = pytest.mark.filterwarnings("ignore::ipdma.errors.IpdmaWarning")

PLAN = {
    "outcomes": ["pain", "function", "recovery"],
    "comparisons": ["any"],
    "modifiers": ["age", "bmi", "medication", "pain0"],
    "subgroups": False,
    "two_stage": False,
    "adjustments": ["unadjusted"],
    "prediction_modifiers": ["medication", "age"],
    "modifier": {"medication": {"type": "binary", "direction": "larger"}},
}


def _planted(seed: int = 5) -> pd.DataFrame:
    """The test frame with a U-shaped age interaction on pain (effect -9 at age 45, 12
    points less benefit 20 years either side), the medication interaction (-5), and global
    recovery with a U-shaped log odds ratio in age (1.2 at 45, 1.6 less 20 years away)."""
    data = frame(seed, trials=10, interaction_medication=-5.0)
    curve = 0.03 * (data["age"] - 45) ** 2
    rng = np.random.default_rng(seed + 100)
    logit = (-0.5 + 0.02 * (data["function0"] - 45)
             + data["treat"] * (1.2 - 0.004 * (data["age"] - 45) ** 2))  # fmt: skip
    recovery = (rng.random(len(data)) < 1 / (1 + np.exp(-logit))).astype(float)
    return data.assign(pain=data["pain"] + data["treat"] * curve, recovery=recovery,
                       window="short")  # fmt: skip


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    data = _planted()
    cache = tmp_path_factory.mktemp("beyond") / "results.duckdb"
    results = ipdma.analysis.run(data, PLAN, jobs=1, cache=cache)
    return data, results, cache


def test_planted_nonlinear_interaction_is_found(analysed):
    _, results, _ = analysed
    tests = results.beyond.spline_tests.set_index(["outcome", "modifier"])
    assert set(tests.index) == {(o, m) for o in ("pain", "function", "recovery")
                                for m in ("age", "bmi", "pain0")}  # fmt: skip
    assert (tests["error"] == "").all()
    assert tests.loc[("pain", "age"), "p"] < 1e-6  # planted U shape
    assert tests.loc[("pain", "bmi"), "p"] > 0.01  # none planted
    assert (tests.xs("recovery")["scale"] == "log OR").all()
    assert tests.loc[("recovery", "age"), "p"] < 0.01  # planted U shape in the log OR
    assert tests.loc[("recovery", "age"), "p_lr"] < 0.01
    assert tests.loc[("recovery", "bmi"), "p"] > 0.01
    assert tests.loc[("pain", "age"), "p_lr"] != tests.loc[("pain", "age"), "p_lr"]  # NaN
    curve = results.beyond.spline_curves
    one = curve[(curve.outcome == "pain") & (curve.modifier == "age")
                & (curve.method == "one-stage")]  # fmt: skip
    inner = one[(one.x > 35) & (one.x < 55)]
    # the planted mean effect: -6, -5 with medication (half the participants), the U shape
    truth = -6.0 - 2.5 + 0.03 * (inner.x - 45) ** 2
    assert np.abs(inner.estimate - truth).max() < 2.0
    covered = (inner.ci_low <= truth) & (truth <= inner.ci_high)
    assert covered.all()
    linear = curve[(curve.outcome == "pain") & (curve.modifier == "age")
                   & (curve.method == "linear")]  # fmt: skip
    assert np.ptp(linear["estimate"]) < 0.5 * np.ptp(one["estimate"])  # misses the U
    histogram = results.beyond.spline_histogram
    mine = histogram[(histogram.outcome == "pain") & (histogram.modifier == "age")]
    n = tests.loc[("pain", "age"), "participants"]
    assert 0.97 * n <= mine["count"].sum() <= n  # the plotted range: 1st to 99th centile


def test_stored_values_equal_direct_calls(analysed):
    data, results, cache = analysed
    stored = load_results(cache).beyond
    cell = cell_frame(data.drop(columns="window"), "any")
    direct = spline_interaction(cell, "age", outcome="pain", baseline="pain0")
    row = stored.spline_tests.set_index(["outcome", "modifier"]).loc[("pain", "age")]
    assert row["p"] == pytest.approx(direct.nonlinear_p, rel=1e-9)
    assert row["chi2"] == pytest.approx(direct.nonlinear_chi2, rel=1e-9)
    curve = stored.spline_curves
    one = curve[(curve.outcome == "pain") & (curve.modifier == "age")
                & (curve.method == "one-stage")]  # fmt: skip
    np.testing.assert_allclose(one["estimate"], direct.one_stage.frame["estimate"], rtol=1e-9)
    np.testing.assert_allclose(one["ci_high"], direct.one_stage.frame["ci_high"], rtol=1e-9)
    logistic = spline_interaction(cell, "age", outcome="recovery", baseline="function0",
                                  family="binomial")  # fmt: skip
    row = stored.spline_tests.set_index(["outcome", "modifier"]).loc[("recovery", "age")]
    assert row["p"] == pytest.approx(logistic.nonlinear_p, rel=1e-9)
    assert row["p_lr"] == pytest.approx(logistic.lr_p, rel=1e-9)
    assert row["two_stage_studies"] == len(logistic.two_stage_trials)
    one = curve[(curve.outcome == "recovery") & (curve.modifier == "age")
                & (curve.method == "one-stage")]  # fmt: skip
    np.testing.assert_allclose(one["estimate"], logistic.one_stage.frame["estimate"], rtol=1e-9)
    # the modifier that is the outcome's baseline value (pain0 on pain) is fitted too
    same = spline_interaction(cell, "pain0", outcome="pain", baseline="pain0")
    row = stored.spline_tests.set_index(["outcome", "modifier"]).loc[("pain", "pain0")]
    assert row["p"] == pytest.approx(same.nonlinear_p, rel=1e-9)

    complete = cell[["trial", "treat", "pain", "pain0", "medication", "age"]].dropna()
    calibration = iecv(complete, ("medication", "age"), outcome="pain", baseline="pain0")
    summary = stored.prediction.set_index("outcome").loc["pain"]
    assert summary["slope"] == pytest.approx(calibration.slope, rel=1e-9)
    assert summary["c_benefit"] == pytest.approx(calibration.c_benefit, rel=1e-9)
    groups = stored.prediction_groups[stored.prediction_groups.outcome == "pain"]
    np.testing.assert_allclose(groups["observed"], calibration.groups["observed"], rtol=1e-9)
    assert len(groups) == 5 and groups["n"].sum() == len(complete)
    complete = cell[["trial", "treat", "recovery", "function0", "medication", "age"]].dropna()
    calibration = iecv(complete, ("medication", "age"), outcome="recovery",
                       baseline="function0", family="binomial")  # fmt: skip
    summary = stored.prediction.set_index("outcome").loc["recovery"]
    assert summary["scale"] == "log OR"
    assert summary["slope"] == pytest.approx(calibration.slope, rel=1e-9)
    assert summary["c_benefit"] == pytest.approx(calibration.c_benefit, rel=1e-9)

    assert not results.important.empty
    rated = stored.credibility
    assert len(rated) == len(results.important)
    med = rated[(rated.outcome == "pain") & (rated.modifier == "medication")].iloc[0]
    by_trial = interaction_by_trial(cell, "medication", outcome="pain", baseline="pain0")
    assert med["pooled"] == pytest.approx(by_trial.estimate, rel=1e-9)
    assert med["i2"] == pytest.approx(by_trial.i2, abs=1e-9)
    criteria = stored.credibility_criteria
    mine = criteria[(criteria.outcome == "pain") & (criteria.modifier == "medication")]
    assert mine.set_index("criterion").loc["pre-specified with direction", "answer"] == "yes"


def test_reanalysis_takes_the_fits_from_the_cache(analysed):
    data, results, cache = analysed
    plan = ipdma.analysis.plan_from_dict(PLAN)
    frames = {"short": data.drop(columns="window")}
    _, _, keys = unit_keys(plan, frames, results.important, results.interactions)
    assert len(keys) == 3 * 3 + 3  # 3 continuous modifiers x 3 outcomes + 3 cross-validations
    assert set(ResultsStore(cache).beyond_cached(keys)) == set(keys)
    again = ipdma.analysis.run(data, PLAN, jobs=1, cache=cache)
    for name, stored in results.beyond.frames().items():
        pd.testing.assert_frame_equal(
            pd.DataFrame(again.beyond.frames()[name]), pd.DataFrame(stored), check_dtype=False
        )


def test_plan_switches_the_analyses_off():
    data = _planted(6)
    plan = AnalysisPlan.model_validate(
        {**PLAN, "splines": False, "prediction": False, "credibility": False}
    )
    results = ipdma.analysis.run(data, plan, jobs=1)
    assert all(frame.empty for frame in results.beyond.frames().values())
    knots = ipdma.analysis.run(data, {**PLAN, "spline_knots": 3, "prediction": False}, jobs=1)
    assert (knots.beyond.spline_tests["df"] == 1).all()
    assert knots.beyond.prediction.empty
