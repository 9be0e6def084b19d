"""Model construction: centring, contributing trials, levels, the across-trial term."""

import numpy as np
import pandas as pd
import pytest

import ipdma
from ipdma.analysis import AnalysisPlan, ModelSpec, plan_from_dict, prepare
from ipdma.errors import ModelError

from ._data import frame

PLAN = AnalysisPlan(modifiers=("age", "female", "bmi", "medication", "site_level", "pain0"))


def _spec(modifier, kind="interaction", adjusted=False, outcome="pain", comparison="any"):
    return ModelSpec(kind, outcome, "short", comparison, modifier, adjusted)


def test_covariates_are_centred_at_trial_means():
    data = frame(3)
    prepared = prepare(_spec("bmi", adjusted=True), data, PLAN)
    means = prepared.data.groupby("trial")[["baseline", "modifier", "age", "female"]].mean()
    assert np.abs(means.to_numpy()).max() < 1e-9
    product = prepared.data["treat"] * prepared.data["modifier"]
    assert np.allclose(prepared.data["treat_x_modifier"], product)
    assert "treat_x_age" in prepared.formula and "treat_x_female" in prepared.formula
    assert "(0 + treat | trial)" in prepared.formula


def test_recovery_models_have_the_papers_random_effects_by_default():
    """Global recovery: random treatment and random baseline effects (paper's Methods)."""
    prepared = prepare(_spec("bmi", outcome="recovery"), frame(3), AnalysisPlan())
    assert prepared.family == "binomial"
    assert prepared.formula.endswith("+ (0 + treat | trial) + (0 + baseline | trial)")
    one = AnalysisPlan.model_validate({"model": {"random_binomial": ["treatment"]}})
    prepared = prepare(_spec("bmi", outcome="recovery"), frame(3), one)
    assert prepared.formula.endswith("+ (0 + treat | trial)")


@pytest.mark.filterwarnings("ignore::ipdma.errors.SingularFitWarning")
def test_trial_level_covariate_has_no_within_trial_interaction():
    # site_level differs only between trials; it modifies the effect across trials (-3/unit)
    data = frame(5, trials=16, across_site=-3.0, tau=0.5)
    prepared = prepare(_spec("site_level"), data, PLAN)
    within = next(t for t in prepared.terms if t.role == "interaction")
    across = next(t for t in prepared.terms if t.role == "across")
    assert not within.estimable and within.studies == 0 and within.participants == 0
    assert "treat_x_modifier " not in prepared.formula + " "
    assert "treat_x_modifier_mean" in prepared.formula
    assert across.estimable and across.studies == 16
    fit = ipdma.mixed(prepared.formula, prepared.data)
    estimate, se = fit.fixef["treat_x_modifier_mean"], fit.se["treat_x_modifier_mean"]
    assert abs(estimate - (-3.0)) < 3 * se  # the across-trial term picks it up
    assert estimate < 0 and abs(estimate / se) > 2


def test_trial_level_covariate_is_reported_as_not_estimable():
    data = frame(5, trials=16, across_site=-3.0)
    plan = AnalysisPlan(
        outcomes=("pain",), windows=("short",), comparisons=("any",), modifiers=("site_level",),
        adjustments=("unadjusted",), subgroups=False, two_stage=False,
    )  # fmt: skip
    results = ipdma.analysis.run(data, plan, jobs=1)
    row = results.interactions.iloc[0]
    assert row["studies"] == 0 and row["participants"] == 0
    assert np.isnan(row["estimate"]) and np.isnan(row["p"])
    assert row["note"] == "no trial varies"
    assert row["across_studies"] == 16 and row["across_p"] < 0.05
    assert row["error"] is None


def test_contributing_trials_need_both_arms_and_variation():
    data = frame(7, trials=6)
    data.loc[data.trial == "trial00", "medication"] = 1.0  # no variation
    data.loc[(data.trial == "trial01") & (data.treat == 0), "treat"] = 1.0  # one arm only
    prepared = prepare(_spec("medication"), data, PLAN)
    term = next(t for t in prepared.terms if t.role == "interaction")
    assert "trial01" not in set(prepared.data.trial)  # no contrast: not in the model
    per_trial = data[data.trial.isin(["trial02", "trial03", "trial04", "trial05"])]
    assert term.studies == 4 and term.participants == len(per_trial)
    treatment = next(t for t in prepared.terms if t.role == "treatment")
    assert treatment.studies == 5


def test_comparison_sets_select_arms():
    data = frame(2, trials=6)
    usual = prepare(_spec(None, kind="overall", comparison="usual"), data, PLAN).data
    conservative = prepare(_spec(None, kind="overall", comparison="conservative"), data, PLAN)
    assert set(usual.trial) == {"trial01", "trial03", "trial05"}
    assert set(conservative.data.trial) == {"trial00", "trial02", "trial04"}


def test_missing_values_are_dropped_and_counted():
    data = frame(2, trials=5)
    data.loc[:9, "bmi"] = np.nan
    prepared = prepare(_spec("bmi"), data, PLAN)
    assert prepared.dropped == 10 and len(prepared.data) == len(data) - 10


def test_binary_reference_level_and_categorical_levels():
    data = frame(4, trials=6)
    plan = plan_from_dict(
        {"modifiers": ["medication"], "modifier": {"medication": {"reference": 1}}}
    )
    prepared = prepare(_spec("medication"), data, plan)
    assert prepared.reference == "Yes"
    assert next(t for t in prepared.terms if t.role == "interaction").level == "No"
    data["setting"] = np.where(data.age < 40, "a", np.where(data.age < 50, "b", "c"))
    plan = plan_from_dict(
        {"modifiers": ["setting"], "modifier": {"setting": {"type": "categorical"}}}
    )
    prepared = prepare(_spec("setting"), data, plan)
    levels = [t.level for t in prepared.terms if t.role == "interaction"]
    assert prepared.reference == "a" and levels == ["b", "c"]
    cut = plan_from_dict({"modifiers": ["bmi"], "modifier": {"bmi": {"type": "categorical"}}})
    levels = [t.level for t in prepare(_spec("bmi"), data, cut).terms if t.role == "interaction"]
    assert levels == ["18.5-25", "25-30", ">= 30"]


def test_subgroup_categories():
    data = frame(4, trials=8)
    prepared = prepare(_spec("bmi", kind="subgroup", adjusted=True), data, PLAN)
    levels = [t.level for t in prepared.terms]
    assert levels[1:] == ["18.5-25", "25-30", ">= 30"]
    median = float(np.median(data.pain0))
    cut = float(f"{median:.3g}")  # the median, printed and used to 3 significant digits
    assert abs(cut - median) <= 0.005 * abs(median)
    levels = [t.level for t in prepare(_spec("pain0", kind="subgroup"), data, PLAN).terms]
    assert levels == [f"< {cut:g}", f">= {cut:g}"]
    assert len(f"{cut:g}".replace(".", "").lstrip("0")) <= 3


def test_modifier_equal_to_baseline_is_not_duplicated():
    prepared = prepare(_spec("pain0"), frame(1), PLAN)
    fixed = prepared.formula.split("+ (0")[0]
    assert " modifier " not in fixed + " " and "treat_x_modifier" in fixed


def test_bad_data_raise_model_errors():
    data = frame(1, trials=4)
    with pytest.raises(ModelError, match="'smoker' is not in the analysis data"):
        prepare(_spec("smoker"), data, AnalysisPlan())
    data["medication"] = data["medication"] * 2
    with pytest.raises(ModelError, match="values other than 0 and 1"):
        prepare(_spec("medication"), data, PLAN)
    one_arm = data.assign(treat=1.0)
    with pytest.raises(ModelError, match="no trial has both arms"):
        prepare(_spec("age"), one_arm, PLAN)


def test_treatment_coding_centred_at_trial_proportion():
    plan = plan_from_dict({"modifiers": ["age"], "model": {"treatment_coding": "centred"}})
    prepared = prepare(_spec("age"), frame(3), plan)
    assert np.abs(prepared.data.groupby("trial")["treat"].mean()).max() < 1e-12
    assert isinstance(prepared.data, pd.DataFrame)


@pytest.mark.filterwarnings("ignore::ipdma.errors.SingularFitWarning")
@pytest.mark.filterwarnings("ignore::ipdma.errors.ConvergenceWarning")
def test_model_options_reach_the_formula_and_the_fit():
    data = frame(9, trials=8)
    options = {
        "interaction": "random", "prognostic": "stratified", "correlated": True,
        "residual": "stratified", "across_trial": False,
    }  # fmt: skip
    plan = plan_from_dict({"modifiers": ["bmi"], "model": options})
    prepared = prepare(_spec("bmi"), data, plan)
    assert "(0 + treat + baseline + treat_x_modifier | trial)" in prepared.formula
    assert "modifier_t0" in prepared.formula and "_mean" not in prepared.formula
    results = ipdma.analysis.run(
        data, plan.model_copy(update={"outcomes": ("pain",), "windows": ("short",),
                                      "comparisons": ("any",), "subgroups": False}), jobs=1
    )  # fmt: skip
    models = results.models
    assert models.error.isna().all(), models.error.tolist()
    assert "treat_x_modifier | trial" in models.formula.iloc[1]
    assert results.interactions.estimate.notna().all()


@pytest.mark.filterwarnings("ignore::ipdma.errors.IpdmaWarning")
@pytest.mark.parametrize("outcome", ["pain", "recovery"])
def test_subgroup_indicator_aliased_with_trial_intercepts_is_dropped(outcome):
    """Subgroups of a trial-level modifier: the category indicators are constant within each
    trial (absorbed by the stratified intercepts), so they leave the model, with a note; the
    per-category treatment effects are still estimated (R's lm/lmer/glmer drop them too)."""
    data = frame(5, trials=16, across_site=-3.0)
    prepared = prepare(_spec("site_level", kind="subgroup", outcome=outcome), data, PLAN)
    assert "category_" not in prepared.formula
    assert any("aliased with the stratified trial intercepts" in n for n in prepared.notes)
    subgroup_terms = [t for t in prepared.terms if t.role == "subgroup"]
    assert len(subgroup_terms) >= 2 and all(t.estimable for t in subgroup_terms)
    assert all(t.column in prepared.formula for t in subgroup_terms)
    plan = AnalysisPlan(
        outcomes=(outcome,), windows=("short",), comparisons=("any",), modifiers=("site_level",),
        adjustments=("unadjusted",), two_stage=False,
    )  # fmt: skip
    results = ipdma.analysis.run(data, plan, jobs=1)
    assert results.models["error"].isna().all()
    rows = results.subgroups
    assert len(rows) == len(subgroup_terms) and np.isfinite(rows["estimate"]).all()
    model = results.models[results.models["id"].str.contains("subgroup")].iloc[0]
    assert "aliased with the stratified trial intercepts" in model["notes"]


def test_one_contributing_trial_is_not_estimable():
    from ipdma.analysis._design import TooFewTrials

    data = frame(3)
    first = data["trial"].iloc[0]
    # the other trials lose the modifier: only the first has complete data
    data.loc[data["trial"] != first, "bmi"] = np.nan
    with pytest.raises(TooFewTrials, match=rf"only one trial \({first}\).*at least two trials"):
        prepare(_spec("bmi"), data, PLAN)
