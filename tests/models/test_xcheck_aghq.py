"""Independent check of adaptive Gauss-Hermite quadrature with two random effects, which no
R package at hand fits (glmer: Laplace only; GLMMadaptive not installed): xcheck_verify.R
integrates the marginal likelihood of bin_aghq exactly (nested stats::integrate, rel.tol
1e-10) at ipdma's estimates and at points around them."""

from __future__ import annotations

import pytest
from tests.reference.xcheck_compare import assert_rel, data, fit, ref, series
from tests.tolerances import (
    GLMM_LOGLIK_ABOVE_ATOL,
    GLMM_LOGLIK_RTOL,
    GLMM_QUADRATURE_ATOL,
    GLMM_TMB_FIXEF_RTOL,
    GLMM_TMB_SE_RTOL,
)

TWO = "rec ~ 0 + C(trial) + base + treat + (0 + treat | trial) + (0 + base | trial)"


def _points() -> dict:
    return ref("ipdma_points")


def test_default_aghq_point_is_the_exact_maximum():
    """At ipdma's AGHQ estimates the exact log-likelihood is higher than after moving the
    treatment effect by +-0.05 or either random-effect SD by +-5%."""
    exact = ref("verify")["bin_aghq_exact"]
    name = next(k for k in exact if k != "bin_aghq_Laplace")
    at = exact[name]["exact_loglik"]
    assert len(exact[name]["moves"]) == 6
    for move in exact[name]["moves"]:
        assert move["loglik"] < at, move


def test_fit_reproduces_the_point_r_integrated():
    stored = _points()["bin_aghq_AGHQ(9)"]
    result = fit(TWO, data("bin_aghq"), family="binomial", nagq=9)
    assert result.method == stored["method"]
    assert_rel(result.fixef, series(stored["fixef"]), 1e-6, "fixef vs stored", floor=1.0)
    assert result.loglik == pytest.approx(stored["loglik"], abs=1e-8)


def test_default_aghq_loglik_is_exact_to_target():
    exact = ref("verify")["bin_aghq_exact"]["bin_aghq_AGHQ(9)"]
    result = fit(TWO, data("bin_aghq"), family="binomial")
    assert abs(result.loglik - exact["exact_loglik"]) <= GLMM_QUADRATURE_ATOL


def test_many_nodes_reach_the_exact_likelihood():
    exact = ref("verify")["bin_aghq_exact"]["bin_aghq_AGHQ(9)"]["exact_loglik"]
    result = fit(TWO, data("bin_aghq"), family="binomial", nagq=15)
    # its own optimum can only be higher than the exact value at another point, and close
    assert result.loglik >= exact - GLMM_LOGLIK_ABOVE_ATOL * abs(exact)
    assert result.loglik == pytest.approx(exact, abs=GLMM_QUADRATURE_ATOL)


def test_laplace_two_random_effects_matches_glmmtmb_and_beats_glmer():
    r = ref("verify")["bin_aghq_laplace"]
    result = fit(TWO, data("bin_aghq"), family="binomial", nagq=1)
    tmb = r["glmmtmb"]
    assert result.loglik == pytest.approx(tmb["loglik"], rel=GLMM_LOGLIK_RTOL)
    assert result.loglik >= tmb["loglik"] - GLMM_LOGLIK_ABOVE_ATOL * abs(tmb["loglik"])
    assert_rel(result.fixef, series(tmb["fixef"]), GLMM_TMB_FIXEF_RTOL, "fixef", floor=1.0)
    assert_rel(result.se, series(tmb["se"]), GLMM_TMB_SE_RTOL, "se")
    # glmer (bobyqa, rhoend 1e-10) stops 5.9e-4 log-likelihood units below
    assert result.loglik - r["glmer"]["loglik"] > 1e-4
