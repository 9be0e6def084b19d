"""Bad input to ipdma.mixed: clear ipdma.errors exceptions and warnings that say what happened."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import ipdma
from ipdma.errors import (
    DataWarning,
    FormulaError,
    InputError,
    ModelError,
    RankDeficiencyError,
    SpecError,
)

PAPER = "y ~ 0 + C(trial) + base + treat + (0 + treat | trial) + (0 + base | trial)"


@pytest.fixture
def data() -> pd.DataFrame:
    rng = np.random.default_rng(42)
    sizes = [30, 40, 50, 35, 45, 60]
    trial = np.repeat([f"t{i}" for i in range(len(sizes))], sizes)
    idx = np.repeat(np.arange(len(sizes)), sizes)
    n = len(trial)
    treat = np.concatenate([np.arange(k) % 2 for k in sizes]).astype(float)
    base = rng.normal(50, 10, n)
    effect = -5 + rng.normal(0, 4, len(sizes))
    y = 10 + 0.5 * base + effect[idx] * treat + rng.normal(0, 5, n)
    return pd.DataFrame({"trial": trial, "y": y, "base": base, "treat": treat})


def _quiet_fit(formula, frame, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ipdma.mixed(formula, frame, **kwargs)


def test_unknown_column_is_named_with_suggestion(data):
    with pytest.raises(FormulaError, match="'treatment'") as info:
        ipdma.mixed(PAPER.replace("+ treat +", "+ treatment +"), data)
    assert info.value.variable == "treatment"
    assert "treat" in info.value.hint


def test_unknown_grouping_column(data):
    with pytest.raises(FormulaError, match="'study'"):
        ipdma.mixed("y ~ treat + (1 | study)", data)


def test_non_numeric_outcome_names_row_and_value(data):
    data = data.assign(y=data["y"].astype(object))
    data.loc[7, "y"] = "missing?"
    with pytest.raises(InputError, match="outcome 'y' is not numeric") as info:
        ipdma.mixed(PAPER, data)
    assert info.value.variable == "y" and info.value.row == 7 and info.value.value == "missing?"


def test_unparseable_formula_says_where(data):
    with pytest.raises(FormulaError, match=r"\^ here"):
        ipdma.mixed("y ~ base + (treat | trial", data)


def test_random_term_without_grouping_factor(data):
    with pytest.raises(FormulaError, match="no grouping factor"):
        ipdma.mixed("y ~ base + (0 + treat | )", data)


def test_single_participant_trial_warns_and_is_kept(data):
    extra = pd.DataFrame({"trial": ["lonely"], "y": [30.0], "base": [40.0], "treat": [1.0]})
    frame = pd.concat([data, extra], ignore_index=True)
    with pytest.warns(DataWarning, match="trial lonely has a single participant"):
        fit = ipdma.mixed("y ~ base + treat + (0 + treat | trial)", frame)
    assert fit.ngroups == 7 and fit.nobs == len(frame)
    assert any("single participant" in w for w in fit.warnings)


def test_single_participant_trial_with_stratified_residuals(data):
    extra = pd.DataFrame({"trial": ["zz"], "y": [30.0], "base": [40.0], "treat": [1.0]})
    frame = pd.concat([data, extra], ignore_index=True)
    with pytest.warns(DataWarning, match="residual variance cannot be estimated"):
        fit = ipdma.mixed(PAPER, frame, residual="stratified")
    assert np.isfinite(fit.loglik) and "zz" in fit.sigma.index


def test_no_variation_in_random_covariate_warns(data):
    frame = data.copy()
    frame.loc[frame["trial"] == "t2", "treat"] = 1.0  # a single-arm trial
    with pytest.warns(DataWarning, match="'treat' does not vary within trial\\(s\\) t2"):
        fit = _fit_with_warnings(frame)
    assert any("does not vary" in w for w in fit.warnings)
    assert np.isfinite(fit.fixef["treat"])


def _fit_with_warnings(frame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ipdma.SingularFitWarning)
        return ipdma.mixed(PAPER, frame)


def test_rank_deficient_fixed_effects_name_aliased_columns(data):
    frame = data.assign(treat2=2 * data["treat"])
    with pytest.raises(RankDeficiencyError, match="treat2") as info:
        ipdma.mixed("y ~ base + treat + treat2 + (1 | trial)", frame)
    assert info.value.variable == "treat2"
    with pytest.raises(RankDeficiencyError, match="one"):
        ipdma.mixed("y ~ 1 + base + treat + one + (1 | trial)", frame.assign(one=1.0))


def test_intercept_aliased_with_stratified_intercepts(data):
    frame = data.assign(const=1.0)
    with pytest.raises(RankDeficiencyError, match="const"):
        ipdma.mixed("y ~ 0 + C(trial) + const + treat + (0 + treat | trial)", frame)


def test_trial_local_column_all_zero_is_aliased(data):
    frame = data.copy()
    frame["base_t0"] = np.where(frame["trial"] == "t0", 0.0, frame["base"])
    with pytest.raises(RankDeficiencyError, match=r"C\(trial\)\[t0\]:base_t0|base_t0"):
        ipdma.mixed("y ~ 0 + C(trial) + C(trial):base_t0 + treat + (0 + treat | trial)", frame)


def test_all_rows_dropped(data):
    frame = data.assign(base=np.nan)
    with pytest.raises(ModelError, match="all 260 rows") as info, warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        ipdma.mixed(PAPER, frame)
    assert info.value.variable == "base"


def test_bad_options_are_rejected(data):
    with pytest.raises(SpecError, match="residual"):
        ipdma.mixed(PAPER, data, residual="by-trial")
    with pytest.raises(SpecError, match="family"):
        ipdma.mixed(PAPER, data, family="gamma")
    with pytest.raises(SpecError, match="nagq"):
        ipdma.mixed(PAPER, data, nagq=5)
    with pytest.raises(InputError, match="DataFrame"):
        ipdma.mixed(PAPER, data.to_dict())


def test_infinite_value_names_column_row_and_value(data):
    frame = data.copy()
    frame.loc[11, "base"] = np.inf
    with pytest.raises(InputError, match="'base' has an infinite value") as info:
        ipdma.mixed(PAPER, frame)
    assert info.value.row == 11 and info.value.value == np.inf


def test_duplicate_column_names_are_an_input_error(data):
    frame = pd.concat([data, data[["y"]]], axis=1)
    with pytest.raises(InputError, match="more than one column named 'y'"):
        ipdma.mixed(PAPER, frame)


def test_single_trial_is_a_model_error(data):
    with pytest.raises(ModelError, match="single level"):
        ipdma.mixed("y ~ base + treat + (1 | trial)", data.assign(trial="only"))
