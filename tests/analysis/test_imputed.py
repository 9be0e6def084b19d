"""The analysis grid on multiply imputed data: pooled records, the side-by-side table, the
results store round trip, and the plan's [analysis.imputation] settings."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import ipdma.analysis as analysis
from ipdma.analysis._imputed import pool_records
from ipdma.errors import SpecError
from ipdma.impute import rubin_pool

from ._data import frame

PLAN = {"modifiers": ["medication", "bmi"], "windows": ["short"], "comparisons": ["any"],
        "imputation": {"m": 3, "iterations": 4, "min_trials": 3}}  # fmt: skip


def _incomplete(seed: int = 3) -> pd.DataFrame:
    data = frame(seed, trials=12).copy()
    for trial in data["trial"].unique()[:7]:
        data.loc[data["trial"] == trial, "medication"] = np.nan
    rng = np.random.default_rng(seed)
    data.loc[rng.random(len(data)) < 0.1, "bmi"] = np.nan
    return data


def _run(data: pd.DataFrame, plan: dict, **kwargs) -> analysis.AnalysisResults:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # singular fits of the small simulated trials
        return analysis.run(data, plan, jobs=1, **kwargs)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return tmp_path_factory.mktemp("imputed") / "results.duckdb"


@pytest.fixture(scope="module")
def results(store) -> analysis.AnalysisResults:
    return _run(_incomplete(), PLAN, cache=store)


def test_imputed_models_sit_beside_the_complete_case_grid(results) -> None:
    imputed = [r for r in results.records if r.spec.imputed]
    observed = [r for r in results.records if not r.spec.imputed]
    kinds = {r.spec.kind for r in imputed}
    assert kinds == {"overall", "interaction"}
    assert len(imputed) == sum(r.spec.kind in kinds for r in observed)
    assert all(r.model_id.endswith("/imputed") for r in imputed)
    assert all(r.df_method == "barnard-rubin" and r.imputation.m == 3 for r in imputed)
    # the main tables stay complete-case (the paper's analysis)
    assert not results.interactions["model_id"].str.endswith("/imputed").any()
    assert len(results.imputation) > 0


def test_imputation_table_compares_cc_and_mi(results) -> None:
    rows = results.imputation
    medication = rows[(rows["modifier"] == "medication") & (rows["kind"] == "interaction")]
    assert (medication["trials_measured"] == 5).all()
    assert (medication["trials_systematic"] == 7).all()
    # imputation brings in the trials that never measured medication
    assert (medication["mi_studies"] > medication["cc_studies"]).all()
    assert medication["fmi"].between(0, 1).all()
    overall = rows[rows["kind"] == "overall"]
    # no imputed variable in the unadjusted overall model: same estimate
    np.testing.assert_allclose(overall["mi_estimate"], overall["cc_estimate"], rtol=1e-12)


def test_pooled_record_is_rubins_rules_over_the_member_fits(results) -> None:
    data = _incomplete()
    pooled = next(r for r in results.records if r.spec.imputed and r.spec.kind == "interaction"
                  and r.spec.modifier == "medication")  # fmt: skip
    from ipdma.analysis._design import prepare
    from ipdma.analysis._fit import fit_prepared
    from ipdma.analysis._plan import plan_from_dict
    from ipdma.analysis._window import WindowArrays
    from ipdma.impute import impute

    plan = plan_from_dict(PLAN)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        imputation = impute(data, ["medication", "bmi", "age", "female"], m=3,
                            seed=plan.imputation.seed, iterations=4, min_trials=3)  # fmt: skip
        members = [fit_prepared(prepare(pooled.spec, WindowArrays(imputation.completed(i)),
                                        plan), plan).record for i in range(3)]  # fmt: skip
    again = pool_records(members)
    pd.testing.assert_frame_equal(again.tidy(), pooled.tidy())
    tidy = [m.tidy() for m in members]
    row = 1  # the within-trial interaction
    ref = rubin_pool(np.array([t["estimate"][row] for t in tidy]),
                     np.array([t["se"][row] ** 2 for t in tidy]),
                     dfcom=np.mean([t["df"][row] for t in tidy])).table  # fmt: skip
    assert pooled.tidy()["estimate"][row] == pytest.approx(ref["estimate"][0], rel=1e-12)
    assert pooled.tidy()["df"][row] == pytest.approx(ref["df"][0], rel=1e-12)


def test_results_store_round_trip_keeps_imputed_records_and_diagnostics(results, store) -> None:
    first = results
    loaded = analysis.load_results(store)
    assert [r.model_id for r in loaded.records] == [r.model_id for r in first.records]
    pd.testing.assert_frame_equal(loaded.imputation, first.imputation)
    assert [d.window for d in loaded.imputation_diagnostics] == ["short"]
    chains = loaded.imputation_diagnostics[0].chains
    assert set(chains["variable"]) == {"medication", "bmi"}
    again = _run(_incomplete(), PLAN, cache=store)  # everything from the fit cache
    assert again.fitted == 0
    pd.testing.assert_frame_equal(again.imputation, first.imputation)


def test_no_imputation_by_default_and_m_1_is_refused(results, store) -> None:
    # the complete-case models come from the fit cache of the imputed run
    plain = _run(_incomplete(), {k: v for k, v in PLAN.items() if k != "imputation"},
                 cache=store)  # fmt: skip
    assert not any(r.spec.imputed for r in plain.records)
    assert plain.imputation.empty
    with pytest.raises(SpecError, match=r"imputation\.m"):
        analysis.run(_incomplete(), {**PLAN, "imputation": {"m": 1}}, jobs=1)


def test_a_failed_imputation_writes_nothing(tmp_path, monkeypatch) -> None:
    import ipdma.analysis._imputed as imputed
    from ipdma.errors import DataFileError, ModelError

    def failing(*args, **kwargs):
        raise ModelError("the imputation model of bmi could not be fitted", variable="bmi")

    monkeypatch.setattr(imputed, "impute", failing)
    store = tmp_path / "results.duckdb"
    with pytest.raises(ModelError, match="bmi could not be fitted"):
        _run(_incomplete(), PLAN, cache=store, output=tmp_path / "out")
    # the complete-case fits done before the failure are not stored either: no result set,
    # no tables (the run is saved in one transaction at its end)
    with pytest.raises(DataFileError):
        analysis.load_results(store)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.csv"))


def test_worker_processes_give_the_records_of_one_process(results) -> None:
    """The m fits of each model run in worker processes while the next models are prepared
    (``_imputed_fits``): the same pooled records as fitting everything in this process."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parallel = analysis.run(_incomplete(), PLAN, jobs=2)
    serial = {r.model_id: r for r in results.records if r.spec.imputed}
    pooled = {r.model_id: r for r in parallel.records if r.spec.imputed}
    assert pooled.keys() == serial.keys()
    for model_id, record in pooled.items():
        pd.testing.assert_frame_equal(record.tidy(), serial[model_id].tidy())
        assert record.imputation == serial[model_id].imputation
    pd.testing.assert_frame_equal(parallel.imputation, results.imputation)


class _NoWorkers:
    """A pool whose processes cannot start (as in a script without a main guard)."""

    def __init__(self, jobs: int) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def submit(self, *args, **kwargs):
        from concurrent.futures.process import BrokenProcessPool

        raise BrokenProcessPool("no workers")


def test_workers_that_cannot_start_fall_back_to_this_process(results, monkeypatch) -> None:
    """Both the grid and the imputed grid warn and fit in this process, same records."""
    import ipdma.analysis._imputed_fits as imputed_fits
    import ipdma.analysis._runner as runner

    monkeypatch.setattr(runner, "worker_pool", _NoWorkers)
    monkeypatch.setattr(imputed_fits, "worker_pool", _NoWorkers)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fallback = analysis.run(_incomplete(), PLAN, jobs=2)
    messages = [str(w.message) for w in caught if "could not start" in str(w.message)]
    assert len(messages) == 2  # the complete-case grid and the imputed grid
    serial = {r.model_id: r for r in results.records}
    assert {r.model_id for r in fallback.records} == serial.keys()
    for record in fallback.records:
        pd.testing.assert_frame_equal(record.tidy(), serial[record.model_id].tidy())
