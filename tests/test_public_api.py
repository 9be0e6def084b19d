"""Pins the public API: names here are contracts that other code and users call.

Changing a name below is a deliberate API change: update this test with it.
"""

import importlib

import pytest

import ipdma

TOP_LEVEL = {
    "ConvergenceWarning", "IpdmaError", "SeparationWarning", "SingularFitWarning", "__version__",
    "analysis", "describe", "load", "meta", "mixed", "plots", "predict_effect", "report",
    "simulate",
}  # fmt: skip

# Names each sub-package must export (it may export more).
REQUIRED = {
    "models": {"mixed", "MixedResult", "parse_formula", "build_design"},
    "meta": {"pool", "two_stage", "subgroup", "PoolResult", "mean_difference",
             "standardized_mean_difference", "log_odds_ratio", "published_comparison"},
    "describe": {"table1", "table2", "table3"},
    "plots": {"effect_curve", "forest", "subgroup_forest", "save"},
    "store": {"load", "ingest", "MasterData"},
    "harmonize": {"VARIABLES", "INSTRUMENTS", "analysis_frame"},
    "spec": {"load_trial_spec", "load_project", "TrialSpec", "Project"},
    "io": {"read_table"},
    "checks": {"check"},
    "analysis": {"run", "AnalysisPlan", "AnalysisResults", "plan_from_dict", "fit_effect_model",
                 "iecv", "predict_effect", "spline_interaction"},
    "report": {"build"},
    "simulate": {"consortium", "harmonized_ipd", "default_config", "ConsortiumConfig"},
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
