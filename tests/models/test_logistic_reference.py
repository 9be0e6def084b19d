"""Logistic mixed models against lme4::glmer and glmmTMB on committed fixtures.

Fixtures: ``tests/reference/glmm_fit.R`` (lme4 1.1-31, glmmTMB 1.1.5) fitted the datasets
written by ``glmm_simulate.py`` and lme4's cbpp; results are in ``glmm_fits.json``.

Where glmer stops short of the optimum (its log-likelihood is below ours), we assert that
ours is higher and compare with glmmTMB, whose optimum agrees with ours to ~1e-8.
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
    GLMM_FIXEF_RTOL,
    GLMM_LOGLIK_ABOVE_ATOL,
    GLMM_LOGLIK_RTOL,
    GLMM_SE_RTOL,
    GLMM_THETA_RTOL,
    GLMM_TMB_FIXEF_RTOL,
    GLMM_TMB_SE_RTOL,
)

import ipdma
from ipdma.errors import SeparationWarning, SingularFitWarning

REF = Path(__file__).parents[1] / "reference"


@cache
def reference() -> dict:
    with open(REF / "glmm_fits.json") as fh:
        return json.load(fh)


@cache
def dataset(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / f"glmm_ipd_{name}.csv")


@cache
def fit(key: str, data_name: str, nagq: int):
    formula = reference()[key]["formula"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingularFitWarning)
        return ipdma.mixed(formula, dataset(data_name), family="binomial", nagq=nagq)


def r_name(term: str) -> str:
    """Our term names -> R's: C(trial)[t01] -> trialt01, C(period)[T.2] -> period2."""
    term = re.sub(r"^C\((\w+)\)\[T\.(.+)\]$", r"\1\2", term)
    return re.sub(r"^C\((\w+)\)\[(.+)\]$", r"\1\2", term)


def aligned(series: pd.Series, ref: dict) -> tuple[np.ndarray, np.ndarray]:
    ours = series.rename(r_name)
    names = list(ref)
    assert sorted(names) == sorted(ours.index), (names, list(ours.index))
    return ours[names].to_numpy(), np.array([ref[n] for n in names])


def assert_rel(ours, ref, rtol, floor=0.0):
    err = np.abs(ours - ref) / np.maximum(np.abs(ref), floor)
    assert np.max(err) <= rtol, f"max relative error {np.max(err):.2e} > {rtol:g}"


IPD = ["paper", "small", "homog"]


@pytest.mark.parametrize("name", IPD)
def test_laplace_matches_glmer(name):
    ref = reference()[name]["laplace"]
    result = fit(name, name, 1)
    assert result.method == "Laplace" and result.converged
    assert result.sigma is None and np.isinf(result.df).all()
    # log-likelihood: same to 1e-6 relative, and never below glmer's
    assert result.loglik == pytest.approx(ref["loglik"], rel=GLMM_LOGLIK_RTOL)
    assert result.loglik >= ref["loglik"] - GLMM_LOGLIK_ABOVE_ATOL
    assert_rel(*aligned(result.fixef, ref["fixef"]), GLMM_FIXEF_RTOL, floor=1.0)
    theta = np.array(result.details["theta"])
    assert_rel(theta, np.array(ref["theta"]), GLMM_THETA_RTOL, floor=1e-3)
    # SEs: glmmTMB has the exact Hessian (as we do); glmer a finite-difference one (at the
    # exact conditional modes: the fixture sets tolPwrss = 1e-13, see glmm_fit.R)
    tmb = reference()[name]["tmb"]
    assert_rel(*aligned(result.se, tmb["se"]), GLMM_TMB_SE_RTOL)
    assert_rel(*aligned(result.se, ref["se"]), GLMM_SE_RTOL)


@pytest.mark.parametrize("name", IPD)
def test_agq25_matches_glmer(name):
    ref = reference()[name]["agq25"]
    result = fit(name, name, 25)
    assert result.method == "AGHQ(25)" and result.converged
    assert result.loglik == pytest.approx(ref["loglik"], rel=GLMM_LOGLIK_RTOL)
    assert_rel(*aligned(result.fixef, ref["fixef"]), GLMM_FIXEF_RTOL, floor=1.0)
    assert_rel(*aligned(result.se, ref["se"]), GLMM_SE_RTOL)
    theta = np.array(result.details["theta"])
    assert_rel(theta, np.array(ref["theta"]), GLMM_THETA_RTOL, floor=1e-3)


def test_paper_ranef_and_varcomp_match_glmer():
    ref = reference()["paper"]["agq25"]
    result = fit("paper", "paper", 25)
    vc = result.varcomp
    assert list(vc.columns) == ["group", "term1", "term2", "variance", "sd", "corr"]
    sd = vc.loc[vc.term1 == "treat", "sd"].item()
    assert sd == pytest.approx(ref["theta"], rel=GLMM_THETA_RTOL)
    modes = result.ranef["treat"].reindex(ref["ranef"]["trial"]).to_numpy()
    assert np.max(np.abs(modes - np.array(ref["ranef"]["values"]["treat"]))) < 1e-3


def test_homog_is_singular_like_glmer():
    ref = reference()["homog"]["laplace"]
    assert any("singular" in m for m in ref["messages"])
    with pytest.warns(SingularFitWarning):
        result = ipdma.mixed(
            reference()["homog"]["formula"], dataset("homog"), family="binomial", nagq=1
        )
    assert result.singular and result.converged
    assert result.varcomp["sd"].iloc[0] < 1e-4


@pytest.mark.parametrize("key", ["two", "corr", "three"])
def test_several_random_effects_laplace(key):
    ref, tmb = reference()[key]["laplace"], reference()[key]["tmb"]
    result = fit(key, "two", 1)
    assert result.converged and not result.singular
    for other in (ref, tmb):
        assert result.loglik == pytest.approx(other["loglik"], rel=GLMM_LOGLIK_RTOL)
        assert result.loglik >= other["loglik"] - GLMM_LOGLIK_ABOVE_ATOL
    assert_rel(*aligned(result.fixef, tmb["fixef"]), GLMM_TMB_FIXEF_RTOL, floor=1.0)
    assert_rel(*aligned(result.se, tmb["se"]), GLMM_TMB_SE_RTOL)
    assert_rel(*aligned(result.fixef, ref["fixef"]), GLMM_FIXEF_RTOL, floor=1.0)
    assert_rel(*aligned(result.se, ref["se"]), GLMM_SE_RTOL)
    assert_rel(np.array(result.details["theta"]), np.array(ref["theta"]), GLMM_THETA_RTOL, 1e-3)


@cache
def cbpp() -> pd.DataFrame:
    data = pd.read_csv(REF / "glmm_cbpp.csv")
    return data.assign(failures=data["size"] - data["incidence"])


@pytest.mark.parametrize("nagq,key", [(1, "laplace"), (25, "agq25")])
def test_cbpp_aggregated_binomial(nagq, key):
    ref = reference()["cbpp"][key]
    result = ipdma.mixed(
        "cbind(incidence, failures) ~ C(period) + (1 | herd)",
        cbpp(),
        family="binomial",
        nagq=nagq,
    )
    assert result.converged and result.nobs == 56 and result.ngroups == 15
    if nagq == 1:
        # glmer (tolPwrss 1e-13) and glmmTMB (full binomial likelihood, Laplace) both agree
        tmb = reference()["cbpp"]["tmb"]
        assert result.loglik == pytest.approx(tmb["loglik"], rel=GLMM_LOGLIK_RTOL)
        assert_rel(*aligned(result.fixef, tmb["fixef"]), GLMM_TMB_FIXEF_RTOL, floor=1.0)
        assert_rel(*aligned(result.se, tmb["se"]), GLMM_TMB_SE_RTOL)
        assert result.loglik == pytest.approx(ref["loglik"], rel=GLMM_LOGLIK_RTOL)
        assert result.loglik >= ref["loglik"] - GLMM_LOGLIK_ABOVE_ATOL
        assert_rel(*aligned(result.fixef, ref["fixef"]), GLMM_FIXEF_RTOL, floor=1.0)
        assert_rel(*aligned(result.se, ref["se"]), GLMM_SE_RTOL)
    else:
        # lme4's logLik for aggregated binomial data at nAGQ > 1 leaves out part of the
        # log binomial coefficients, so only estimates and SEs are compared
        assert_rel(*aligned(result.fixef, ref["fixef"]), GLMM_FIXEF_RTOL, floor=1.0)
        assert_rel(*aligned(result.se, ref["se"]), GLMM_SE_RTOL)
    theta = result.details["theta"][0]
    assert theta == pytest.approx(ref["theta"], rel=GLMM_THETA_RTOL)


def test_tidy_odds_ratios():
    result = fit("paper", "paper", 1)
    tidy = result.tidy(exponentiate=True).set_index("term")
    assert tidy.loc["treat", "estimate"] == pytest.approx(np.exp(result.fixef["treat"]))
    low = result.fixef["treat"] - 1.959963984540054 * result.se["treat"]
    assert tidy.loc["treat", "ci_low"] == pytest.approx(np.exp(low))
    text = str(result.summary())
    assert "Laplace" in text and "treat" in text
    assert "<table" in result._repr_html_()


def test_no_separation_warning_on_clean_data():
    with warnings.catch_warnings():
        warnings.simplefilter("error", SeparationWarning)
        ipdma.mixed(reference()["paper"]["formula"], dataset("paper"), family="binomial", nagq=1)
