"""The same aggregation on Spark (pyspark local mode, via ibis): equal summaries and fits."""

from __future__ import annotations

import numpy as np
import pytest

from ipdma import summaries
from tests.tolerances import FEDERATED_RTOL

from ._sites import consortium, pooled_fit, relative, split
from .test_equality import PLANS

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::ipdma.errors.IpdmaWarning"),
]


def test_spark_summaries_equal_duckdb_and_the_pooled_fit(spark):
    import ibis

    plan = PLANS["paper"].model_copy(
        update={"outcomes": ("pain",), "modifiers": ("female",), "comparisons": ("any",),
                "adjustments": ("unadjusted",)}
    )  # fmt: skip
    frame = consortium()
    parts = split(frame)
    backend = ibis.pyspark.connect(spark)
    spark.createDataFrame(parts[0]).createOrReplaceTempView("site0")
    rules = summaries.DisclosureRules(1)
    on_spark = summaries.summarize(
        backend.table("site0"), plan, site="site 0", rules=rules, backend=backend
    )
    on_duckdb = summaries.summarize(parts[0], plan, site="site 0", rules=rules)
    assert [m.model_id for m in on_spark.models] == [m.model_id for m in on_duckdb.models]
    for a, b in zip(on_spark.models, on_duckdb.models, strict=True):
        assert a.trials == b.trials
        np.testing.assert_allclose(a.gram, b.gram, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(a.means, b.means, rtol=1e-13)
    others = [summaries.summarize(p, plan, site=f"site {k}", rules=rules) for k, p in
              enumerate(parts[1:], start=1)]  # fmt: skip
    results = summaries.fit_summaries([on_spark, *others], plan, rules=rules)
    assert results.fits
    for model_id, got in results.fits.items():
        spec = next(s for s in summaries_specs(plan) if s.id == model_id)
        _, pooled = pooled_fit(frame, spec, plan)
        assert relative(got.fixef, pooled.fixef, 1e-8) < FEDERATED_RTOL
        assert relative(got.se, pooled.se) < FEDERATED_RTOL


def summaries_specs(plan):
    from ipdma.analysis._spec import build_grid

    return build_grid(plan, windows=("short",))


def test_logistic_on_spark_with_a_grouped_map_equals_the_pooled_fit(spark):
    from tests.tolerances import FEDERATED_LOGISTIC_RTOL

    from ._sites import pooled_fit_binomial

    plan = PLANS["paper"].model_copy(
        update={
            "outcomes": ("recovery",),
            "modifiers": (),
            "comparisons": ("any",),
            # Laplace: fewer rounds (each one Spark job); AGHQ(7) is tested in-process
            "model": PLANS["paper"].model.model_copy(update={"nagq": 1}),
        }
    )
    frame = consortium()
    parts = split(frame)
    rules = summaries.DisclosureRules(1)
    files = [summaries.summarize(p, plan, site=f"site{k}", rules=rules) for k, p in
             enumerate(parts)]  # fmt: skip
    engines = {f"site{k}": summaries.BinomialSite(p, plan) for k, p in enumerate(parts)}
    engines["site0"] = summaries.SparkBinomialSite(spark.createDataFrame(parts[0]), plan)
    transport = summaries.InProcessTransport(engines)
    fits = summaries.fit_federated_binomial(files, transport, plan, rules=rules)
    (spec,) = summaries_specs(plan)
    got, pooled = fits[spec.id].result, pooled_fit_binomial(frame, spec, plan)
    assert relative(got.fixef, pooled.fixef, 1e-8) < FEDERATED_LOGISTIC_RTOL
    assert relative(got.se, pooled.se) < FEDERATED_LOGISTIC_RTOL
    assert relative(got.loglik, pooled.loglik) < FEDERATED_LOGISTIC_RTOL


def test_spark_category_blocks_equal_duckdb(spark):
    """Subgroup cells (text, binary and cut-point categories) and categorical indicators are
    formed by the same ibis expression on Spark."""
    import ibis

    from ipdma.analysis import AnalysisPlan

    from .test_model_kinds import MODIFIERS, with_text_modifier

    plan = AnalysisPlan(
        outcomes=("pain",), windows=("short",), comparisons=("any",),
        modifiers=("bmi_class", "female", "bmi"),
        modifier={k: MODIFIERS[k] for k in ("bmi_class", "female", "bmi")},
        subgroups=True, subgroup_adjustment="unadjusted", adjustments=("unadjusted",),
    )  # fmt: skip
    part = with_text_modifier(split(consortium())[0])
    backend = ibis.pyspark.connect(spark)
    spark.createDataFrame(part).createOrReplaceTempView("site0_categories")
    rules = summaries.DisclosureRules(1)
    on_spark = summaries.summarize(
        backend.table("site0_categories"), plan, rules=rules, backend=backend
    )
    on_duckdb = summaries.summarize(part, plan, rules=rules)
    assert [m.model_id for m in on_spark.models] == [m.model_id for m in on_duckdb.models]
    assert any(m.cells for m in on_spark.models) and any(m.rule for m in on_spark.models)
    for a, b in zip(on_spark.models, on_duckdb.models, strict=True):
        assert (a.trials, a.cells, a.columns, a.rule) == (b.trials, b.cells, b.columns, b.rule)
        np.testing.assert_allclose(a.gram, b.gram, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(a.means, b.means, rtol=1e-13, atol=1e-15)
