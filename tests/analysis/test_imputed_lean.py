"""The imputed grid's lean path: each fit on a completed dataset travels as an ImputedFit
(NumPy arrays) instead of a full ModelResult, and the results store caches the pooled
record. The records must be exactly those of the full path (a full record per fit, pooled
by ``pool_records``), and a second run must fit nothing."""

from __future__ import annotations

import json
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import ipdma.analysis as analysis
from ipdma.analysis._design import prepare
from ipdma.analysis._fit import _fit_prepared, fit_imputed, fit_prepared
from ipdma.analysis._imputed import imputation_variables
from ipdma.analysis._imputed_fits import fit_batch
from ipdma.analysis._imputed_records import ImputedFit, pool_fits, pool_records
from ipdma.analysis._plan import plan_from_dict
from ipdma.analysis._records import ModelResult
from ipdma.analysis._spec import build_grid
from ipdma.analysis._store import ResultsStore
from ipdma.analysis._window import WindowArrays
from ipdma.errors import IpdmaError
from ipdma.impute import impute
from ipdma.models import StartValues
from tests.tolerances import IMPUTED_WARM_RTOL

from .test_imputed import PLAN, _incomplete

_ARRAYS = ("estimate", "se", "df", "studies", "participants", "variance", "corr")


@pytest.fixture(scope="module")
def completed() -> tuple[object, list[WindowArrays], list[WindowArrays]]:
    """The plan, and the completed datasets as shared views and as plain windows."""
    plan = plan_from_dict(PLAN)
    data = _incomplete()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        imputation = impute(data, imputation_variables(plan, data), m=3,
                            seed=plan.imputation.seed, iterations=4, min_trials=3)  # fmt: skip
    observed = WindowArrays(data)
    views = [observed.completed(imputation.completed(i), imputation.variables) for i in range(3)]
    plain = [WindowArrays(imputation.completed(i)) for i in range(3)]
    return plan, views, plain


def _specs(plan) -> list:
    return [replace(s, imputed=True) for s in build_grid(plan, windows=("short",))
            if s.kind in plan.imputation.kinds]  # fmt: skip


def _same_fit(lean: ImputedFit, full: ImputedFit) -> None:
    for name in _ARRAYS:
        a, b = getattr(lean, name), getattr(full, name)
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b, err_msg=name)  # NaN equals NaN; exact
    assert (lean.status, lean.error, lean.nobs) == (full.status, full.error, full.nobs)
    assert lean.warnings == full.warnings
    assert lean.separated == full.separated


def _prepared_models(plan, views, fit_plan):
    """Each model of the small grid that can be prepared, on every completed dataset."""
    for spec in _specs(plan):
        try:
            yield spec, [prepare(spec, window, fit_plan) for window in views]
        except IpdmaError:
            continue


def test_lean_fits_and_pooled_records_equal_the_full_path(completed) -> None:
    """Every model of a small grid (linear and logistic) on every completed dataset: the
    lean record has the full record's numbers exactly, and pooling the lean records gives
    the record that pooling the full records gives (every field, JSON-exact)."""
    plan, views, _ = completed
    fit_plan = plan.model_copy(update={"two_stage": False})
    families = set()
    pooled = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for spec, models in _prepared_models(plan, views, fit_plan):
            full = [fit_prepared(model, fit_plan).record for model in models]
            lean = [fit_imputed(model, fit_plan, full=False)[0] for model in models]
            first = fit_imputed(models[0], fit_plan, full=True)[0]
            assert isinstance(first.record, ModelResult)
            for outcome, record in zip(lean, full, strict=True):
                assert outcome.record is None
                _same_fit(outcome.fit, ImputedFit.of(record))
            _same_fit(first.fit, ImputedFit.of(full[0]))
            by_lean = pool_fits(first.record, [outcome.fit for outcome in lean])
            assert json.loads(by_lean.to_json()) == json.loads(pool_records(full).to_json())
            families.add(spec.family)
            pooled += 1
    assert families == {"gaussian", "binomial"} and pooled >= 10


def test_completed_views_prepare_the_models_of_plain_windows(completed) -> None:
    """A completed view (trials and unchanged columns shared with the observed window)
    gives every model exactly the data, formula and terms of a window of its own."""
    plan, views, plain = completed
    for spec in _specs(plan):
        for view, window in zip(views, plain, strict=True):
            try:
                expected = prepare(spec, window, plan)
            except IpdmaError as exc:
                with pytest.raises(type(exc)):
                    prepare(spec, view, plan)
                continue
            got = prepare(spec, view, plan)
            pd.testing.assert_frame_equal(got.data, expected.data, check_exact=True)
            assert (got.formula, got.terms, got.notes) == (expected.formula, expected.terms,
                                                           expected.notes)  # fmt: skip
            assert got.data_digest == replace(expected, digest="").data_digest


def test_a_view_refuses_a_frame_with_other_rows(completed) -> None:
    data = _incomplete()
    observed = WindowArrays(data)
    with pytest.raises(ValueError, match="rows of the window"):
        observed.completed(data.iloc[::-1], ["bmi"])


def test_the_store_caches_pooled_records(tmp_path) -> None:
    """The cached unit is the pooled record (key: its m fits' keys): every pooled record
    is in the store as it was made; changing one observed value of bmi refits the imputed
    models whose completed data changed and takes the others from the cache."""
    store = tmp_path / "results.duckdb"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = analysis.run(_incomplete(), PLAN, jobs=1, cache=store)
        pooled = {k: r for r, k in zip(first.records, first.keys, strict=True) if r.spec.imputed}
        cached = ResultsStore(store).cached(pooled)
        # every pooled record that has no error is cached (as the complete-case fits)
        assert set(cached) == {k for k, r in pooled.items() if r.error is None}
        assert all(cached[k].to_json() == pooled[k].to_json() for k in cached)
        # (a second run on the same data fits nothing: test_imputed's store round trip)
        changed = _incomplete()
        row = int(np.flatnonzero(changed["bmi"].notna().to_numpy())[0])
        changed.loc[changed.index[row], "bmi"] += 1.0
        third = analysis.run(changed, PLAN, jobs=1, cache=store)
    refitted = set(ResultsStore(store).fitted_in(third.run.run))
    imputed = {r.model_id for r in third.records if r.spec.imputed}
    assert refitted & imputed  # the imputed models were refitted (their data changed) ...
    unadjusted = {r.model_id for r in third.records if r.spec.imputed
                  and r.spec.kind == "overall" and not r.spec.adjusted}  # fmt: skip
    assert unadjusted and not refitted & unadjusted  # ... except those without bmi/medication


def test_linear_fits_after_the_first_are_warm_started_to_the_same_optimum(completed) -> None:
    """``fit_batch`` starts a linear model's fits 2..m from the first fit's estimates (the
    engine says so in its convergence text) and reaches the cold fits' optimum; logistic
    models are fitted cold."""
    plan, views, _ = completed
    fit_plan = plan.model_copy(update={"two_stage": False})
    checked = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for spec, models in _prepared_models(plan, views, fit_plan):
            first, start = fit_imputed(models[0], fit_plan, full=True)
            if spec.family == "binomial":
                assert start is None
                continue
            if first.fit.status != "fitted":
                continue
            assert isinstance(start, StartValues)
            engine_fit = _fit_prepared(models[1], fit_plan, start)[1]
            assert engine_fit is not None and engine_fit.diagnostics is not None
            assert "warm start" in engine_fit.diagnostics.checks
            batch = [(f"k{i}", model, i == 0) for i, model in enumerate(models)]
            warm = [outcome.fit for _, outcome in fit_batch(batch, fit_plan)]
            cold = [fit_imputed(model, fit_plan, full=False)[0].fit for model in models]
            for w, c in zip(warm, cold, strict=True):
                assert w.status == c.status
                np.testing.assert_allclose(
                    w.estimate, c.estimate, rtol=IMPUTED_WARM_RTOL, atol=1e-10
                )
                np.testing.assert_allclose(w.se, c.se, rtol=IMPUTED_WARM_RTOL, atol=1e-10)
                np.testing.assert_allclose(
                    w.variance, c.variance, rtol=IMPUTED_WARM_RTOL, atol=1e-10
                )
            checked.add(spec.kind)
    assert checked  # at least one linear model was compared
