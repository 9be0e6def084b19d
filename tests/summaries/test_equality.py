"""Linear one-stage models fitted from three sites' summaries equal the pooled-IPD fit."""

from __future__ import annotations

import json

import numpy as np
import pytest

import ipdma
from ipdma import summaries
from ipdma.analysis import AnalysisPlan, ModelOptions, ModifierSpec
from ipdma.analysis._spec import build_grid
from tests.tolerances import FEDERATED_RTOL, FEDERATED_VARCOMP_ATOL

from ._sites import consortium, pooled_fit, relative, split

pytestmark = pytest.mark.filterwarnings("ignore::ipdma.errors.IpdmaWarning")

PLANS = {
    "paper": AnalysisPlan(
        outcomes=("pain", "function"),
        windows=("short",),
        comparisons=("any", "usual"),
        modifiers=("age", "female", "smoker", "pain0"),
        subgroups=False,
    ),
    # every option the summaries mirror: centred treatment, correlated random effects, a
    # random prognostic effect and random interaction, ML, a binary modifier coded with 1 as
    # reference (flipped), and the across-trial term needing more trials than there are
    "options": AnalysisPlan(
        outcomes=("function",),
        windows=("short",),
        comparisons=("any",),
        modifiers=("smoker", "bmi"),
        modifier={"smoker": ModifierSpec(reference=1)},
        subgroups=False,
        model=ModelOptions(
            treatment_coding="centred",
            correlated=True,
            prognostic="random",
            interaction="random",
            reml=False,
            random=("treatment",),
        ),
    ),
}


@pytest.fixture(scope="module")
def frame():
    return consortium()


@pytest.fixture(scope="module", params=list(PLANS))
def fitted(request, frame):
    plan = PLANS[request.param]
    rules = summaries.DisclosureRules(min_cell=1)  # every trial, so that pooled = federated
    sites = [
        summaries.summarize(part, plan, site=f"site {k}", rules=rules)
        for k, part in enumerate(split(frame))
    ]
    return plan, sites, summaries.fit_summaries(sites, plan, rules=rules)


def test_three_sites_equal_the_pooled_fit(fitted, frame):
    plan, sites, results = fitted
    assert all(s.models for s in sites)  # every site contributes
    specs = [s for s in build_grid(plan, windows=("short",))]
    assert len(results.fits) == len(specs)  # every linear model was fitted
    for spec in specs:
        prepared, pooled = pooled_fit(frame, spec, plan)
        got = results.fits[spec.id]
        assert list(got.fixef.index) == list(pooled.fixef.index), spec.id
        assert relative(got.fixef, pooled.fixef, 1e-8) < FEDERATED_RTOL, spec.id
        assert relative(got.se, pooled.se) < FEDERATED_RTOL, spec.id
        assert relative(got.loglik, pooled.loglik) < FEDERATED_RTOL, spec.id
        scale = FEDERATED_VARCOMP_ATOL * float(np.max(pooled.varcomp["variance"]))
        assert relative(got.varcomp["variance"], pooled.varcomp["variance"], scale) < (
            FEDERATED_RTOL
        ), spec.id
        assert got.nobs == pooled.nobs and got.ngroups == pooled.ngroups
        # the reported terms carry the grid's studies/participants counts
        terms = results.terms[results.terms["model_id"] == spec.id].set_index("term")
        for term in prepared.terms:
            row = terms.loc[term.column]
            assert (row["studies"], row["participants"]) == (term.studies, term.participants)
            assert np.isfinite(row["estimate"]) == term.estimable


def test_reported_terms_equal_the_grid_tables(fitted, frame):
    """Estimates, CIs (Satterthwaite t) and p-values equal those of ``analysis.run``."""
    plan, _, results = fitted
    grid = ipdma.analysis.run(frame, plan, jobs=1)
    terms = results.terms.set_index(["model_id", "term"])
    for table, term in ((grid.overall, "treat"), (grid.interactions, "treat_x_modifier")):
        for _, row in table.dropna(subset=["estimate"]).iterrows():
            got = terms.loc[(row["model_id"], term)]
            for column in ("estimate", "se", "ci_low", "ci_high"):
                assert relative(got[column], row[column]) < 1e-8, (row["model_id"], column)
            assert abs(got["p"] - row["p"]) < 1e-8


def test_only_aggregates_leave_a_site(fitted, frame, tmp_path):
    _, sites, _ = fitted
    path = summaries.write_summaries(sites[0], tmp_path / "site0.json")
    content = json.loads(path.read_text())
    assert set(content) == {"format", "site", "plan", "plan_hash", "min_cell", "models",
                            "withheld", "not_summarised", "hash"}  # fmt: skip
    for model in content["models"]:
        assert set(model) == {"id", "columns", "rule", "trials"}
        r = len(model["columns"]) - 1
        for block in model["trials"]:  # per trial: its size, r means, r(r+1)/2 sums
            assert set(block) == {"trial", "n", "means", "gram"}
            assert len(block["means"]) == r and len(block["gram"]) == r * (r + 1) // 2
            assert block["n"] > r
    manifest = (tmp_path / "site0.json.manifest.txt").read_text()
    assert "WHAT LEAVES THIS SITE" in manifest and sites[0].plan_hash in manifest
    again = summaries.read_summaries(path)
    for a, b in zip(again.models, sites[0].models, strict=True):
        assert a.trials == b.trials
        np.testing.assert_array_equal(a.gram, b.gram)  # exact round trip
        np.testing.assert_array_equal(a.means, b.means)
