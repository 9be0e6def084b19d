"""The one-stage IPD meta-analysis grid: overall effects, treatment-effect modifiers, subgroups.

``run(project)`` fits every model the analysis plan asks for (Hayden et al. 2020, Tables 4-6,
Figures 3-5, Appendices 3-9), in parallel, and keeps one frozen :class:`ModelResult` per
model in the results store ``output/results.duckdb`` (the analysis stage's own file, apart
from the master dataset; it also holds the fit cache, keyed on each model's own data and
specification). ``load_results(project)`` loads them back as :class:`AnalysisResults`.
The tables ``output/tables/{overall,interactions,subgroups,important,models,forest}.csv`` are
exports built from the records.

Tables
------
overall
    ``outcome, window, comparison, scale, studies, participants, estimate, ci_low, ci_high,
    pi_low, pi_high, p, p_fdr, se, tau, ...`` (MD for pain/function, OR for recovery; the
    prediction interval uses t with K-2 df).
interactions
    ``outcome, window, comparison, modifier, label, level, reference, adjusted, studies,
    participants, estimate, ci_low, ci_high, p, p_fdr, ...``, the across-trial term
    (``across_*``), Appendix 9 flags (``significant, clinically_important, importance``) and
    ``two_stage_*`` for the main models.
subgroups
    The treatment effect per category of each modifier (Figures 3-5).
important
    Appendix 9: significant, important in size and stable interactions (adjusted rows with
    the unadjusted ones beside; ``ipdma.analysis._importance``).
forest
    Per-trial treatment effects (each trial's own regression with the overall model's
    covariates) of the overall models in the primary window: the one-stage forest plots.
models
    One row per model: formula, convergence, singularity, dropped rows, error, status
    (``fitted``, ``not converged``, ``not estimable``, ``failed``). Run facts (models fitted
    or reused from the cache, times) are in the store's run log, not in the tables.
"""

from ._aggregate_records import AggregateAnalysis, AggregateEstimate
from ._beyond_records import BeyondResults
from ._design import PreparedModel, prepare
from ._plan import AnalysisPlan, ImportanceRules, ModelOptions, ModifierSpec, plan_from_dict
from ._predict import BenefitCalibration, EffectModel, fit_effect_model, iecv, predict_effect
from ._records import TIDY_COLUMNS, ConvergenceRecord, FitOptions, ModelResult, TwoStageEstimate
from ._results import AnalysisResults
from ._run import load_results, run
from ._spec import ModelSpec, build_grid
from ._splines import SplineInteraction, spline_interaction
from ._store import RESULTS_FILE, ResultsStore, RunLog
from ._tables import benjamini_hochberg

__all__ = [
    "RESULTS_FILE",
    "TIDY_COLUMNS",
    "AggregateAnalysis",
    "AggregateEstimate",
    "AnalysisPlan",
    "AnalysisResults",
    "BenefitCalibration",
    "BeyondResults",
    "ConvergenceRecord",
    "EffectModel",
    "FitOptions",
    "ImportanceRules",
    "ModelOptions",
    "ModelResult",
    "ModelSpec",
    "ModifierSpec",
    "PreparedModel",
    "ResultsStore",
    "RunLog",
    "SplineInteraction",
    "TwoStageEstimate",
    "benjamini_hochberg",
    "build_grid",
    "fit_effect_model",
    "iecv",
    "load_results",
    "plan_from_dict",
    "predict_effect",
    "prepare",
    "run",
    "spline_interaction",
]
