"""run(): tables on disk, the results cache, failures as rows, progress, parallel workers."""

import duckdb
import numpy as np
import pandas as pd
import pytest

import ipdma
from ipdma.analysis import AnalysisPlan, benjamini_hochberg

from ._data import frame

pytestmark = pytest.mark.filterwarnings("ignore::ipdma.errors.SingularFitWarning")

INTERACTION_COLUMNS = [
    "outcome", "window", "comparison", "modifier", "level", "adjusted", "studies",
    "participants", "estimate", "ci_low", "ci_high", "p", "p_fdr",
]  # fmt: skip
OVERALL_COLUMNS = [
    "outcome", "window", "comparison", "studies", "participants", "estimate", "ci_low",
    "ci_high", "p", "p_fdr",
]  # fmt: skip

PLAN = AnalysisPlan(
    outcomes=("pain", "function"),
    comparisons=("any", "usual"),
    modifiers=("medication", "bmi", "smoker"),  # smoker is not in the data: failing rows
)


@pytest.fixture(scope="module")
def data():
    short = frame(21, trials=8).assign(window="short")
    long = frame(22, trials=8).assign(window="long")
    return pd.concat([short, long], ignore_index=True)


@pytest.fixture(scope="module")
def first_run(data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("analysis")
    calls = []
    results = ipdma.analysis.run(
        data,
        PLAN,
        jobs=2,
        output=folder,
        cache=folder / "results.duckdb",
        progress=lambda *args: calls.append(args),
    )
    return folder, results, calls


def test_tables_are_written_with_the_contract_columns(first_run):
    folder, results, _ = first_run
    interactions = pd.read_csv(folder / "tables" / "interactions.csv")
    overall = pd.read_csv(folder / "tables" / "overall.csv")
    assert set(INTERACTION_COLUMNS) <= set(interactions.columns)
    assert set(OVERALL_COLUMNS) <= set(overall.columns)
    assert not {"modifier", "level", "adjusted"} & set(overall.columns)
    assert set(interactions.outcome) == {"pain", "function"}
    assert set(interactions.window) == {"short", "long"}  # only the windows in the data
    assert set(interactions.comparison) == {"any", "usual"}
    assert set(interactions.adjusted) == {True, False}
    assert set(interactions.level.dropna()) == {"Yes", "per unit"}
    for name in ("subgroups", "important", "models", "plan"):
        assert results.tables[name].exists()
    assert not list((folder / "tables").glob("*.tmp"))


def test_failures_are_rows_with_reasons_and_the_grid_goes_on(first_run):
    _, results, _ = first_run
    models = results.models
    failed = models[models.status == "failed"]
    assert len(failed) == 2 * 2 * 2 * 3  # smoker: windows x comparisons x outcomes x 3 models
    assert failed.error.str.contains("'smoker' is not in the analysis data").all()
    assert results.failed == len(failed)
    fitted = models[models.status == "fitted"]
    assert len(fitted) == len(models) - len(failed) and fitted.converged.all()
    smoker = results.interactions[results.interactions.modifier == "smoker"]
    assert smoker.estimate.isna().all() and smoker.error.notna().all()


def test_progress_is_reported_for_every_fitted_model(first_run):
    _, results, calls = first_run
    assert len(calls) == results.fitted
    assert [c[0] for c in calls] == list(range(1, results.fitted + 1))
    assert {c[3] for c in calls} == {"fitted"}


def test_second_run_fits_nothing_and_reproduces_the_tables(first_run, data):
    folder, results, _ = first_run
    again = ipdma.analysis.run(data, PLAN, jobs=2, output=folder, cache=folder / "results.duckdb")
    assert again.fitted == 0 and again.cached == results.fitted
    for name in ("overall", "interactions", "subgroups", "important", "models"):
        pd.testing.assert_frame_equal(again.table(name), results.table(name))
    with duckdb.connect(str(folder / "results.duckdb"), read_only=True) as con:
        stored = con.execute("SELECT count(*) FROM fits").fetchone()[0]
        current = con.execute("SELECT count(*) FROM results").fetchone()[0]
        runs = con.execute("SELECT fitted, cached FROM runs ORDER BY run").fetchall()
    assert stored == results.fitted and current == len(results.records)
    assert runs[-2:] == [(results.fitted, 0), (0, results.fitted)]
    loaded = ipdma.analysis.load_results(folder / "results.duckdb")
    assert [r.to_json() for r in loaded.records] == [r.to_json() for r in again.records]
    for name in ("overall", "interactions", "subgroups", "important", "models"):
        pd.testing.assert_frame_equal(loaded.table(name), again.table(name))


def test_changed_data_refit_only_the_affected_models(first_run, data):
    folder = first_run[0]
    changed = data.copy()
    rows = (changed.window == "long") & (changed.trial == "trial03")
    changed.loc[rows, "function"] += 1.0
    again = ipdma.analysis.run(
        changed, PLAN, jobs=1, output=folder, cache=folder / "results.duckdb"
    )
    assert again.run is not None
    refitted = ipdma.analysis.ResultsStore(folder / "results.duckdb").fitted_in(again.run.run)
    touched = again.models[again.models.id.isin(refitted)]
    assert len(touched) == again.fitted > 0
    assert (touched.window == "long").all() and (touched.outcome == "function").all()


def test_p_fdr_is_benjamini_hochberg_across_the_grid(first_run):
    _, results, _ = first_run
    table = results.interactions
    np.testing.assert_allclose(table.p_fdr, benjamini_hochberg(table.p), equal_nan=True)
    assert (table.p_fdr.dropna() >= table.p.dropna()).all()


def test_benjamini_hochberg_matches_r():
    # R: p.adjust(c(0.01, 0.04, 0.03, NA, 0.005, 0.5), "BH")
    p = [0.01, 0.04, 0.03, np.nan, 0.005, 0.5]
    expected = [0.025, 0.05, 0.05, np.nan, 0.025, 0.5]
    np.testing.assert_allclose(benjamini_hochberg(p), expected, rtol=1e-12, equal_nan=True)


def test_two_stage_column_for_the_main_models(first_run):
    _, results, _ = first_run
    overall = results.overall
    main = overall[(overall.window == "short") & (overall.comparison == "any")]
    assert main.two_stage_estimate.notna().all()
    assert overall[overall.window == "long"].two_stage_estimate.isna().all()
    rows = results.interactions
    main = rows[(rows.window == "short") & (rows.comparison == "any") & ~rows.adjusted]
    main = main[main.modifier == "medication"]
    assert main.two_stage_estimate.notna().all()
    assert (main.two_stage_estimate - main.estimate).abs().max() < 3


def test_public_api():
    # issue 12: the typed results contract (ModelResult and its parts), the results store
    # and its loader are public
    assert sorted(ipdma.analysis.__all__) == [
        "AggregateAnalysis", "AggregateEstimate",  # issue 20: IPD + aggregate data records
        "AnalysisPlan", "AnalysisResults", "BenefitCalibration", "BeyondResults",
        "ConvergenceRecord",
        "EffectModel", "FitOptions", "ImportanceRules", "ModelOptions", "ModelResult",
        "ModelSpec", "ModifierSpec", "PreparedModel", "RESULTS_FILE", "ResultsStore", "RunLog",
        "SplineInteraction", "TIDY_COLUMNS", "TwoStageEstimate", "benjamini_hochberg",
        "build_grid", "fit_effect_model", "iecv", "load_results", "plan_from_dict",
        "predict_effect", "prepare", "run", "spline_interaction",
    ]  # fmt: skip


def test_nullable_dtypes_are_accepted():
    data = frame(31, trials=4)
    data["comparison"] = data["comparison"].astype("string")
    data["medication"] = data["medication"].astype("Float64")
    data.loc[3, "medication"] = pd.NA
    plan = AnalysisPlan(
        outcomes=("pain",), windows=("short",), comparisons=("usual",),
        modifiers=("medication",), subgroups=False, two_stage=False,
    )  # fmt: skip
    results = ipdma.analysis.run(data, plan, jobs=1)
    assert results.failed == 0 and results.interactions.estimate.notna().all()
