"""The one-stage engines recover the planted truth from simulated consortia.

A few seeds (CI-sized; ``benchmarks/bench_recovery.py`` runs many): for every planted
overall effect (pain, function, recovery; vs usual care and vs other conservative) and
treatment x modifier interaction (planted and null), the mean estimate over seeds lies
within 3.5 Monte Carlo standard errors of the truth, and the 95% CIs cover it about 95% of
the time. The truth is what the analysis estimates by design (``implied_truth``: the
planted latent effects after clipping to 0-100, rounding and, for single-modifier models,
correlated modifiers); it is also compared with the planted values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ipdma.simulate import planted_truth, recovery_study, summarize

SEEDS = range(1, 6)
MC_SE_BOUND = 3.5  # |mean - truth| <= 3.5 Monte Carlo SEs: fails by chance < 0.1% per term
COVERAGE_FLOOR = 0.85  # pooled over 15 terms x 5 seeds, the nominal 0.95 has SD 0.025


@pytest.fixture(scope="module")
def study() -> pd.DataFrame:
    return recovery_study(SEEDS)


@pytest.fixture(scope="module")
def summary(study) -> pd.DataFrame:
    table = summarize(study)
    print("\n" + table.round(3).to_string(index=False))  # shown with pytest -s
    return table


def test_every_model_converges_or_is_a_boundary_fit(study):
    # a fit with a between-trial variance of 0 may fail the gradient check at the boundary
    assert (study["converged"] | study["singular"]).all()
    assert study["converged"].mean() >= 0.95
    assert len(study) == len(SEEDS) * len(planted_truth())


def test_overall_effects_and_interactions_are_unbiased(summary):
    # the model-based SE of one seed's estimate / sqrt(seeds) is the Monte Carlo SE
    tolerance = MC_SE_BOUND * summary["mean_se"] / np.sqrt(summary["seeds"])
    too_far = summary[(summary["bias"].abs() > tolerance)]
    assert too_far.empty, too_far[["parameter", "truth", "mean", "bias"]].to_string()


def test_confidence_intervals_cover_the_truth(study, summary):
    covered = (study["ci_low"] <= study["truth"]) & (study["truth"] <= study["ci_high"])
    assert covered.mean() >= COVERAGE_FLOOR


def test_implied_truth_is_close_to_the_planted_effects(summary):
    linear = summary[summary["planted"].notna()].set_index("parameter")
    overall = linear.loc[["pain:usual", "pain:conservative", "function:usual",
                          "function:conservative"]]  # fmt: skip
    assert (np.sign(overall["truth"]) == np.sign(overall["planted"])).all()
    # clipping at 0-100 attenuates by < 0.6 points (of 10) ...
    usual = overall.loc[["pain:usual", "function:usual"]]
    assert ((usual["truth"] - usual["planted"]).abs() < 0.6).all()
    # ... and by about 1 point where the other conservative arms' responses spread (SD 13)
    conservative = overall.loc[["pain:conservative", "function:conservative"]]
    assert (conservative["planted"] - conservative["truth"]).between(0.7, 1.4).all()
    papers = pd.Series({"pain:usual": -10.7, "pain:conservative": 3.7, "function:usual": -10.2,
                        "function:conservative": 1.9})  # fmt: skip
    assert ((overall["truth"] - papers).abs() < 0.3).all()
    recovery = summary.set_index("parameter").loc[["recovery:usual", "recovery:conservative"]]
    odds = np.exp(recovery["truth"])
    assert 3.3 < odds["recovery:usual"] < 4.3  # the paper: 3.8
    assert 0.8 < odds["recovery:conservative"] < 1.0  # the paper: 0.9


def test_planted_interactions_point_the_right_way(summary):
    rows = summary.set_index("parameter")
    assert rows.loc["function:treat x heavy_demands", "mean"] > 2.0
    assert rows.loc["function:treat x medication", "mean"] < -2.0
    for null in ("pain:treat x female", "function:treat x female"):
        assert abs(rows.loc[null, "truth"]) < 0.5
