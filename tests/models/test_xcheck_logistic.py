"""Independent cross-check: ipdma.mixed(family="binomial") vs glmer / glmmTMB on fresh data.

Data: tests/reference/xcheck_make.py (bin_paper: 30 trials of 12..400 with stratified
intercepts and a random treatment effect; bin_two: 22 trials, random treatment and baseline
effects, singular in glmer; bin_int: random intercept with a 3-level factor and missing
covariates). R fits: tests/reference/xcheck_fit.R. Tolerances: LOGISTIC's (tests/tolerances.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from tests.reference.xcheck_compare import (
    assert_covariances,
    assert_rel,
    data,
    fit,
    max_rel,
    ref,
    series,
)
from tests.tolerances import (
    GLMM_FIXEF_RTOL,
    GLMM_LOGLIK_ABOVE_ATOL,
    GLMM_LOGLIK_RTOL,
    GLMM_SE_LOOSE_RTOL,
    GLMM_SE_RTOL,
    GLMM_THETA_RTOL,
    GLMM_TMB_FIXEF_RTOL,
    GLMM_TMB_SE_RTOL,
)

FORMULAS = {
    "bin_paper": "rec ~ 0 + C(trial) + base + treat + (0 + treat | trial)",
    "bin_two": "rec ~ 0 + C(trial) + base + treat + (0 + treat | trial) + (0 + base | trial)",
    "bin_int": "rec ~ x + f + treat + (1 | trial)",
}
CASES = [
    ("bin_paper", "laplace", 1),
    ("bin_paper", "agq25", 25),
    ("bin_int", "laplace", 1),
    ("bin_int", "agq25", 25),
    ("bin_two", "laplace", 1),
]


def _check_loglik(result, r: dict) -> None:
    assert result.loglik >= r["loglik"] - GLMM_LOGLIK_ABOVE_ATOL * max(1.0, abs(r["loglik"]))
    assert result.loglik == pytest.approx(r["loglik"], rel=GLMM_LOGLIK_RTOL)


@pytest.mark.parametrize(("dataset", "model", "nagq"), CASES)
def test_glmer_matches_on_fresh_data(dataset, model, nagq):
    r = ref(dataset)["fits"][model]
    result = fit(FORMULAS[dataset], data(dataset), family="binomial", nagq=nagq)
    assert result.nobs == r["nobs"]
    assert result.converged, result.convergence
    _check_loglik(result, r)
    # fixed effects on the logit scale: relative to max(|ref|, 1) as in LOGISTIC's tests
    assert_rel(result.fixef, series(r["fixef"]), GLMM_FIXEF_RTOL, "fixef", floor=1.0)
    # glmer's SEs come from a finite-difference Hessian; where they differ from glmmTMB's exact
    # ones by more than GLMM_SE_RTOL (bin_int 2.0e-3, bin_two 1.2e-3; glmer's Laplace loglik is
    # also 6e-5 below glmmTMB's on bin_int, from lme4's default tolPwrss = 1e-7: inexact
    # conditional modes), ipdma is held to glmmTMB's SEs at GLMM_TMB_SE_RTOL (test below) and
    # to glmer's only at GLMM_SE_LOOSE_RTOL.
    tmb = ref(dataset)["fits"].get("tmb")
    glmer_vs_tmb, _ = max_rel(series(r["se"]), series(tmb["se"])) if nagq == 1 else (0.0, "")
    se_rtol = GLMM_SE_LOOSE_RTOL if glmer_vs_tmb > GLMM_SE_RTOL else GLMM_SE_RTOL
    assert_rel(result.se, series(r["se"]), se_rtol, "se")
    assert_covariances(result, r["varcorr"], 2 * GLMM_THETA_RTOL, 1e-8)
    assert result.singular == r["singular"]
    assert np.isinf(result.df).all()


@pytest.mark.parametrize("dataset", list(FORMULAS))
def test_laplace_matches_glmmtmb_on_fresh_data(dataset):
    r = ref(dataset)["fits"]["tmb"]
    result = fit(FORMULAS[dataset], data(dataset), family="binomial", nagq=1)
    _check_loglik(result, r)
    assert_rel(result.fixef, series(r["fixef"]), GLMM_TMB_FIXEF_RTOL, "fixef", floor=1.0)
    assert_rel(result.se, series(r["se"]), GLMM_TMB_SE_RTOL, "se")


@pytest.mark.parametrize("dataset", ["bin_paper", "bin_int"])
def test_default_quadrature_is_close_to_agq25(dataset):
    """The default nagq must reproduce glmer's 25-node log-likelihood (scalar random effect)."""
    r = ref(dataset)["fits"]["agq25"]
    result = fit(FORMULAS[dataset], data(dataset), family="binomial")
    _check_loglik(result, r)
    assert_rel(result.fixef, series(r["fixef"]), GLMM_FIXEF_RTOL, "fixef", floor=1.0)
