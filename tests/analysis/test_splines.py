"""Restricted-cubic-spline interactions: the basis, the multivariate method of moments, and
recovery of a planted non-linear treatment-covariate interaction (one and two stage)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ipdma.analysis._splines import (
    harrell_knots,
    multivariate_mm,
    rcs_basis,
    spline_interaction,
)
from ipdma.meta._tau2 import tau2_estimate
from ipdma.plots import effect_curve, save


def _quadratic(x: np.ndarray) -> np.ndarray:
    return -9 + 0.03 * (x - 45) ** 2


def _linear(x: np.ndarray) -> np.ndarray:
    return -6 - 0.2 * (x - 45)


def _generate(seed: int, curve, trials: int = 12) -> pd.DataFrame:
    """Trials whose modifier means differ (so across-trial information exists), a random
    treatment effect (tau = 1), a prognostic effect of the modifier and the planted curve."""
    rng = np.random.default_rng(seed)
    parts = []
    for k in range(trials):
        size = int(rng.integers(150, 300))
        x = rng.normal(45 + rng.normal(0, 4), 10, size)
        treat = (rng.random(size) < 0.5).astype(float)
        base = rng.normal(50, 15, size)
        y = (
            rng.normal(10, 5)
            + 0.5 * base
            - 0.1 * (x - 45)
            + treat * (curve(x) + rng.normal(0, 1.0))
            + rng.normal(0, 10, size)
        )
        parts.append(pd.DataFrame({"trial": f"t{k:02d}", "x": x, "treat": treat, "base": base,
                                   "y": y}))  # fmt: skip
    return pd.concat(parts, ignore_index=True)


def test_basis_is_linear_beyond_the_outer_knots_and_knots_are_harrell_quantiles():
    x = np.random.default_rng(1).normal(0, 1, 2000)
    knots = harrell_knots(x, 4)
    np.testing.assert_allclose(knots, np.quantile(x, [0.05, 0.35, 0.65, 0.95]))
    for outside in (
        np.linspace(knots[-1], knots[-1] + 3, 7),
        np.linspace(knots[0] - 3, knots[0], 7),
    ):
        basis = rcs_basis(outside, knots)
        np.testing.assert_allclose(np.diff(basis, 2, axis=0), 0, atol=1e-9)
    # cubic between the knots: not linear there
    inside = rcs_basis(np.linspace(knots[0], knots[-1], 7), knots)
    assert np.abs(np.diff(inside[:, 1], 2)).max() > 1e-3
    assert rcs_basis(x, knots).shape == (2000, 3)


def test_multivariate_mm_reduces_to_dersimonian_laird_in_one_dimension():
    rng = np.random.default_rng(3)
    vi = rng.uniform(0.5, 2, 15)
    yi = rng.normal(1, np.sqrt(vi + 0.8))
    mean, vcov, psi = multivariate_mm([np.array([y]) for y in yi], [np.array([[v]]) for v in vi])
    tau2 = tau2_estimate(yi, vi, "DL")
    np.testing.assert_allclose(psi[0, 0], tau2, rtol=1e-10)
    w = 1 / (vi + tau2)
    np.testing.assert_allclose(mean[0], np.sum(w * yi) / np.sum(w), rtol=1e-10)
    np.testing.assert_allclose(vcov[0, 0], 1 / np.sum(w), rtol=1e-10)


def test_planted_nonlinear_interaction_is_recovered():
    result = spline_interaction(_generate(1, _quadratic), "x")
    assert result.nonlinear_df == 2
    assert result.nonlinear_p < 1e-6 and result.nonlinear_p_two_stage < 1e-6
    for curve in (result.one_stage.frame, result.two_stage.frame):
        low, high = np.quantile(result.values, [0.1, 0.9])
        inner = curve[(curve.x > low) & (curve.x < high)]
        truth = _quadratic(inner.x.to_numpy())
        # within 1.5 points of the planted curve where 80% of the data are (the planted
        # effect spans 9 points there; the band's half-width is 1.5 to 2.5 points)
        assert np.abs(inner.estimate.to_numpy() - truth).max() < 1.5
        covered = (inner.ci_low <= truth) & (truth <= inner.ci_high)
        assert covered.mean() > 0.9
    # the linear interaction misses the curvature
    lin = result.linear.frame
    assert np.abs(lin.estimate - _quadratic(lin.x.to_numpy())).max() > 5


def test_linear_truth_is_not_called_non_linear():
    """Planted linear interaction: the spline agrees with the linear fit and the
    non-linearity test does not reject (three seeds)."""
    p_values = []
    for seed in (11, 12, 13):
        result = spline_interaction(_generate(seed, _linear), "x")
        p_values.append(result.nonlinear_p)
        one, lin = result.one_stage.frame, result.linear.frame
        inner = (one.x > result.knots[0]) & (one.x < result.knots[-1])
        assert np.abs(one.estimate[inner] - lin.estimate[inner]).max() < 1.5
    assert min(p_values) > 0.01


def test_effect_curve_plot(tmp_path):
    result = spline_interaction(_generate(2, _quadratic, trials=6), "x")
    fig = effect_curve(result, label="Age (years)")
    top, bottom = fig.axes
    assert len(top.lines) >= 3 and bottom.get_xlabel() == "Age (years)"
    png, svg = save(fig, tmp_path / "curve")
    assert png.stat().st_size > 10_000 and svg.exists()


def test_modifier_without_spread_is_a_clear_error():
    data = _generate(4, _linear, trials=4).assign(x=1.0)
    with pytest.raises(Exception, match="distinct values"):
        spline_interaction(data, "x")
