"""Separation, degenerate trials and bad input in logistic mixed models."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ipdma
from ipdma.errors import InputError, ModelError, SeparationWarning

REF = Path(__file__).parents[1] / "reference"
PAPER = "rec ~ 0 + C(trial) + base + treat + (0 + treat | trial)"


def small() -> pd.DataFrame:
    return pd.read_csv(REF / "glmm_ipd_small.csv")


@pytest.mark.parametrize("value,what", [(0, "no events"), (1, "only events")])
def test_trial_without_events_is_left_out_in_the_limit(value, what):
    data = small()
    data.loc[data.trial == "t03", "rec"] = value
    with pytest.warns(SeparationWarning, match=f"trial t03 has {what}"):
        result = ipdma.mixed(PAPER, data, family="binomial", nagq=5)
    assert result.converged
    assert np.isnan(result.fixef["C(trial)[t03]"]) and np.isnan(result.se["C(trial)[t03]"])
    assert np.isnan(result.ranef.loc["t03"]).all()
    assert result.details["excluded_trials"] == ("t03",)
    assert any("t03" in w for w in result.warnings)
    shared = ["base", "treat"]
    assert np.isfinite(result.fixef[shared]).all() and np.isfinite(result.se[shared]).all()
    # the documented behaviour: exactly the limit alpha_t03 -> -inf/+inf, i.e. the fit
    # without that trial (whose likelihood contribution tends to 1)
    without = ipdma.mixed(PAPER, data[data.trial != "t03"], family="binomial", nagq=5)
    assert result.loglik == pytest.approx(without.loglik, abs=1e-8)
    np.testing.assert_allclose(result.fixef[shared], without.fixef[shared], rtol=1e-7)
    np.testing.assert_allclose(result.se[shared], without.se[shared], rtol=1e-5)


def test_arm_without_events_keeps_the_trial_with_finite_estimates():
    data = small()
    data.loc[(data.trial == "t02") & (data.treat == 1), "rec"] = 0
    with pytest.warns(SeparationWarning, match=r"treat: .*t02 \(no events where 1\)"):
        result = ipdma.mixed(PAPER, data, family="binomial", nagq=5)
    assert result.converged
    assert np.isfinite(result.fixef).all() and np.isfinite(result.se).all()
    assert np.isfinite(result.ranef.loc["t02", "treat"]) and result.ranef.loc["t02", "treat"] < 0


def test_trial_without_events_but_shared_intercept_is_kept():
    data = small()
    data.loc[data.trial == "t04", "rec"] = 0
    with pytest.warns(SeparationWarning, match="t04 has no events .* intercept is shared"):
        result = ipdma.mixed("rec ~ base + treat + (1 | trial)", data, family="binomial", nagq=5)
    assert result.converged and np.isfinite(result.fixef).all()
    assert result.ranef.loc["t04", "(Intercept)"] < 0


def test_complete_separation_warns_and_stays_finite():
    data = small()
    data["rec"] = (data["base"] > 0).astype(int)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = ipdma.mixed(PAPER, data, family="binomial", nagq=1)
    sep = [w for w in caught if issubclass(w.category, SeparationWarning)]
    assert sep and "base" in str(sep[-1].message) and "separation" in str(sep[-1].message)
    assert not result.converged
    assert np.isfinite(result.fixef).all()
    assert result.details["separation_direction"] is not None


def test_boolean_outcome_equals_zero_one():
    data = small()
    as_int = ipdma.mixed(PAPER, data, family="binomial", nagq=3)
    as_bool = ipdma.mixed(PAPER, data.assign(rec=data.rec.astype(bool)), family="binomial", nagq=3)
    pd.testing.assert_series_equal(as_int.fixef, as_bool.fixef)
    assert as_int.loglik == as_bool.loglik


def test_invalid_outcome_names_trial_and_value():
    data = small()
    data.loc[data.index[data.trial == "t05"][0], "rec"] = 2
    with pytest.raises(InputError, match="not 0 or 1") as info:
        ipdma.mixed(PAPER, data, family="binomial")
    assert info.value.trial == "t05" and info.value.variable == "rec" and info.value.value == 2


def test_no_trial_with_events_is_a_model_error():
    data = small().assign(rec=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SeparationWarning)
        with pytest.raises(ModelError, match=r"no trial has both events|does not vary"):
            ipdma.mixed(PAPER, data, family="binomial")
    # events overall, but every trial has only events or none: still nothing to estimate
    first = data["trial"].unique()[::2]
    data = data.assign(rec=data["trial"].isin(first).astype(int))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SeparationWarning)
        with pytest.raises(ModelError, match="no trial has both events"):
            ipdma.mixed(PAPER, data, family="binomial")


def test_aggregated_counts_equal_expanded_rows():
    """cbind(successes, failures) on per-arm counts = the same model on 0/1 rows."""
    data = small()
    counts = (
        data.assign(failures=1 - data.rec)
        .groupby(["trial", "treat"], as_index=False)[["rec", "failures"]]
        .sum()
    )
    agg = ipdma.mixed(
        "cbind(rec, failures) ~ 0 + C(trial) + treat + (0 + treat | trial)",
        counts,
        family="binomial",
        nagq=5,
    )
    rows = ipdma.mixed(
        "rec ~ 0 + C(trial) + treat + (0 + treat | trial)", data, family="binomial", nagq=5
    )
    np.testing.assert_allclose(agg.fixef, rows.fixef, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(agg.se, rows.se, rtol=1e-5)
    # the likelihoods differ by the log binomial coefficients of the aggregated rows
    from scipy.special import gammaln

    n = counts.rec + counts.failures
    log_choose = np.sum(gammaln(n + 1) - gammaln(counts.rec + 1) - gammaln(counts.failures + 1))
    assert agg.loglik - rows.loglik == pytest.approx(log_choose, abs=1e-7)


def test_quasi_separation_by_a_rare_indicator_is_caught():
    """A 0/1 term that is 1 in a few rows, all events: its MLE is +inf (regression: the
    divergence screen used the column's root-mean-square, the fit claimed convergence and
    a pseudo-inverse gave the term a standard error of exactly 0)."""
    data = small()
    rows = data.index[(data.trial == "t02") & (data.treat == 1)][:6]
    data["rare"] = 0
    data.loc[rows, "rare"] = 1
    data.loc[rows, "rec"] = 1
    formula = "rec ~ 0 + C(trial) + base + treat + rare + (0 + treat | trial)"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = ipdma.mixed(formula, data, family="binomial", nagq=5)
    sep = [str(w.message) for w in caught if issubclass(w.category, SeparationWarning)]
    assert any("terms: rare" in m and "t02" in m for m in sep), sep
    assert not result.converged
    assert np.isnan(result.se["rare"]) and np.isnan(result.vcov.loc["rare", "base"])
    assert result.fixef["rare"] > 10  # heading to +inf
    others = ["base", "treat"]
    assert np.isfinite(result.se[others]).all() and (result.se[others] > 0).all()
    # the shared estimates are those of the fit without the separated rows' term in the
    # limit: dropping the perfectly predicted rows and the term gives the same estimates
    without = ipdma.mixed(
        "rec ~ 0 + C(trial) + base + treat + (0 + treat | trial)",
        data.drop(index=rows),
        family="binomial",
        nagq=5,
    )
    np.testing.assert_allclose(result.fixef[others], without.fixef[others], atol=1e-4)


def test_logistic_confint_and_tidy_agree_on_wald_z_and_diagnostics_are_structured():
    """Issue 12: z is the documented inference of logistic fits (df inf) for both."""
    result = ipdma.mixed(PAPER, small(), family="binomial", nagq=5)
    tidy = result.tidy(level=0.9).set_index("term")
    assert np.isinf(tidy["df"]).all()
    ci = result.confint(0.9)
    np.testing.assert_array_equal(ci["ci_low"], tidy["ci_low"])
    np.testing.assert_array_equal(ci["ci_low"], result.confint(0.9, method="wald")["ci_low"])
    z = 1.6448536269514722  # qnorm(0.95)
    row = tidy.loc["treat"]
    assert row["ci_low"] == pytest.approx(row["estimate"] - z * row["se"], rel=1e-12)
    diagnostics = result.diagnostics
    assert diagnostics is not None and diagnostics.converged == result.converged
    assert diagnostics.gradient_max < 1e-3 and not diagnostics.separated_terms
    assert diagnostics.singular == result.singular
    with pytest.raises(TypeError, match="read-only"):
        result.fixef["treat"] = 0.0
