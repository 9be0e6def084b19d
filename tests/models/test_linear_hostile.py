"""Degenerate inputs to ipdma.mixed: constant outcomes, trials that cannot estimate their own
residual variance, empty data, cbind() expressions, numbers stored as objects."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ipdma
from ipdma.errors import DataWarning, InputError, ModelError, SingularFitWarning

REF = Path(__file__).parents[1] / "reference"


def _frame(seed: int = 3, k: int = 8, n: int = 240) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = pd.DataFrame(
        {
            "trial": np.repeat([f"t{i}" for i in range(k)], n // k),
            "treat": np.tile([0.0, 1.0], n // 2),
            "x": rng.normal(size=n),
        }
    )
    data["y"] = data["x"] + data["treat"] + rng.normal(size=n)
    data["rec"] = (rng.random(n) < 0.5).astype(float)
    return data


def _quiet(formula, data, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingularFitWarning)
        warnings.simplefilter("ignore", DataWarning)
        return ipdma.mixed(formula, data, **kwargs)


# --- 1. constant outcome ---------------------------------------------------------------
def test_constant_outcome_linear_says_it_does_not_vary():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow RuntimeWarning on the way
        with pytest.raises(ModelError, match=r"'y' does not vary.*value 1") as info:
            ipdma.mixed("y ~ treat + (1 | trial)", _frame().assign(y=1.0))
    assert info.value.variable == "y"


@pytest.mark.parametrize(("value", "what"), [(0.0, "is 0"), (1.0, "is 1")])
def test_constant_binary_outcome_says_it_does_not_vary(value, what):
    with pytest.raises(ModelError, match=f"'rec' does not vary.*rows {what}") as info:
        ipdma.mixed("rec ~ treat + (1 | trial)", _frame().assign(rec=value), family="binomial")
    assert info.value.variable == "rec"


def test_cbind_without_failures_says_it_does_not_vary():
    data = _frame().assign(events=3.0, size=3.0)
    with pytest.raises(ModelError, match="has 0 failures"):
        ipdma.mixed("cbind(events, size - events) ~ treat + (1 | trial)", data, family="binomial")


# --- 2. stratified residuals, a trial with a constant outcome -----------------------------
@pytest.mark.parametrize("trial", ["t0", "t5"])
def test_stratified_constant_outcome_in_one_trial_names_it(trial):
    data = _frame()
    data["y"] = np.where(data["trial"] == trial, 3.0, data["y"])
    with pytest.raises(ModelError, match=f"does not vary within trial {trial}") as info:
        ipdma.mixed("y ~ treat + (1 | trial)", data, residual="stratified")
    assert info.value.trial == trial and info.value.variable == "y"
    assert "residual='common'" in str(info.value) and f"drop trial {trial}" in str(info.value)
    # a common residual variance is fine with it
    assert _quiet("y ~ treat + (1 | trial)", data).converged


def test_stratified_exact_within_trial_fit_is_an_error():
    data = _frame()
    t2 = data["trial"] == "t2"
    data["y"] = np.where(t2, 1.0 + 2.0 * data["x"], data["y"])
    with pytest.raises(ModelError, match="fitted exactly by trial t2") as info:
        ipdma.mixed("y ~ x + treat + (1 | trial)", data, residual="stratified")
    assert info.value.trial == "t2"


# --- 3. stratified residuals, a one-participant trial -------------------------------------
@pytest.mark.parametrize(
    "formula", ["y ~ treat + (1 | trial)", "y ~ 0 + C(trial) + treat + (0 + treat | trial)"]
)
def test_stratified_single_participant_shares_the_reference_variance(formula):
    """Whatever its id (first or last trial), a one-participant trial keeps ratio 1 to the
    reference trial (the first trial with residual df), and the fit is the same."""
    fits = {}
    for solo_id in ("a solo", "z solo"):
        solo = pd.DataFrame({"trial": [solo_id], "treat": [1.0], "x": [0.1], "y": [1.0]})
        data = pd.concat([_frame(seed=0), solo], ignore_index=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SingularFitWarning)
            with pytest.warns(DataWarning, match=f"{solo_id} has no residual degrees.*trial t0"):
                fit = ipdma.mixed(formula, data, residual="stratified")
        assert fit.converged, fit.convergence
        assert fit.sigma[solo_id] == pytest.approx(fit.sigma["t0"], rel=1e-12)
        fits[solo_id] = fit
    a, z = fits["a solo"], fits["z solo"]
    assert a.loglik == pytest.approx(z.loglik, rel=1e-9)
    assert a.fixef["treat"] == pytest.approx(z.fixef["treat"], rel=1e-6)
    assert a.sigma["t3"] == pytest.approx(z.sigma["t3"], rel=1e-6)


# --- 4. empty data -----------------------------------------------------------------------
@pytest.mark.parametrize("family", ["gaussian", "binomial"])
def test_empty_frame_says_no_rows(family):
    outcome = "y" if family == "gaussian" else "rec"
    with pytest.raises(InputError, match="the data have no rows"):
        ipdma.mixed(f"{outcome} ~ treat + (1 | trial)", _frame().iloc[:0], family=family)


# --- 5. cbind() with expressions -----------------------------------------------------------
def test_cbind_expression_matches_failures_column():
    cbpp = pd.read_csv(REF / "glmm_cbpp.csv")
    by_expression = ipdma.mixed(
        "cbind(incidence, size - incidence) ~ C(period) + (1 | herd)", cbpp, family="binomial"
    )
    by_column = ipdma.mixed(
        "cbind(incidence, failures) ~ C(period) + (1 | herd)",
        cbpp.assign(failures=cbpp["size"] - cbpp["incidence"]),
        family="binomial",
    )
    assert by_expression.converged and by_expression.nobs == 56
    pd.testing.assert_series_equal(by_expression.fixef, by_column.fixef, rtol=1e-12)
    assert by_expression.loglik == pytest.approx(by_column.loglik, rel=1e-12)


def test_cbind_expression_with_backticks_and_numbers():
    cbpp = pd.read_csv(REF / "glmm_cbpp.csv").rename(columns={"size": "herd size"})
    fit = ipdma.mixed(
        "cbind(incidence, 2 * `herd size` - `herd size` - incidence) ~ C(period) + (1 | herd)",
        cbpp,
        family="binomial",
    )
    assert fit.converged and fit.nobs == 56


@pytest.mark.parametrize(
    "expr", ["size ** incidence", "__import__('os').getcwd()", "size.sum()", "size if 1 else 2"]
)
def test_cbind_expression_refuses_anything_but_arithmetic(expr):
    cbpp = pd.read_csv(REF / "glmm_cbpp.csv")
    with pytest.raises(ipdma.errors.FormulaError):
        ipdma.mixed(f"cbind(incidence, {expr}) ~ 1 + (1 | herd)", cbpp, family="binomial")


# --- 6. numbers stored as objects -----------------------------------------------------------
def test_object_column_of_numbers_and_none_is_numeric():
    data = _frame()
    data.loc[[4, 9], "y"] = np.nan
    data.loc[[6], "x"] = np.nan
    as_object = data.assign(
        y=pd.Series([None if pd.isna(v) else v for v in data["y"]], dtype=object),
        x=pd.Series([None if pd.isna(v) else v for v in data["x"]], dtype=object),
    )
    assert as_object["y"].dtype == object
    reference = _quiet("y ~ x + treat + (1 | trial)", data)
    result = _quiet("y ~ x + treat + (1 | trial)", as_object)
    assert result.nobs == reference.nobs == 237
    pd.testing.assert_series_equal(result.fixef, reference.fixef, rtol=1e-12)


def test_string_outcome_names_column_value_and_row():
    data = _frame()
    data["y"] = data["y"].astype(object)
    data.loc[17, "y"] = "n/a"
    with pytest.raises(InputError, match=r"'y' is not numeric.*'n/a' in row 17") as info:
        ipdma.mixed("y ~ treat + (1 | trial)", data)
    assert info.value.variable == "y" and info.value.row == 17 and info.value.value == "n/a"
