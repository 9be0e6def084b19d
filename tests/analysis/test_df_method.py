"""The grid's denominator df (``[analysis.model] df_method``): Kenward-Roger, Satterthwaite,
residual and Wald flow from the plan to every linear model's SE, df, CI and p."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

import ipdma
from ipdma.analysis import AnalysisPlan, ModelSpec
from ipdma.analysis._design import prepare
from ipdma.analysis._fit import fit_prepared
from ipdma.models._kenward_roger import kenward_roger_of

from ._data import frame

pytestmark = pytest.mark.filterwarnings("ignore::ipdma.errors.SingularFitWarning")

SPEC = ModelSpec("interaction", "pain", "short", "any", "medication", True)


def _plan(df_method: str) -> AnalysisPlan:
    return AnalysisPlan.model_validate({"model": {"df_method": df_method}})


@pytest.fixture(scope="module")
def data():
    return frame(5, trials=6).assign(window="short")


def _record(data, df_method: str):
    """The grid's typed record of the model and its tidy frame (by term)."""
    plan = _plan(df_method)
    prepared = prepare(SPEC, data, plan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        record = fit_prepared(prepared, plan).record
    return prepared, record, record.tidy().set_index("term")


def test_kenward_roger_in_the_grid_matches_the_separate_computation(data):
    """The grid's KR (computed inside the fit from its design) equals KR recomputed from a
    rebuilt design (the path checked against pbkrtest), term by term; the CI and p use the
    KR-adjusted SE with the KR df."""
    prepared, record, terms = _record(data, "kenward-roger")
    assert record.status == "fitted" and record.df_method == "kenward-roger"
    assert record.options.ddf == "kenward-roger"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = ipdma.mixed(prepared.formula, prepared.data)
    kr = kenward_roger_of(fit, prepared.data)
    checked = 0
    for name, term in terms.iterrows():
        if not np.isfinite(term["se"]):
            continue
        np.testing.assert_allclose(term["se"], kr.se[name], rtol=1e-9)
        np.testing.assert_allclose(term["df"], kr.df[name], rtol=1e-9)
        assert term["se"] > fit.se[name]  # the KR adjustment inflates the covariance
        q = stats.t.ppf(0.975, kr.df[name])
        np.testing.assert_allclose(term["ci_high"] - term["ci_low"], 2 * q * kr.se[name])
        t = term["estimate"] / kr.se[name]
        np.testing.assert_allclose(term["p"], 2 * stats.t.sf(abs(t), kr.df[name]))
        checked += 1
    assert checked >= 2  # treatment and the within-trial interaction at least


def test_each_df_method_reaches_the_record(data):
    prepared, _, satt = _record(data, "satterthwaite")
    _, _, resid = _record(data, "residual")
    _, _, wald = _record(data, "wald")
    _, _, kr = _record(data, "kenward-roger")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = ipdma.mixed(prepared.formula, prepared.data)
    n, p = len(prepared.data), len(fit.fixef)
    usable = satt.index[np.isfinite(satt["se"])]
    assert len(usable) >= 2
    for name in usable:
        s, r, w, k = satt.loc[name], resid.loc[name], wald.loc[name], kr.loc[name]
        assert s["df"] == pytest.approx(fit.df[name], rel=1e-12)
        assert r["df"] == n - p and r["se"] == s["se"] == w["se"]
        assert np.isinf(w["df"])  # z: no df
        assert k["df"] != s["df"] and k["se"] != s["se"]
        # the model-based SE with a finite df gives a wider CI than the z CI
        assert (s["ci_high"] - s["ci_low"]) > (w["ci_high"] - w["ci_low"])


def test_kenward_roger_needs_reml():
    with pytest.raises(Exception, match="kenward-roger"):
        AnalysisPlan.model_validate({"model": {"df_method": "kenward-roger", "reml": False}})


def test_grid_run_with_kenward_roger(data):
    """End to end: ``run`` with KR reports the KR interval for the overall effect."""
    plan = AnalysisPlan.model_validate(
        {
            "outcomes": ["pain"],
            "comparisons": ["any"],
            "modifiers": ["medication"],
            "subgroups": False,
            "two_stage": False,
            "model": {"df_method": "kenward-roger"},
        }
    )
    results = ipdma.analysis.run(data, plan, jobs=1)
    overall = results.overall.iloc[0]
    prepared = prepare(ModelSpec("overall", "pain", "short", "any"), data, plan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = ipdma.mixed(prepared.formula, prepared.data)
    kr = kenward_roger_of(fit, prepared.data)
    q = stats.t.ppf(0.975, kr.df["treat"])
    np.testing.assert_allclose(
        [overall["ci_low"], overall["ci_high"]],
        [fit.fixef["treat"] - q * kr.se["treat"], fit.fixef["treat"] + q * kr.se["treat"]],
        rtol=1e-9,
    )
