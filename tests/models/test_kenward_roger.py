"""Kenward-Roger adjusted covariance and df against pbkrtest (via lmerTest).

Fixture: tests/reference/lmm_kenward_roger.R (lme4 1.1-31, lmerTest 3.1-3, pbkrtest 0.5.2)
on the committed sleepstudy and simulated IPD data sets: correlated and independent random
effects, stratified intercepts, an interaction, 6 and 27 trials.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.linalg as sla
from scipy import stats
from tests.tolerances import KR_ALGEBRA_RTOL, KR_NUISANCE_RTOL, KR_P_ATOL, KR_RTOL

import ipdma
from ipdma.errors import SingularFitWarning, SpecError
from ipdma.models._formula import build_design, parse_formula
from ipdma.models._kenward_roger import kenward_roger, kenward_roger_of

REFERENCE = Path(__file__).parents[1] / "reference"
FIXTURE = json.loads((REFERENCE / "lmm_kenward_roger.json").read_text())
IPD = "y ~ 0 + C(trial) + base + treat + (0 + treat | trial) + (0 + base | trial)"
MODELS = {
    "sleep_corr": ("lmm_sleepstudy.csv", "Reaction ~ Days + (Days | Subject)"),
    "sleep_indep": ("lmm_sleepstudy.csv", "Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)"),
    "small_paper": ("lmm_ipd_small.csv", IPD),
    "small_interaction": (
        "lmm_ipd_small.csv",
        IPD.replace("treat +", "agec + treat + treat:agec +"),
    ),
    "small_corr": (
        "lmm_ipd_small.csv",
        "y ~ 0 + C(trial) + base + treat + (0 + treat + base | trial)",
    ),
    "large_paper": ("lmm_ipd_large.csv", IPD),
    "large_interaction": (
        "lmm_ipd_large.csv",
        IPD.replace("treat +", "agec + treat + treat:agec +"),
    ),
}


def _data(name: str) -> pd.DataFrame:
    return pd.read_csv(REFERENCE / MODELS[name][0])


@pytest.mark.parametrize("name", list(MODELS))
def test_kr_algebra_at_pbkrtest_parameters(name: str) -> None:
    """Same variance components as lme4: the KR formulas agree to rounding."""
    ref = FIXTURE[name]
    design = build_design(parse_formula(MODELS[name][1]), _data(name))
    covariance = sla.block_diag(*[np.atleast_2d(np.array(b, dtype=float))
                                  for b in ref["covariance_blocks"].values()])  # fmt: skip
    residual = np.full(design.ngroups, ref["sigma2"])
    kr = kenward_roger(design, covariance, residual)
    t = np.array(ref["estimate"]) / kr.se.to_numpy()
    p = 2 * stats.t.sf(np.abs(t), kr.df.to_numpy())
    np.testing.assert_allclose(p, ref["p_kr"], rtol=KR_RTOL)
    np.testing.assert_allclose(kr.se, ref["se_kr"], rtol=KR_ALGEBRA_RTOL)
    np.testing.assert_allclose(kr.df, ref["df_kr"], rtol=KR_ALGEBRA_RTOL)
    np.testing.assert_allclose(kr.vcov, np.array(ref["vcov_adjusted"]), rtol=KR_ALGEBRA_RTOL,
                               atol=KR_ALGEBRA_RTOL * np.abs(ref["vcov_adjusted"]).max())  # fmt: skip


def _fit(formula: str, data: pd.DataFrame, **options) -> ipdma.MixedResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingularFitWarning)  # small_corr, large_* are singular
        return ipdma.mixed(formula, data=data, **options)


@pytest.mark.parametrize("name", list(MODELS))
def test_kr_at_ipdma_fit_matches_lmertest(name: str) -> None:
    """Reported terms (treatment, baseline, interaction) at KR_RTOL; largest seen 5.4e-7
    (SE) and 8.4e-8 (df). The trial intercepts' df move more with the variance components,
    which differ from lme4's by up to 1.7e-6 relative at log-likelihoods equal to 4e-12
    (a flat REML surface): largest seen 2.6e-6, checked at KR_NUISANCE_RTOL."""
    ref = FIXTURE[name]
    data = _data(name)
    fit = _fit(MODELS[name][1], data)
    assert fit.loglik >= ref["reml_loglik"] - 1e-7  # our optimum is at least as high
    kr = kenward_roger_of(fit, data)
    reported = ~pd.Series(ref["terms"]).str.startswith("factor(").to_numpy()
    for ours, theirs in ((kr.se, "se_kr"), (kr.df, "df_kr")):
        ours, theirs = ours.to_numpy(), np.array(ref[theirs])
        np.testing.assert_allclose(ours[reported], theirs[reported], rtol=KR_RTOL)
        np.testing.assert_allclose(ours, theirs, rtol=KR_NUISANCE_RTOL)
    # p from lme4's estimate with our SE and df: the estimates themselves differ by ~1e-7,
    # which a t of 10 turns into ~1e-5 relative in a p of 1e-17
    t = np.array(ref["estimate"]) / kr.se.to_numpy()
    p = 2 * stats.t.sf(np.abs(t), kr.df.to_numpy())
    # a relative SE difference e moves p by about t^2 e relative (1e-5 at t = 4.5): p is
    # held on its own (absolute) scale here, and relative to 1e-6 in the algebra test
    np.testing.assert_allclose(p[reported], np.array(ref["p_kr"])[reported], rtol=0,
                               atol=KR_P_ATOL)  # fmt: skip


def test_balanced_design_gives_the_exact_df() -> None:
    """sleepstudy with (Days | Subject): KR's df are exactly 17 (18 subjects - 1)."""
    data = _data("sleep_corr")
    kr = kenward_roger_of(_fit(MODELS["sleep_corr"][1], data), data)
    np.testing.assert_allclose(kr.df, 17.0, rtol=1e-9)


def _dense_kr(design, covariance, residual) -> np.ndarray:
    """Brute force: the KR adjusted covariance from dense n x n matrices (independent
    evaluation of the same formulas, for the stratified residual variances that no R package
    gives with Kenward-Roger)."""
    x, z = design.X, design.Z
    blocks = [z[s] @ covariance @ z[s].T + residual[k] * np.eye(s.stop - s.start)
              for k, s in enumerate(design.group_slices)]  # fmt: skip
    sigma_inv = np.linalg.inv(sla.block_diag(*blocks))
    gs = []
    for block in design.re_blocks:
        for j, b in enumerate(block):
            for a in block[j:]:
                g = np.outer(z[:, a], z[:, b])
                g = g + g.T if a != b else g
                same = np.zeros((len(x), len(x)))
                for s in design.group_slices:
                    same[s, s] = 1
                gs.append(g * same)
    for s in design.group_slices:
        g = np.zeros((len(x), len(x)))
        g[s, s] = np.eye(s.stop - s.start)
        gs.append(g)
    phi = np.linalg.inv(x.T @ sigma_inv @ x)
    p = [-x.T @ sigma_inv @ g @ sigma_inv @ x for g in gs]
    q = [[x.T @ sigma_inv @ gr @ sigma_inv @ gs_ @ sigma_inv @ x for gs_ in gs] for gr in gs]
    info = np.array([[np.trace(sigma_inv @ gr @ sigma_inv @ gs_) - 2 * np.sum(phi * q[i][j])
                      + np.trace(phi @ p[i] @ phi @ p[j]) for j, gs_ in enumerate(gs)]
                     for i, gr in enumerate(gs)])  # fmt: skip
    w = 2 * np.linalg.inv(info)
    u = sum(w[i, j] * (q[i][j] - p[i] @ phi @ p[j]) for i in range(len(gs)) for j in range(len(gs)))
    return phi + 2 * phi @ u @ phi


def test_stratified_residual_variances_match_the_dense_formulas() -> None:
    data = _data("small_paper").copy()
    data = data[data["trial"].isin(sorted(data["trial"].unique())[:4])]
    fit = _fit(IPD, data, residual="stratified")
    kr = kenward_roger_of(fit, data)
    design = build_design(parse_formula(IPD), data)
    covariance = np.diag([float(fit.varcomp.loc[fit.varcomp["term1"] == t, "variance"].iloc[0])
                          for t in design.random_names])  # fmt: skip
    residual = (fit.sigma.reindex(list(design.group_levels)) ** 2).to_numpy()
    np.testing.assert_allclose(kr.vcov, _dense_kr(design, covariance, residual), rtol=1e-8)
    # stratified: more covariance parameters, so the df are not those of a common variance
    common = kenward_roger_of(_fit(IPD, data), data)
    assert not np.allclose(kr.df, common.df)


def test_kr_refuses_ml_and_logistic_fits() -> None:
    data = _data("small_paper")
    with pytest.raises(ValueError, match="REML"):
        kenward_roger_of(_fit(IPD, data, reml=False), data)


@pytest.mark.parametrize("name", ["sleep_corr", "small_paper", "small_interaction"])
def test_ddf_kenward_roger_in_the_fit_matches_pbkrtest(name: str) -> None:
    """``ipdma.mixed(..., ddf="kenward-roger")``: KR computed inside the fit from its own
    design; ``tidy()`` then reports the KR-adjusted SE with KR df (pbkrtest's) by default."""
    ref = FIXTURE[name]
    data = _data(name)
    fit = _fit(MODELS[name][1], data, ddf="kenward-roger")
    assert fit.ddf == "kenward-roger"
    tidy = fit.tidy()
    reported = ~pd.Series(ref["terms"]).str.startswith("factor(").to_numpy()
    np.testing.assert_allclose(tidy["se"].to_numpy()[reported], np.array(ref["se_kr"])[reported],
                               rtol=KR_RTOL)  # fmt: skip
    np.testing.assert_allclose(tidy["df"].to_numpy()[reported], np.array(ref["df_kr"])[reported],
                               rtol=KR_RTOL)  # fmt: skip
    np.testing.assert_allclose(tidy["p"].to_numpy()[reported], np.array(ref["p_kr"])[reported],
                               rtol=0, atol=KR_P_ATOL)  # fmt: skip
    # the same fit's other inferences stay available; confint agrees with tidy per method
    satt = fit.tidy(method="satterthwaite")
    np.testing.assert_array_equal(satt["se"], fit.se.to_numpy())
    np.testing.assert_array_equal(satt["df"], fit.df.to_numpy())
    ci = fit.confint(method="kenward-roger")
    np.testing.assert_allclose(ci["ci_low"].to_numpy(), tidy["ci_low"].to_numpy(), rtol=1e-14)
    resid = fit.tidy(method="residual")
    assert (resid["df"] == fit.nobs - len(fit.fixef)).all()


def test_ddf_options_are_checked() -> None:
    data = _data("small_paper")
    plain = _fit(IPD, data)
    assert plain.kenward_roger is None and plain.ddf == "satterthwaite"
    with pytest.raises(SpecError, match="Kenward-Roger"):
        plain.tidy(method="kenward-roger")
    with pytest.raises(SpecError, match="REML"):
        _fit(IPD, data, ddf="kenward-roger", reml=False)
    with pytest.raises(SpecError, match="ddf"):
        _fit(IPD, data, ddf="kr")
    binary = data.assign(y=(data["y"] > data["y"].median()).astype(int))
    with pytest.raises(SpecError, match="linear models only"):
        _fit("y ~ treat + (1 | trial)", binary, family="binomial", ddf="kenward-roger")
    # residual df: n - rank(X), t quantiles
    resid = _fit(IPD, data, ddf="residual").tidy()
    assert (resid["df"] == len(data) - len(plain.fixef)).all()
