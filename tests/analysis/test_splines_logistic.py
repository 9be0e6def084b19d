"""Restricted-cubic-spline interactions for a binary outcome (global recovery): a planted
non-linear log-odds-ratio interaction is recovered (one and two stage, the pointwise band
covers it, the non-linearity tests reject), a planted linear one is not called non-linear,
the tests hold their size (slow), separating trials are left out of the two-stage analysis
with their reason, and bad input is a clear error."""

from __future__ import annotations

import numpy as np
import pytest

from ipdma.analysis._splines import spline_interaction
from ipdma.analysis._splines_two_stage import logistic_regression
from ipdma.errors import InputError
from ipdma.plots import effect_curve

from ._logistic_data import linear, quadratic, spline_consortium

pytestmark = pytest.mark.filterwarnings("ignore::ipdma.errors.IpdmaWarning")


def _inner(result, curve, frame):
    low, high = np.quantile(result.values, [0.1, 0.9])
    inner = frame[(frame.x > low) & (frame.x < high)]
    return inner, curve(inner.x.to_numpy())


def test_planted_nonlinear_log_odds_ratio_is_recovered():
    result = spline_interaction(spline_consortium(1, quadratic), "x", family="binomial")
    assert result.scale == "log OR" and result.nonlinear_df == 2
    assert result.nonlinear_p < 1e-5 and result.lr_p < 1e-5
    assert result.nonlinear_p_two_stage < 1e-3
    assert result.two_stage is not None and len(result.two_stage_trials) == 12
    for curve in (result.one_stage.frame, result.two_stage.frame):
        inner, truth = _inner(result, quadratic, curve)
        # the planted log OR spans 1.6 over the central 80%; the band's half-width is 0.3-0.6
        assert np.abs(inner.estimate.to_numpy() - truth).max() < 0.5
        covered = (inner.ci_low <= truth) & (truth <= inner.ci_high)
        assert covered.mean() > 0.9
    lin = result.linear.frame
    assert np.abs(lin.estimate - quadratic(lin.x.to_numpy())).max() > 1.0  # misses the U
    # the linear interaction of the companion model is estimated (log OR per unit)
    row = result.coefficients.query("method == 'linear' and term == 'ts1'").iloc[0]
    assert abs(row.estimate) < 0.03 and row.se > 0


def test_planted_linear_log_odds_ratio_is_not_called_non_linear():
    for seed in (11, 12):
        result = spline_interaction(spline_consortium(seed, linear), "x", family="binomial")
        assert result.nonlinear_p > 0.01 and result.lr_p > 0.01
        one, lin = result.one_stage.frame, result.linear.frame
        inner = (one.x > result.knots[0]) & (one.x < result.knots[-1])
        assert np.abs(one.estimate[inner] - lin.estimate[inner]).max() < 0.4
        slope = result.coefficients.query("method == 'linear' and term == 'ts1'").iloc[0]
        assert abs(slope.estimate - -0.03) < 3 * slope.se


def test_wald_and_likelihood_ratio_tests_agree_on_the_companion_models():
    """Both test the k - 2 non-linear terms; on the same data they differ by little."""
    result = spline_interaction(spline_consortium(3, quadratic, trials=8), "x", family="binomial")
    assert result.lr_chi2 == pytest.approx(result.nonlinear_chi2, rel=0.25)


def test_separating_trial_is_left_out_of_the_two_stage_analysis_and_named():
    data = spline_consortium(4, quadratic, trials=8)
    first = data.trial == "t00"
    data.loc[first, "y"] = data.loc[first, "treat"]  # every exercise participant recovered
    result = spline_interaction(data, "x", family="binomial")
    assert ("t00", "separation (the trial's own odds ratios are infinite)") in result.left_out
    assert "t00" not in result.two_stage_trials and len(result.two_stage_trials) == 7
    assert result.separated == ("t00",)
    assert np.isfinite(result.one_stage.frame.estimate).all()


def test_logistic_regression_matches_its_likelihood_optimum():
    """Stage 1's logistic fit: score zero at the estimate, covariance the inverse
    information (the quantities the multivariate meta-analysis uses)."""
    rng = np.random.default_rng(8)
    x = np.column_stack([np.ones(400), rng.normal(size=(400, 2))])
    y = (rng.random(400) < 1 / (1 + np.exp(-(x @ [0.2, 0.8, -0.5])))).astype(float)
    coef, cov = logistic_regression(x, y)
    prob = 1 / (1 + np.exp(-(x @ coef)))
    np.testing.assert_allclose(x.T @ (y - prob), 0, atol=1e-8)
    info = x.T @ (x * (prob * (1 - prob))[:, None])
    np.testing.assert_allclose(cov @ info, np.eye(3), atol=1e-10)
    assert logistic_regression(x, (x[:, 1] > 0).astype(float)).startswith("separation")


def test_effect_curve_plot_draws_odds_ratios_on_a_log_axis():
    result = spline_interaction(spline_consortium(2, quadratic, trials=6), "x", family="binomial")
    fig = effect_curve(result, label="Age (years)")
    top, _ = fig.axes
    assert top.get_yscale() == "log" and top.get_ylabel().startswith("Odds ratio")
    drawn = top.lines[0].get_ydata()
    np.testing.assert_allclose(drawn, np.exp(result.one_stage.frame.estimate))


def test_non_binary_outcome_is_a_clear_error():
    data = spline_consortium(5, linear, trials=4)
    data.loc[7, "y"] = 2.0
    with pytest.raises(InputError, match="0/1") as info:
        spline_interaction(data, "x", family="binomial")
    assert info.value.variable == "y" and info.value.row == 8 and info.value.trial == "t00"


@pytest.mark.slow
def test_nonlinearity_test_size_and_band_coverage_over_replications():
    """20 consortia each (8 trials). Linear truth: the Wald and LR tests reject at 5% in at
    most 3 of 20 (P(X >= 4) = 0.016 for a test of exact size; the 200-consortium study of
    ``benchmarks/sim_recovery_beyond.py`` saw 5.5% for both). Quadratic truth: they reject
    in at least 18 of 20 (seen: 200 of 200), and the pointwise 95% band covers the truth
    at five points in the central 80% at least 85% of the time (seen: 0.91 on average,
    0.86 at the median, where the band is theta's: z intervals with the ML between-trial
    variance of 8 trials; 0.96 there without between-trial heterogeneity)."""
    reject_wald = reject_lr = 0
    for seed in range(100, 120):
        result = spline_interaction(spline_consortium(seed, linear, trials=8), "x",
                                    family="binomial")  # fmt: skip
        reject_wald += result.nonlinear_p < 0.05
        reject_lr += result.lr_p < 0.05
    assert reject_wald <= 3 and reject_lr <= 3
    power = covered = total = 0
    for seed in range(200, 220):
        result = spline_interaction(spline_consortium(seed, quadratic, trials=8), "x",
                                    family="binomial")  # fmt: skip
        power += result.nonlinear_p < 0.05
        frame = result.one_stage.frame
        for point in np.quantile(result.values, [0.15, 0.3, 0.5, 0.7, 0.85]):
            row = frame.iloc[int(np.argmin(np.abs(frame.x - point)))]
            truth = quadratic(np.array([row.x]))[0]
            covered += row.ci_low <= truth <= row.ci_high
            total += 1
    assert power >= 18
    assert covered / total >= 0.85


def test_modifier_that_is_the_baseline_value():
    """Global recovery by baseline function: ``B_1`` is the (centred) baseline term with its
    random slope; the spline's other terms and the interaction are fitted as usual."""
    data = spline_consortium(6, linear, trials=8)
    result = spline_interaction(data, "base", baseline="base", family="binomial")
    assert result.nonlinear_df == 2 and np.isfinite(result.lr_p)
    assert np.isfinite(result.one_stage.frame.estimate).all()
    assert result.two_stage is not None


def test_unknown_family_is_a_clear_error():
    from ipdma.errors import SpecError

    with pytest.raises(SpecError, match="family"):
        spline_interaction(spline_consortium(7, linear, trials=4), "x", family="poisson")
