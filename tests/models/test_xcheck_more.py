"""Independent cross-check, part 3 (tests/reference/xcheck_extra.R): BLUPs, lmerTest p-values
and Satterthwaite CIs through tidy()/confint(), a factor-by-treatment interaction with
correlated slopes, and nlme varIdent with a correlated random intercept and slope."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.reference.xcheck_compare import assert_covariances, assert_rel, data, fit, ref, series
from tests.tolerances import (
    GLMM_FIXEF_RTOL,
    GLMM_LOGLIK_RTOL,
    GLMM_SE_LOOSE_RTOL,
    GLMM_THETA_RTOL,
    LMM_DF_RTOL,
    LMM_FIXEF_RTOL,
    LMM_LOGLIK_ABOVE_ATOL,
    LMM_LOGLIK_RTOL,
    LMM_NLME_LOGLIK_RTOL,
    LMM_NLME_RTOL,
    LMM_NLME_SIGMA_RTOL,
    LMM_SE_RTOL,
    LMM_VARCOMP_RTOL,
)

CORR = "y ~ x + f + treat + (1 + x | trial)"
FACTOR_BY_TREAT = "y ~ x + f * treat + (1 + x | trial)"
PAPER = "y ~ 0 + C(trial) + base + treat + (0 + treat | trial) + (0 + base | trial)"
CASES = {
    "corr3_reml": ("corr", "y ~ x + f + treat + (1 + x + treat | trial)"),
    "corr_reml": ("corr", CORR),
    "corr_factor_by_treat": ("corr", FACTOR_BY_TREAT),
    "paper_reml": ("paper", PAPER),
}


def _ranef_frame(block: dict) -> pd.DataFrame:
    values = {name: np.asarray(v, dtype=float) for name, v in block["values"].items()}
    return pd.DataFrame(values, index=block["trial"])


def _assert_ranef(result, block: dict, rtol: float, atol: float) -> None:
    expected = _ranef_frame(block)
    ours = result.ranef.reindex(index=expected.index, columns=expected.columns)
    assert not ours.isna().any().any(), (list(result.ranef.index)[:5], list(expected.index)[:5])
    np.testing.assert_allclose(ours.to_numpy(), expected.to_numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("case", list(CASES))
def test_tidy_and_confint_match_lmertest(case):
    dataset, formula = CASES[case]
    r = ref("extra")[case]
    result = fit(formula, data(dataset))
    assert result.loglik >= r["loglik"] - LMM_LOGLIK_ABOVE_ATOL * abs(r["loglik"])
    assert result.loglik == pytest.approx(r["loglik"], rel=LMM_LOGLIK_RTOL)
    assert_rel(result.fixef, series(r["fixef"]), LMM_FIXEF_RTOL, "fixef")
    assert_rel(result.se, series(r["se"]), LMM_SE_RTOL, "se")
    tidy = result.tidy().set_index("term")
    assert_rel(tidy["df"], series(r["df"]), LMM_DF_RTOL, "tidy df")
    assert_rel(tidy["p"], series(r["p"]), LMM_DF_RTOL, "tidy p")
    # CI bounds can sit near 0: compare relative to the SE (the CI half-width scale)
    se = series(r["se"])
    for side in ("ci_low", "ci_high"):
        assert_rel(tidy[side] / se.reindex(tidy.index), series(r[side]) / se, LMM_DF_RTOL, side)
    ci = result.confint(method="satterthwaite")
    np.testing.assert_allclose(
        ci.loc[tidy.index].to_numpy(), tidy[["ci_low", "ci_high"]].to_numpy(), rtol=1e-12
    )
    outcome_sd = float(data(dataset)["y"].std())
    _assert_ranef(result, r["ranef"], LMM_VARCOMP_RTOL, 1e-6 * outcome_sd)


def test_factor_by_treatment_names_follow_formulaic():
    result = fit(FACTOR_BY_TREAT, data("corr"))
    assert {"f[T.lo]:treat", "f[T.mid]:treat"} <= set(result.fixef.index)


def test_glmer_conditional_modes():
    r = ref("extra")["bin_paper_laplace"]
    result = fit(
        "rec ~ 0 + C(trial) + base + treat + (0 + treat | trial)",
        data("bin_paper"),
        family="binomial",
        nagq=1,
    )
    assert result.loglik == pytest.approx(r["loglik"], rel=LMM_LOGLIK_RTOL)
    _assert_ranef(result, r["ranef"], 10 * GLMM_THETA_RTOL, 1e-5)


def test_stratified_residuals_with_correlated_slopes_match_nlme():
    r = ref("extra")["corr_nlme_reml"]
    result = fit(CORR, data("corr"), residual="stratified")
    assert result.converged, result.convergence
    assert result.loglik >= r["loglik"] - LMM_LOGLIK_ABOVE_ATOL * abs(r["loglik"])
    assert result.loglik == pytest.approx(r["loglik"], rel=LMM_NLME_LOGLIK_RTOL)
    assert_rel(result.fixef, series(r["fixef"]), LMM_NLME_RTOL, "fixef")
    assert_rel(result.se, series(r["se"]), LMM_NLME_RTOL, "se")
    assert_rel(result.sigma, pd.Series(r["sigma_by_trial"]), LMM_NLME_SIGMA_RTOL, "sigma")
    names = r["re_names"]
    cov = np.asarray(r["re_cov"], dtype=float)
    vc = result.varcomp
    for i, first in enumerate(names):
        var = vc.loc[(vc["term1"] == first) & vc["term2"].isna(), "variance"].iloc[0]
        assert var == pytest.approx(cov[i, i], rel=LMM_NLME_RTOL)
    covariance = vc.loc[vc["term2"].notna(), "variance"].iloc[0]
    assert covariance == pytest.approx(cov[0, 1], rel=LMM_NLME_RTOL)


def test_glmer_correlated_intercept_and_treatment_slope():
    """(1 + treat | trial) by Laplace: glmer at lme4's default inner tolerance (tolPwrss 1e-7,
    inexact conditional modes) ends 8.3e-5 log-likelihood units below ipdma, so its
    finite-difference SEs are compared at GLMM_SE_LOOSE_RTOL (observed 2.3e-3); at tolPwrss
    1e-13 glmer agrees with ipdma to 2e-5 (tests/models/test_logistic_reference.py)."""
    r = ref("extra")["bin_int_corr_laplace"]
    result = fit(
        "rec ~ x + f + treat + (1 + treat | trial)", data("bin_int"), family="binomial", nagq=1
    )
    assert result.converged, result.convergence
    assert result.loglik >= r["loglik"]
    assert result.loglik == pytest.approx(r["loglik"], rel=GLMM_LOGLIK_RTOL)
    assert_rel(result.fixef, series(r["fixef"]), GLMM_FIXEF_RTOL, "fixef", floor=1.0)
    assert_rel(result.se, series(r["se"]), GLMM_SE_LOOSE_RTOL, "se")
    assert_covariances(result, r["varcorr"], GLMM_THETA_RTOL, 0.0)
