"""Independent cross-check: cells of the one-stage analysis grid vs R built from the paper.

tests/reference/xcheck_grid.R rebuilds each model from the paper's description (comparison
set, complete cases, trials with both arms, baseline and modifier centred at the trial mean,
separate across-trial term, age/sex adjustment, stratified intercepts, random treatment (and
baseline) effects; lmerTest REML / glmer Laplace) on xcheck_grid.csv =
ipdma.simulate.harmonized_ipd(seed=7); here ipdma.analysis.run analyses the same CSV.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import ipdma
from ipdma.analysis import AnalysisPlan, ModelOptions, ModelSpec, prepare
from tests.reference.xcheck_compare import REF, ref
from tests.tolerances import (
    GLMM_FIXEF_RTOL,
    GLMM_LOGLIK_ABOVE_ATOL,
    GLMM_SE_RTOL,
    GLMM_TMB_FIXEF_RTOL,
    GLMM_TMB_SE_RTOL,
    LMM_DF_RTOL,
    LMM_FIXEF_RTOL,
    LMM_NLME_RTOL,
    META_ITERATIVE_RTOL,
)

PLAN = AnalysisPlan(
    outcomes=("pain", "function", "recovery"),
    windows=("short",),
    comparisons=("usual", "any"),
    modifiers=("medication", "bmi"),
    two_stage=False,
    # the R reference fits recovery with glmer Laplace (nAGQ = 1) and a random treatment
    # effect only (written before the paper's 2-D structure became the default)
    model=ModelOptions(nagq=1, random_binomial=("treatment",)),
)
CELLS = {
    "overall_pain_usual": ("pain", "usual", None, False),
    "overall_recovery_any": ("recovery", "any", None, False),
    "function_any_medication_adjusted": ("function", "any", "medication", True),
    "pain_any_bmi": ("pain", "any", "bmi", False),
    "pain_usual_bmi_adjusted": ("pain", "usual", "bmi", True),
    "recovery_any_medication": ("recovery", "any", "medication", False),
    "recovery_any_bmi_adjusted": ("recovery", "any", "bmi", True),
}


@pytest.fixture(scope="module")
def results():
    frame = pd.read_csv(REF / "xcheck_grid.csv", dtype={"trial": str, "pid": str})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ipdma.errors.IpdmaWarning)
        return ipdma.analysis.run(frame, PLAN, jobs=1)


def _assert_linear(got: pd.Series, r: dict, prefix: str) -> None:
    """MD scale: estimate vs lme4; CI and p use lmerTest's Satterthwaite df."""
    names = [f"{prefix}{k}" for k in ("estimate", "ci_low", "ci_high", "p")]
    ours = got[names].to_numpy(float)
    assert ours[0] == pytest.approx(r["estimate"], rel=LMM_FIXEF_RTOL), (names, ours, r)
    theirs = [r["ci_low"], r["ci_high"], r["p"]]
    np.testing.assert_allclose(ours[1:], theirs, rtol=LMM_DF_RTOL, err_msg=str(names))


def _assert_logistic(got: pd.Series, r: dict, prefix: str) -> None:
    """OR scale. glmer's SEs come from a finite-difference Hessian and differ from glmmTMB's
    exact ones by up to 8e-4 here (overall recovery), which moves p by 2e-3 relative; so the
    log-OR and its SE (recovered from the Wald CI) are checked against both R fits, and the
    CI and p against ipdma's own estimate and SE."""
    est, low, high, p = got[[f"{prefix}{k}" for k in ("estimate", "ci_low", "ci_high", "p")]]
    z = stats.norm.ppf(0.975)
    coef = np.log(est)
    se = (np.log(high) - np.log(low)) / (2 * z)
    assert coef == pytest.approx(r["coef"], rel=GLMM_FIXEF_RTOL, abs=GLMM_FIXEF_RTOL)
    assert coef == pytest.approx(r["tmb_coef"], rel=GLMM_TMB_FIXEF_RTOL, abs=GLMM_TMB_FIXEF_RTOL)
    assert se == pytest.approx(r["se"], rel=GLMM_SE_RTOL)
    assert se == pytest.approx(r["tmb_se"], rel=GLMM_TMB_SE_RTOL)
    assert np.log(low) == pytest.approx(coef - z * se, rel=1e-9, abs=1e-12)
    assert p == pytest.approx(2 * stats.norm.sf(abs(coef / se)), rel=1e-9)


def _assert_row(got: pd.Series, r: dict, prefix: str, outcome: str) -> None:
    if outcome == "recovery":
        _assert_logistic(got, r, prefix)
    else:
        _assert_linear(got, r, prefix)


@pytest.mark.parametrize("cell", list(CELLS))
def test_grid_cell_matches_r_built_from_the_paper(results, cell):
    outcome, comparison, modifier, adjusted = CELLS[cell]
    r = ref("grid")[cell]
    if modifier is None:
        table = results.overall
        row = table[(table.outcome == outcome) & (table.comparison == comparison)]
        assert len(row) == 1
        row = row.iloc[0]
        _assert_row(row, r["terms"]["treat"], "", outcome)
    else:
        table = results.interactions
        row = table[
            (table.outcome == outcome)
            & (table.comparison == comparison)
            & (table.modifier == modifier)
            & (table.adjusted == adjusted)
        ]
        assert len(row) == 1, row
        row = row.iloc[0]
        _assert_row(row, r["terms"]["t_within"], "", outcome)
        _assert_row(row, r["terms"]["t_across"], "across_", outcome)
        assert row["across_studies"] == r["studies"]
    assert row["studies"] == r["studies"]
    assert row["participants"] == r["nobs"]


SUBGROUPS = {
    "subgroup_pain_any_bmi": ("pain", "any", "bmi"),
    "subgroup_recovery_any_medication": ("recovery", "any", "medication"),
}


@pytest.mark.parametrize("cell", list(SUBGROUPS))
def test_subgroup_effects_match_r(results, cell):
    """Figures 3-5: adjusted per-category treatment effects, categories from the paper."""
    outcome, comparison, modifier = SUBGROUPS[cell]
    r = ref("grid")[cell]
    table = results.subgroups
    rows = table[
        (table.outcome == outcome) & (table.comparison == comparison) & (table.modifier == modifier)
    ].set_index("level")
    assert list(rows.index) == [level["level"] for level in r["levels"]]
    for level in r["levels"]:
        row = rows.loc[level["level"]]
        assert row["studies"] == level["studies"]
        assert row["participants"] == level["participants"]
        if outcome == "recovery":  # glmer SEs are finite-difference: log-OR and SE only
            z = stats.norm.ppf(0.975)
            se = (np.log(row["ci_high"]) - np.log(row["ci_low"])) / (2 * z)
            assert np.log(row["estimate"]) == pytest.approx(
                level["coef"], rel=GLMM_FIXEF_RTOL, abs=GLMM_FIXEF_RTOL
            )
            assert se == pytest.approx(level["se"], rel=GLMM_SE_RTOL)
        else:
            _assert_linear(row, level, "")


def test_stratified_residuals_and_centred_treatment_match_nlme():
    """Non-default options (residual='stratified', treatment_coding='centred') vs
    nlme::lme varIdent with the treatment centred at each trial's proportion treated."""
    plan = AnalysisPlan(
        outcomes=("function",),
        windows=("short",),
        comparisons=("any",),
        modifiers=("medication",),
        two_stage=False,
        model=ModelOptions(residual="stratified", treatment_coding="centred"),
    )
    frame = pd.read_csv(REF / "xcheck_grid.csv", dtype={"trial": str, "pid": str})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ipdma.errors.IpdmaWarning)
        results = ipdma.analysis.run(frame, plan, jobs=1)
    r = ref("grid")["options_function_any_medication"]
    inter = results.interactions
    row = inter[(inter.modifier == "medication") & ~inter.adjusted.astype(bool)].iloc[0]
    assert row["participants"] == r["nobs"]
    assert row["estimate"] == pytest.approx(r["terms"]["t_within"]["coef"], rel=LMM_NLME_RTOL)
    assert row["se"] == pytest.approx(r["terms"]["t_within"]["se"], rel=LMM_NLME_RTOL)
    assert row["across_estimate"] == pytest.approx(
        r["terms"]["t_across"]["coef"], rel=LMM_NLME_RTOL
    )
    assert row["studies"] == r["studies"] and row["across_studies"] == r["studies"]


def test_three_level_string_modifier_matches_r():
    """One row per non-reference level (reference: first in sorted order), within-trial and
    across-trial terms per level; one trial lacks a level entirely."""
    from ipdma.analysis import ModifierSpec

    plan = AnalysisPlan(
        outcomes=("pain",),
        windows=("short",),
        comparisons=("any",),
        modifiers=("region",),
        modifier={"region": ModifierSpec(type="categorical", label="Region")},
        two_stage=False,
    )
    frame = pd.read_csv(REF / "xcheck_grid.csv", dtype={"trial": str, "pid": str})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ipdma.errors.IpdmaWarning)
        results = ipdma.analysis.run(frame, plan, jobs=1)
    r = ref("grid")["categorical_pain_any_region"]
    inter = results.interactions
    rows = inter[~inter.adjusted.astype(bool)].set_index("level")
    assert sorted(rows.index) == sorted(level["level"] for level in r["levels"])
    for level in r["levels"]:
        row = rows.loc[level["level"]]
        assert row["reference"] == r["reference"]
        assert row["studies"] == level["studies"]
        _assert_linear(row, level["within"], "")
        _assert_linear(row, level["across"], "across_")


VARIANTS = {
    "variant_interaction_random": {"interaction": "random"},
    "variant_prognostic_stratified": {"prognostic": "stratified"},
}


def _run_options(options: dict, outcomes=("pain",), modifiers=("bmi",)):
    from ipdma.analysis import ModelOptions

    plan = AnalysisPlan(
        outcomes=outcomes,
        windows=("short",),
        comparisons=("any",),
        modifiers=modifiers,
        two_stage=False,
        model=ModelOptions(**options),
    )
    frame = pd.read_csv(REF / "xcheck_grid.csv", dtype={"trial": str, "pid": str})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ipdma.errors.IpdmaWarning)
        return ipdma.analysis.run(frame, plan, jobs=1)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_model_option_variants_match_r(variant):
    """interaction='random' (own random slope) and prognostic='stratified' (the modifier's
    main effect per trial), pain / any / bmi, unadjusted."""
    r = ref("grid")[variant]
    results = _run_options(VARIANTS[variant])
    inter = results.interactions
    row = inter[(inter.modifier == "bmi") & ~inter.adjusted.astype(bool)].iloc[0]
    assert row["participants"] == r["nobs"]
    _assert_linear(row, r["within"], "")
    _assert_linear(row, r["across"], "across_")


def test_recovery_with_25_quadrature_points_matches_glmer():
    r = ref("grid")["recovery_any_agq25"]  # glmer: nAGQ > 1 needs a single random effect
    options = {"nagq": 25, "random_binomial": ("treatment",)}
    results = _run_options(options, outcomes=("recovery",), modifiers=("medication",))
    row = results.overall.iloc[0]
    assert row["participants"] == r["nobs"]
    assert np.log(row["estimate"]) == pytest.approx(r["coef"], rel=GLMM_FIXEF_RTOL)
    z = stats.norm.ppf(0.975)
    se = (np.log(row["ci_high"]) - np.log(row["ci_low"])) / (2 * z)
    assert se == pytest.approx(r["se"], rel=GLMM_SE_RTOL)


def test_two_stage_columns_match_metafor():
    """two_stage_* beside the one-stage rows: per-trial ANCOVA + metafor::rma REML
    (tests/reference/xcheck_twostage.R), pain / any, overall and medication interaction."""
    plan = AnalysisPlan(
        outcomes=("pain",), windows=("short",), comparisons=("any",), modifiers=("medication",)
    )
    frame = pd.read_csv(REF / "xcheck_grid.csv", dtype={"trial": str, "pid": str})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ipdma.errors.IpdmaWarning)
        results = ipdma.analysis.run(frame, plan, jobs=1)
    names = ["two_stage_estimate", "two_stage_ci_low", "two_stage_ci_high", "two_stage_p"]
    inter = results.interactions
    rows = {
        "overall_pain_any": results.overall.iloc[0],
        "pain_any_medication": inter[~inter.adjusted.astype(bool)].iloc[0],
    }
    for key, row in rows.items():
        r = ref("twostage")[key]
        expected = [r["estimate"], r["ci_low"], r["ci_high"], r["p"]]
        np.testing.assert_allclose(
            row[names].to_numpy(float), expected, rtol=META_ITERATIVE_RTOL, err_msg=key
        )


def test_subgroups_of_a_trial_level_modifier_match_r():
    frame = pd.read_csv(REF / "xcheck_grid.csv", dtype={"trial": str, "pid": str})
    first = frame["medication"].fillna(0).groupby(frame["trial"]).transform("first")
    frame = frame.assign(medication=first)
    plan = AnalysisPlan(
        outcomes=("pain",),
        windows=("short",),
        comparisons=("any",),
        modifiers=("medication",),
        two_stage=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ipdma.errors.IpdmaWarning)
        results = ipdma.analysis.run(frame, plan, jobs=1)
    rows = results.subgroups.set_index("level")
    for level, r in ref("grid")["subgroup_trial_level_medication"].items():
        _assert_linear(rows.loc[level], r, "")


# The default logistic structure (issue 19): random treatment AND baseline effects; R
# reference from tests/reference/xcheck_grid2d.R (glmer Laplace and glmmTMB, 2 random effects).
PLAN_2D = AnalysisPlan(
    outcomes=("recovery",),
    windows=("short",),
    comparisons=("any",),
    modifiers=("medication", "bmi"),
    two_stage=False,
    subgroups=False,
    model=ModelOptions(nagq=1),
)
CELLS_2D = {k: v for k, v in CELLS.items() if v[0] == "recovery"}


@pytest.fixture(scope="module")
def results_2d():
    assert PLAN_2D.model.random_binomial == ("treatment", "baseline")  # the default
    frame = pd.read_csv(REF / "xcheck_grid.csv", dtype={"trial": str, "pid": str})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ipdma.errors.IpdmaWarning)
        return ipdma.analysis.run(frame, PLAN_2D, jobs=1)


def _assert_tmb(got: pd.Series, r: dict, prefix: str) -> None:
    """OR scale against glmmTMB only (exact Hessian)."""
    est, low, high, p = got[[f"{prefix}{k}" for k in ("estimate", "ci_low", "ci_high", "p")]]
    z = stats.norm.ppf(0.975)
    coef, se = np.log(est), (np.log(high) - np.log(low)) / (2 * z)
    assert coef == pytest.approx(r["tmb_coef"], rel=GLMM_TMB_FIXEF_RTOL, abs=GLMM_TMB_FIXEF_RTOL)
    assert se == pytest.approx(r["tmb_se"], rel=GLMM_TMB_SE_RTOL)
    assert p == pytest.approx(2 * stats.norm.sf(abs(coef / se)), rel=1e-9)


@pytest.mark.parametrize("cell", list(CELLS_2D))
def test_default_recovery_cell_matches_r_with_two_random_effects(results_2d, cell):
    """Against glmer and glmmTMB where the two agree; where glmer's bobyqa stopped short
    (the two R fits differ by more than GLMM_FIXEF_RTOL), ipdma's log-likelihood must be
    above glmer's and its estimates and SEs must match glmmTMB's."""
    outcome, comparison, modifier, adjusted = CELLS_2D[cell]
    r = ref("grid2d")[cell]
    assert "(0 + bc | trial)" in r["formula"]
    terms = ("treat",) if modifier is None else ("t_within", "t_across")
    agree = all(
        abs(r["terms"][t]["coef"] - r["terms"][t]["tmb_coef"])
        <= GLMM_FIXEF_RTOL * max(1.0, abs(r["terms"][t]["tmb_coef"]))
        for t in terms
    )
    check = _assert_logistic if agree else _assert_tmb
    if not agree:
        frame = pd.read_csv(REF / "xcheck_grid.csv", dtype={"trial": str, "pid": str})
        spec = ModelSpec("overall" if modifier is None else "interaction", outcome, "short",
                         comparison, modifier, adjusted)  # fmt: skip
        prepared = prepare(spec, frame, PLAN_2D)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ipdma.errors.IpdmaWarning)
            fit = ipdma.mixed(prepared.formula, prepared.data, family="binomial", nagq=1)
        assert fit.loglik > r["loglik"] + GLMM_LOGLIK_ABOVE_ATOL  # glmer stopped short
    if modifier is None:
        table = results_2d.overall
        row = table[(table.outcome == outcome) & (table.comparison == comparison)].iloc[0]
        check(row, r["terms"]["treat"], "")
    else:
        table = results_2d.interactions
        row = table[(table.modifier == modifier) & (table.adjusted == adjusted)].iloc[0]
        check(row, r["terms"]["t_within"], "")
        check(row, r["terms"]["t_across"], "across_")
    assert row["studies"] == r["studies"] and row["participants"] == r["nobs"]
