"""ipdma.mixed (gaussian) against lme4, lmerTest, nlme and glmmTMB on committed fixtures.

The fixtures are written by tests/reference/lmm_sleepstudy.R and lmm_ipd.R (R is not needed
to run these tests).
"""

from __future__ import annotations

import json
import re
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.tolerances import (
    LMM_DF_RTOL,
    LMM_FIXEF_RTOL,
    LMM_LOGLIK_ABOVE_ATOL,
    LMM_LOGLIK_RTOL,
    LMM_NLME_LOGLIK_RTOL,
    LMM_NLME_RTOL,
    LMM_NLME_SIGMA_RTOL,
    LMM_SE_RTOL,
    LMM_VARCOMP_ATOL,
    LMM_VARCOMP_RTOL,
)

import ipdma
from ipdma.errors import SingularFitWarning

REF = Path(__file__).resolve().parents[1] / "reference"
PAPER = "y ~ 0 + C(trial) + base + treat + (0 + treat | trial) + (0 + base | trial)"
INTERACTION = (
    "y ~ 0 + C(trial) + base + treat + agec + treat:agec + (0 + treat | trial) + (0 + base | trial)"
)


@cache
def _data(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / f"lmm_{name}.csv")


@cache
def _ref(name: str) -> dict:
    return json.loads((REF / f"lmm_{name}.json").read_text())


def _r_name(name: str) -> str:
    match = re.fullmatch(r"factor\(trial\)(.*)", name)
    return f"C(trial)[{match.group(1)}]" if match else name


def _series(mapping: dict) -> pd.Series:
    return pd.Series({_r_name(k): v for k, v in mapping.items()}, dtype=float)


def _fit(formula, data, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingularFitWarning)
        return ipdma.mixed(formula, data, **kwargs)


def _assert_rel(actual: pd.Series, expected: pd.Series, rtol: float, what: str) -> None:
    actual = actual.reindex(expected.index)
    assert not actual.isna().any(), f"{what}: terms missing {list(expected.index[actual.isna()])}"
    err = np.abs(actual.to_numpy() / expected.to_numpy() - 1)
    assert err.max() <= rtol, f"{what}: max relative error {err.max():.2e} > {rtol:g}"


def _check_lmer(fit, ref: dict, scale: float) -> None:
    _assert_rel(fit.fixef, _series(ref["fixef"]), LMM_FIXEF_RTOL, "fixef")
    _assert_rel(fit.se, _series(ref["se"]), LMM_SE_RTOL, "se")
    _assert_rel(fit.df, _series(ref["df"]), LMM_DF_RTOL, "Satterthwaite df")
    assert fit.loglik == pytest.approx(ref["loglik"], rel=LMM_LOGLIK_RTOL)
    assert fit.loglik >= ref["loglik"] - LMM_LOGLIK_ABOVE_ATOL
    assert fit.aic == pytest.approx(ref["aic"], rel=LMM_LOGLIK_RTOL)
    assert fit.bic == pytest.approx(ref["bic"], rel=LMM_LOGLIK_RTOL)
    assert fit.sigma == pytest.approx(ref["sigma"], rel=LMM_VARCOMP_RTOL)
    assert fit.singular == ref["singular"]
    assert fit.converged
    np.testing.assert_allclose(
        fit.details["theta"], ref["theta"], rtol=LMM_VARCOMP_RTOL, atol=LMM_VARCOMP_ATOL * scale
    )


@pytest.mark.parametrize("structure", ["correlated", "independent"])
@pytest.mark.parametrize("method", ["reml", "ml"])
def test_sleepstudy_matches_lme4(structure, method):
    ref = _ref("sleepstudy")[f"{structure}_{method}"]
    bar = "|" if structure == "correlated" else "||"
    fit = _fit(
        f"Reaction ~ Days + (Days {bar} Subject)", _data("sleepstudy"), reml=method == "reml"
    )
    assert fit.method == method.upper()
    _check_lmer(fit, ref, scale=1.0)
    vc = ref["varcomp"]
    for group, term1, term2, vcov, sdcor in zip(
        vc["group"], vc["term1"], vc["term2"], vc["vcov"], vc["sdcor"], strict=True
    ):
        if group == "Residual":
            row = fit.varcomp[fit.varcomp["group"] == "Residual"].iloc[0]
            assert row["variance"] == pytest.approx(vcov, rel=LMM_VARCOMP_RTOL)
            continue
        if term2:
            row = fit.varcomp[(fit.varcomp["term1"] == term1) & (fit.varcomp["term2"] == term2)]
            assert row["variance"].iloc[0] == pytest.approx(vcov, rel=LMM_VARCOMP_RTOL)
            assert row["corr"].iloc[0] == pytest.approx(sdcor, rel=LMM_VARCOMP_RTOL)
        else:
            row = fit.varcomp[(fit.varcomp["term1"] == term1) & fit.varcomp["term2"].isna()]
            assert row["variance"].iloc[0] == pytest.approx(vcov, rel=LMM_VARCOMP_RTOL)
            assert row["sd"].iloc[0] == pytest.approx(sdcor, rel=LMM_VARCOMP_RTOL)
    for term, values in ref["ranef"].items():
        np.testing.assert_allclose(fit.ranef[term].to_numpy(), values, rtol=LMM_VARCOMP_RTOL)
    assert fit.ranef.index.name == "Subject" and fit.ngroups == 18 and fit.nobs == 180


@pytest.mark.parametrize("dataset", ["ipd_large", "ipd_small", "ipd_singular"])
@pytest.mark.parametrize("method", ["reml", "ml"])
def test_paper_model_matches_lme4_and_lmertest(dataset, method):
    ref = _ref(dataset)[f"paper_{method}"]
    data = _data(dataset)
    fit = _fit(PAPER, data, reml=method == "reml")
    _check_lmer(fit, ref, scale=1.0)
    assert fit.nobs == _ref(dataset)["n"] and fit.ngroups == _ref(dataset)["trials"]
    assert fit.details["n_local_fixed"] == fit.ngroups  # stratified intercepts eliminated
    variances = dict(zip(ref["varcomp"]["term"], ref["varcomp"]["vcov"], strict=True))
    outcome_var = float(data["y"].var())
    for term in ("treat", "base"):
        ours = fit.varcomp.loc[fit.varcomp["term1"] == term, "variance"].iloc[0]
        assert ours == pytest.approx(
            variances[term], rel=LMM_VARCOMP_RTOL, abs=LMM_VARCOMP_ATOL * outcome_var
        )
    for term, values in ref["ranef"].items():
        np.testing.assert_allclose(
            fit.ranef[term].to_numpy(), values, rtol=LMM_VARCOMP_RTOL, atol=1e-6
        )


def test_singular_fixture_is_flagged_not_failed():
    with pytest.warns(SingularFitWarning, match="boundary"):
        fit = ipdma.mixed(PAPER, _data("ipd_singular"))
    assert fit.singular and fit.converged
    assert (fit.varcomp.loc[fit.varcomp["group"] == "trial", "variance"] == 0).all()
    assert any("singular" in w for w in fit.warnings)


@pytest.mark.parametrize("dataset", ["ipd_large", "ipd_small"])
def test_interaction_model_matches_lme4(dataset):
    ref = _ref(dataset)["interaction_reml"]
    fit = _fit(INTERACTION, _data(dataset))
    _check_lmer(fit, ref, scale=1.0)
    assert "treat:agec" in fit.fixef.index


@pytest.mark.parametrize("dataset", ["ipd_large", "ipd_small"])
@pytest.mark.parametrize("method", ["reml", "ml"])
def test_stratified_residuals_match_nlme_varident(dataset, method):
    ref = _ref(dataset)[f"stratified_nlme_{method}"]
    data = _data(dataset)
    fit = _fit(PAPER, data, reml=method == "reml", residual="stratified")
    assert fit.residual == "stratified" and isinstance(fit.sigma, pd.Series)
    _assert_rel(fit.fixef, _series(ref["fixef"]), LMM_NLME_RTOL, "fixef")
    _assert_rel(fit.se, _series(ref["se"]), LMM_NLME_RTOL, "se")
    _assert_rel(fit.sigma, pd.Series(ref["sigma_by_trial"]), LMM_NLME_SIGMA_RTOL, "sigma")
    outcome_var = float(data["y"].var())
    for term in ("treat", "base"):
        ours = fit.varcomp.loc[fit.varcomp["term1"] == term, "variance"].iloc[0]
        assert ours == pytest.approx(
            ref[f"var_{term}"], rel=LMM_NLME_RTOL, abs=LMM_VARCOMP_ATOL * outcome_var
        )
    assert fit.loglik == pytest.approx(ref["loglik"], rel=LMM_NLME_LOGLIK_RTOL)
    assert fit.loglik >= ref["loglik"] - LMM_LOGLIK_ABOVE_ATOL
    assert fit.converged


def test_stratified_ml_small_is_above_nlme_optimum():
    """nlme stops short on the few-small-trials ML fit; ipdma reaches a higher likelihood,
    and its gradient check shows it is at the optimum."""
    ref = _ref("ipd_small")["stratified_nlme_ml"]
    fit = _fit(PAPER, _data("ipd_small"), reml=False, residual="stratified")
    gain = fit.loglik - ref["loglik"]
    assert gain > 1e-6, f"ipdma {fit.loglik:.10f} vs nlme {ref['loglik']:.10f}"
    assert fit.converged


@pytest.mark.parametrize("dataset", ["ipd_large", "ipd_small"])
def test_stratified_reml_matches_glmmtmb(dataset):
    ref = _ref(dataset).get("stratified_glmmtmb_reml")
    if ref is None:
        pytest.skip("glmmTMB did not fit this dataset when the fixture was written")
    fit = _fit(PAPER, _data(dataset), residual="stratified")
    assert fit.loglik == pytest.approx(ref["loglik"], rel=LMM_NLME_LOGLIK_RTOL)
    assert fit.loglik >= ref["loglik"] - LMM_LOGLIK_ABOVE_ATOL
    _assert_rel(fit.fixef, _series(ref["fixef"]), LMM_NLME_RTOL, "fixef")
    _assert_rel(fit.sigma, pd.Series(ref["sigma_by_trial"]), LMM_NLME_SIGMA_RTOL, "sigma")
