"""Harmonized values of the fixture consortium, recomputed independently from the raw frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.data.ingest.project import alpha_frame, beta_frame, gamma_frame

from ipdma.store import analysis_frame

LB_TO_KG = 0.45359237
WEEKS_PER_MONTH = 52.1775 / 12


def _trial(master, trial):
    return master.participants[master.participants["trial"] == trial].set_index("pid")


def test_alpha_recoding_units_and_labels(master):
    raw = alpha_frame()
    got = _trial(master, "alpha")
    assert list(got.index) == [str(i) for i in range(101, 113)]
    np.testing.assert_allclose(got["age"], raw["age"])
    # value labels: 2 = "female"
    np.testing.assert_array_equal(got["female"], (raw["sex"] == 2).astype(float))
    bmi = raw["weight_lb"] * LB_TO_KG / raw["height_m"] ** 2
    np.testing.assert_allclose(got["bmi"], bmi, rtol=1e-12)
    np.testing.assert_allclose(got["episode_months"], raw["duration_wk"] / WEEKS_PER_MONTH)
    smoker = raw["smoke"].where(raw["smoke"] != 9).astype(float)
    np.testing.assert_array_equal(got["smoker"], smoker)
    np.testing.assert_allclose(got["pain0"], raw["vas0"])
    np.testing.assert_allclose(got["function0"], 100 * raw["rmdq0"] / 24)
    assert got["education"].isna().all()  # not mapped -> missing
    assert list(got["centre"]) == list(raw["centre"])  # `keep`
    assert "name" not in master.participants.columns
    assert "email" not in master.participants.columns


def test_alpha_arms_and_treatment(master):
    got = _trial(master, "alpha")
    assert set(got.loc[got["arm_code"] == "1", "treat"]) == {1.0}
    assert got.loc[got["arm_code"] == "2", "comparison"].eq("usual").all()
    assert got.loc[got["arm_code"] == "1", "comparison"].isna().all()
    arms = master.arms.set_index(["trial", "arm_code"])
    assert arms.loc[("alpha", "1"), "role"] == "exercise"
    assert arms.loc[("alpha", "1"), "n"] == 6
    assert arms.loc[("beta", "MT"), "category"] == "other conservative"


def test_alpha_outcomes_long_and_missing_code(master):
    raw = alpha_frame()
    out = master.outcomes[(master.outcomes["trial"] == "alpha")]
    pain13 = out[(out["outcome"] == "pain") & (out["time_weeks"] == 13)].set_index("pid")
    assert "104" not in pain13.index  # 999 is the trial's missing code
    expected = raw.set_index(raw["subject"].astype(int).astype(str))["vas13"].drop("104")
    np.testing.assert_allclose(pain13["value"], expected.loc[pain13.index])
    assert set(out["instrument"]) == {"vas_100mm", "rmdq_24"}


def test_beta_long_latin1_csv(master):
    raw = beta_frame()
    got = _trial(master, "beta")
    base = raw[raw["month"] == 0].set_index("pnr")
    total = base[["sf1", "sf2", "sf3"]].sum(axis=1)
    np.testing.assert_allclose(got["general_health"], 100 * (15 - total) / 12)
    np.testing.assert_allclose(got["pain0"], base["nrs"] * 10)
    np.testing.assert_allclose(got["function0"], base["odi"] * 2)
    assert got["comparison"].dropna().eq("conservative").all()
    follow = master.followup.query("trial == 'beta' and window == 'moderate'").set_index("pid")
    six = raw[raw["month"] == 6].set_index("pnr")
    np.testing.assert_allclose(follow["pain"], six.loc[follow.index, "nrs"] * 10)
    assert follow["pain_weeks"].iloc[0] == pytest.approx(6 * WEEKS_PER_MONTH, abs=1e-3)


def test_gamma_psfs_is_reversed(master):
    raw = gamma_frame()
    got = _trial(master, "gamma")
    np.testing.assert_allclose(got["function0"], 100 * (10 - raw["psfs0"]) / 10)
    assert got["pain0"].isna().all()
    assert got.loc[got["arm_code"] == "3", "comparison"].eq("usual").all()  # placebo


def test_windows_per_trial(master):
    w = master.windows.set_index(["trial", "outcome", "window"])["time_weeks"]
    assert w[("alpha", "pain", "short")] == 13
    assert np.isnan(w[("alpha", "pain", "moderate")])  # 13 and 52 are > 10 weeks from 26
    assert w[("alpha", "pain", "long")] == 52
    assert w[("gamma", "function", "short")] == 12
    assert w[("gamma", "function", "moderate")] == 26
    assert np.isnan(w[("gamma", "function", "long")])
    assert np.isnan(w[("gamma", "pain", "short")])


def test_trials_table(master):
    trials = master.trials.set_index("trial")
    assert list(trials.index) == ["alpha", "beta", "gamma", "delta"]
    assert trials.loc["alpha", "n_participants"] == 12
    assert bool(trials.loc["delta", "included"]) is False
    assert trials.loc["gamma", "n_exercise_arms"] == 2
    assert trials.loc["gamma", "comparison_category"] == "No treatment/usual care"
    assert trials.loc["beta", "comparison_category"] == "Manual therapy"
    assert trials.loc["gamma", "function_instrument"].startswith("PSFS")
    assert trials.loc["alpha", "mean_age"] == pytest.approx(alpha_frame()["age"].mean())
    pub = master.published.set_index("trial")
    assert pub.loc["alpha", "md"] == -6.0 and pub.loc["delta", "se"] == 4.0


def test_analysis_frame_one_row_per_participant(master, project):
    frame = analysis_frame(master, "short")
    assert len(frame) == len(master.participants)
    assert {"pain", "function", "recovery", "treat", "pain0"} <= set(frame.columns)
    from_path = analysis_frame(project, window="long")
    assert len(from_path) == len(frame)
    alpha = frame[frame["trial"] == "alpha"].set_index("pid")
    raw = alpha_frame().set_index(alpha_frame()["subject"].astype(int).astype(str))
    np.testing.assert_allclose(alpha["function"], 100 * raw["rmdq13"] / 24)


def test_analysis_frame_rejects_unknown_window(master):
    from ipdma.errors import SpecError

    with pytest.raises(SpecError, match="window='medium' is not an option"):
        analysis_frame(master, "medium")


def test_master_is_frozen(master):
    with pytest.raises(AttributeError):
        master.trials = pd.DataFrame()
    assert "included trial" in master.summary()
