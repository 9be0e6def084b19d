"""Pins the public API: names here are contracts that other code and users call.

Changing a name below is a deliberate API change: update this test with it.
"""

import importlib

import pytest

import ipdma

TOP_LEVEL = {
    "ConvergenceWarning", "IpdmaError", "SeparationWarning", "SingularFitWarning", "__version__",
    "analysis", "describe", "draft", "impute", "load", "meta", "mixed", "plots",
    "predict_effect", "report", "simulate", "summaries",
}  # fmt: skip

# Names each sub-package must export (it may export more).
REQUIRED = {
    "models": {"mixed", "MixedResult", "ConvergenceRecord", "parse_formula", "build_design",
               "CrossProducts", "fit_crossproducts",
               # issue 20: one-stage IPD + aggregate data
               "mixed_aggregate", "AggregateMixedResult"},
    "meta": {"pool", "two_stage", "subgroup", "PoolResult", "mean_difference",
             "standardized_mean_difference", "log_odds_ratio", "published_comparison"},
    "describe": {"table1", "table2", "table3", "flow_counts"},
    "plots": {"chain_means", "effect_curve", "flow_diagram", "forest", "one_stage_forest", "subgroup_forest",
              "save", "aggregate_forest",
              # issue 18: the spline, calibration and credibility figures from stored frames
              "effect_curve_panel", "benefit_calibration", "trial_interactions"},
    "store": {"load", "ingest", "MasterData", "MasterMeta", "analysis_frame"},
    "harmonize": {"VARIABLES", "INSTRUMENTS"},
    "spec": {"load_trial_spec", "load_project", "TrialSpec", "Project", "VARIABLES",
             "AnalysisPlan", "plan_from_dict"},
    "io": {"read_table"},
    "checks": {"check"},
    # issue 12: one frozen record per model, the results store and its loader
    "analysis": {"run", "AnalysisPlan", "AnalysisResults", "plan_from_dict", "ModelResult",
                 "ConvergenceRecord", "load_results", "ResultsStore", "RunLog",
                 # issue 18: effect prediction and spline interactions
                 "fit_effect_model", "iecv", "predict_effect", "spline_interaction",
                 "BeyondResults",
                 # issue 20: IPD + aggregate data records
                 "AggregateAnalysis", "AggregateEstimate"},
    "report": {"build"},
    "simulate": {"consortium", "harmonized_ipd", "default_config", "ConsortiumConfig"},
    "summaries": {"summarize", "write_summaries", "read_summaries", "fit_summaries",
                  "fit_federated_binomial", "DisclosureRules", "SiteSummaries",
                  "FederatedResults", "BinomialSite", "InProcessTransport", "FolderTransport",
                  "serve_folder"},
    "impute": {"impute", "Imputation", "rubin_pool", "RubinPooled"},
    "draft": {"draft_trial", "draft_toml", "init_project", "validate", "codebook", "Draft",
              "Field", "ValidationReport", "profile_file"},
}  # fmt: skip


def test_top_level_names():
    assert set(ipdma.__all__) == TOP_LEVEL
    for name in TOP_LEVEL:
        assert getattr(ipdma, name) is not None


def test_lazy_attributes_resolve_to_the_subpackage_objects():
    assert ipdma.mixed is importlib.import_module("ipdma.models").mixed
    assert ipdma.load is importlib.import_module("ipdma.store").load
    with pytest.raises(AttributeError):
        ipdma.no_such_thing  # noqa: B018


@pytest.mark.parametrize("package", sorted(REQUIRED))
def test_subpackage_exports(package):
    module = importlib.import_module(f"ipdma.{package}")
    exported = set(module.__all__)
    assert REQUIRED[package] <= exported, REQUIRED[package] - exported
    for name in exported:  # every exported name exists
        assert hasattr(module, name), name


def test_presentation_libraries_stay_out_of_the_core():
    """Only plots/report import matplotlib/jinja2; importing the statistics must not."""
    import subprocess
    import sys

    code = (
        "import sys, ipdma, ipdma.models, ipdma.meta, ipdma.store, ipdma.analysis\n"
        "bad = [m for m in ('matplotlib', 'jinja2') if m in sys.modules]\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_moved_names_stay_importable_from_their_old_homes():
    """Issue 12 moved the variable vocabulary and the plan to spec, analysis_frame to store."""
    import warnings

    from ipdma import analysis, harmonize, spec, store

    assert harmonize.VARIABLES is spec.VARIABLES
    assert analysis.AnalysisPlan is spec.AnalysisPlan
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert harmonize.analysis_frame is store.analysis_frame
    assert any(issubclass(w.category, DeprecationWarning) for w in caught)


def test_data_flows_one_way_harmonize_never_imports_the_store():
    import subprocess
    import sys

    code = "import sys, ipdma.harmonize; print('ipdma.store' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
