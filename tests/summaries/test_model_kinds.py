"""Every linear model kind of the plan, fitted from three sites' summaries, equals the pooled
fit: interactions with continuous, binary, text-categorical and cut-point-categorical
modifiers, subgroup models (one block per trial and category), and a stratified prognostic
effect (one trial-local column per varying trial)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ipdma import summaries
from ipdma.analysis import AnalysisPlan, ModelOptions, ModifierSpec
from ipdma.analysis._spec import build_grid
from tests.tolerances import FEDERATED_RTOL, FEDERATED_VARCOMP_ATOL

from ._sites import consortium, pooled_fit, relative, split

pytestmark = pytest.mark.filterwarnings("ignore::ipdma.errors.IpdmaWarning")

MODIFIERS = {
    "female": ModifierSpec(type="binary", levels=("male", "female")),
    "smoker": ModifierSpec(type="binary", reference=1),
    "bmi_class": ModifierSpec(type="categorical", reference="normal"),
    "bmi": ModifierSpec(type="categorical", cutpoints=(25.0, 30.0)),
    "age": ModifierSpec(cutpoints=(40.0, 50.0)),
}

PLANS = {
    # subgroup models of every categorisation, adjusted for age and sex
    "subgroups": AnalysisPlan(
        outcomes=("pain",),
        windows=("short",),
        comparisons=("any",),
        modifiers=tuple(MODIFIERS),
        modifier=MODIFIERS,
        subgroups=True,
        subgroup_adjustment="adjusted",
        adjustments=("unadjusted",),
    ),
    # categorical interactions with a stratified prognostic effect (one column per trial)
    "stratified": AnalysisPlan(
        outcomes=("function",),
        windows=("short",),
        comparisons=("any", "usual"),
        modifiers=("bmi_class", "bmi", "age", "female"),
        modifier={k: v for k, v in MODIFIERS.items() if k in ("bmi_class", "bmi", "female")},
        subgroups=False,
        model=ModelOptions(prognostic="stratified"),
    ),
}


def with_text_modifier(frame: pd.DataFrame) -> pd.DataFrame:
    """A text-valued categorical modifier (BMI classes) beside the demo's columns."""
    bmi = frame["bmi"]
    text = np.where(bmi < 25, "normal", np.where(bmi < 30, "overweight", "obese"))
    return frame.assign(bmi_class=pd.Series(text, index=frame.index).where(bmi.notna()))


@pytest.fixture(scope="module")
def frame():
    return with_text_modifier(consortium())


@pytest.fixture(scope="module", params=list(PLANS))
def fitted(request, frame):
    plan = PLANS[request.param]
    rules = summaries.DisclosureRules(min_cell=1)
    sites = [
        summaries.summarize(part, plan, site=f"site {k}", rules=rules)
        for k, part in enumerate(split(frame))
    ]
    return plan, sites, summaries.fit_summaries(sites, plan, rules=rules)


def _pooled_frame(frame, sites, model_id):
    """The pooled rows of the trials the sites sent (a trial withheld for a model stays out
    of both fits)."""
    out = {w.trial for s in sites for w in s.withheld if w.model_id == model_id}
    return frame[~frame["trial"].isin(out)]


def test_every_model_kind_equals_the_pooled_fit(fitted, frame):
    plan, sites, results = fitted
    specs = [s for s in build_grid(plan, windows=("short",)) if s.family == "gaussian"]
    kinds = set()
    for spec in specs:
        prepared, pooled = pooled_fit(_pooled_frame(frame, sites, spec.id), spec, plan)
        assert spec.id in results.fits, (spec.id, results.models)
        got = results.fits[spec.id]
        assert list(got.fixef.index) == list(pooled.fixef.index), spec.id
        assert relative(got.fixef, pooled.fixef, 1e-8) < FEDERATED_RTOL, spec.id
        assert relative(got.se, pooled.se) < FEDERATED_RTOL, spec.id
        assert relative(got.loglik, pooled.loglik) < FEDERATED_RTOL, spec.id
        scale = FEDERATED_VARCOMP_ATOL * float(np.max(pooled.varcomp["variance"]))
        assert relative(got.varcomp["variance"], pooled.varcomp["variance"], scale) < (
            FEDERATED_RTOL
        ), spec.id
        assert (got.nobs, got.ngroups) == (pooled.nobs, pooled.ngroups), spec.id
        terms = results.terms[results.terms["model_id"] == spec.id]
        assert list(terms["term"]) == [t.column for t in prepared.terms], spec.id
        for term, (_, row) in zip(prepared.terms, terms.iterrows(), strict=True):
            assert (row["level"], row["studies"], row["participants"]) == (
                term.level, term.studies, term.participants,
            ), (spec.id, term.column)  # fmt: skip
            assert np.isfinite(row["estimate"]) == term.estimable
        kinds.add((spec.kind, plan.modifier_spec(spec.modifier).type if spec.modifier else ""))
        if plan.model.prognostic == "stratified" and spec.kind == "interaction":
            assert any("_t" in name for name in got.fixef.index), spec.id
    expected = {"subgroups": {("subgroup", "binary"), ("subgroup", "categorical"),
                              ("subgroup", "continuous")},
                "stratified": {("interaction", "categorical"), ("interaction", "continuous"),
                               ("interaction", "binary")}}  # fmt: skip
    assert expected[next(k for k, p in PLANS.items() if p is plan)] <= kinds


def test_subgroup_blocks_are_per_category_and_disclosure_checked(frame):
    plan = PLANS["subgroups"]
    part = split(frame)[0]
    site = summaries.summarize(part, plan, rules=summaries.DisclosureRules(min_cell=1))
    model = next(m for m in site.models if m.model_id.startswith("subgroup/pain/short/any/bmi_"))
    assert set(model.cells) == {"normal", "overweight", "obese"}
    assert len(model.cells) == len(model.trials) > len(set(model.trials))
    assert "bmi_class" not in "".join(model.columns)  # the cells, not the values, are sent
    # with the default minimum, small category cells hold their trial back, with the reason
    strict = summaries.summarize(part, plan)
    reasons = [r for w in strict.withheld if w.model_id == model.model_id for r in w.reasons]
    assert reasons and all(r.startswith("category ") for r in reasons)
    kept = next(m for m in strict.models if m.model_id == model.model_id)
    assert len(set(kept.trials)) < len(set(model.trials))


def test_median_subgroups_are_reported_not_summarised(frame, tmp_path):
    plan = AnalysisPlan(outcomes=("pain",), windows=("short",), comparisons=("any",),
                        modifiers=("fear_avoidance",), subgroups=True,
                        adjustments=("unadjusted",))  # fmt: skip
    rules = summaries.DisclosureRules(min_cell=1)
    sites = [summaries.summarize(p, plan, rules=rules, site=f"s{k}") for k, p in
             enumerate(split(frame))]  # fmt: skip
    subgroup = next(s.id for s in build_grid(plan) if s.kind == "subgroup")
    reason = {x.model_id: x.reason for x in sites[0].not_summarised}
    assert "pooled median" in reason[subgroup]
    path = summaries.write_summaries(sites[0], tmp_path / "s0.json")
    manifest = (tmp_path / "s0.json.manifest.txt").read_text()
    assert "NOT SUMMARISED (1 model(s)" in manifest and subgroup in manifest
    assert summaries.read_summaries(path).not_summarised == sites[0].not_summarised
    models = summaries.fit_summaries(sites, plan, rules=rules).models.set_index("id")
    row = models.loc[subgroup]
    assert row["status"] == "not summarised" and "cutpoints" in row["error"]
    assert models.loc["interaction/pain/short/any/fear_avoidance/unadjusted", "status"] == "fitted"


def _fit_both(frame, plan, sites=3):
    rules = summaries.DisclosureRules(min_cell=1)
    files = [summaries.summarize(p, plan, site=f"s{k}", rules=rules) for k, p in
             enumerate(split(frame, sites))]  # fmt: skip
    results = summaries.fit_summaries(files, plan, rules=rules)
    for spec in build_grid(plan, windows=("short",)):
        prepared, pooled = pooled_fit(_pooled_frame(frame, files, spec.id), spec, plan)
        got = results.fits[spec.id]
        assert list(got.fixef.index) == list(pooled.fixef.index), spec.id
        assert relative(got.fixef, pooled.fixef, 1e-8) < FEDERATED_RTOL, spec.id
        assert relative(got.se, pooled.se) < FEDERATED_RTOL, spec.id
        assert relative(got.loglik, pooled.loglik) < FEDERATED_RTOL, spec.id
        assert got.nobs == pooled.nobs, spec.id
        terms = results.terms[results.terms["model_id"] == spec.id]
        assert list(terms["term"]) == [t.column for t in prepared.terms], spec.id
        assert list(terms["participants"]) == [t.participants for t in prepared.terms]
    return files, results


def test_a_level_some_sites_lack_and_a_category_without_contrast(frame):
    """Levels are pooled across sites (a site without 'obese' sends no such column), and a
    subgroup category in which no trial has both arms drops its rows after the centring,
    as the pooled grid does."""
    later = frame["trial"].isin(sorted(frame["trial"].unique())[1::3] +
                                sorted(frame["trial"].unique())[2::3])  # fmt: skip
    data = frame.assign(
        bmi_class=frame["bmi_class"].where(~later | (frame["bmi_class"] != "obese"), "overweight")
    )
    rare = (data["treat"] == 1) & (data["age"] > 50)  # only exercise participants: no contrast
    data = data.assign(group=np.where(rare, "older exercise", "others"))
    plan = AnalysisPlan(
        outcomes=("pain",), windows=("short",), comparisons=("any",),
        modifiers=("bmi_class", "group"),
        modifier={"bmi_class": MODIFIERS["bmi_class"],
                  "group": ModifierSpec(type="categorical", reference="others")},
        subgroups=True, subgroup_adjustment="adjusted", adjustments=("adjusted",),
    )  # fmt: skip
    files, results = _fit_both(data, plan)
    bmi = "interaction/pain/short/any/bmi_class/adjusted"
    assert next(m for m in files[1].models if m.model_id == bmi).columns != (
        next(m for m in files[0].models if m.model_id == bmi).columns
    )  # the sites sent different levels
    terms = results.terms.set_index(["model_id", "term"])
    dropped = terms.loc[("subgroup/pain/short/any/group/adjusted", "treat_in_1")]
    assert dropped["level"] == "older exercise" and not np.isfinite(dropped["estimate"])
    group = "subgroup/pain/short/any/group/adjusted"
    sent = [m for f in files for m in f.models if m.model_id == group]
    rare_rows = sum(n for m in sent for n, c in zip(m.n, m.cells, strict=True)
                    if c == "older exercise")  # fmt: skip
    assert rare_rows > 0  # the sites sent the category; the coordinator dropped its rows
    assert results.fits[group].nobs == sum(m.n.sum() for m in sent) - rare_rows
