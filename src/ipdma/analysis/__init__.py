"""The one-stage IPD meta-analysis grid: overall effects, treatment-effect modifiers, subgroups.

``run(project)`` fits every model the analysis plan asks for (Hayden et al. 2020, Tables 4-6,
Figures 3-5, Appendices 3-9), in parallel, caching each fit in the master DuckDB, and writes
``output/tables/{overall,interactions,subgroups,important,models}.csv``.

Tables
------
overall
    ``outcome, window, comparison, scale, studies, participants, estimate, ci_low, ci_high,
    p, p_fdr, se, tau, ...`` (MD for pain/function, OR for recovery).
interactions
    ``outcome, window, comparison, modifier, label, level, reference, adjusted, studies,
    participants, estimate, ci_low, ci_high, p, p_fdr, ...``, the across-trial term
    (``across_*``), Appendix 9 flags (``significant, clinically_important, importance``) and
    ``two_stage_*`` for the main models.
subgroups
    The treatment effect per category of each modifier (Figures 3-5).
important
    Appendix 9: significant and clinically important interactions.
models
    One row per model: formula, convergence, singularity, dropped rows, error, cache status.
"""

from ._design import PreparedModel, prepare
from ._plan import AnalysisPlan, ImportanceRules, ModelOptions, ModifierSpec, plan_from_dict
from ._predict import BenefitCalibration, EffectModel, fit_effect_model, iecv, predict_effect
from ._results import AnalysisResults
from ._run import run
from ._spec import ModelSpec, build_grid
from ._splines import SplineInteraction, spline_interaction
from ._tables import benjamini_hochberg

__all__ = [
    "AnalysisPlan",
    "AnalysisResults",
    "BenefitCalibration",
    "EffectModel",
    "ImportanceRules",
    "ModelOptions",
    "ModelSpec",
    "ModifierSpec",
    "PreparedModel",
    "SplineInteraction",
    "benjamini_hochberg",
    "build_grid",
    "fit_effect_model",
    "iecv",
    "plan_from_dict",
    "predict_effect",
    "prepare",
    "run",
    "spline_interaction",
]
