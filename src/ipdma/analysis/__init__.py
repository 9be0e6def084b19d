"""The one-stage IPD meta-analysis grid: overall effects, treatment-effect modifiers, subgroups.

``run(project)`` fits every model the analysis plan asks for (Hayden et al. 2020, Tables 4-6,
Figures 3-5, Appendices 3-9), in parallel, caching each fit in the master DuckDB, and writes
``output/tables/{overall,interactions,subgroups,important,models,forest}.csv``.

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
    One row per model: formula, convergence, singularity, dropped rows, error, cache status.
"""

from ._design import PreparedModel, prepare
from ._plan import AnalysisPlan, ImportanceRules, ModelOptions, ModifierSpec, plan_from_dict
from ._results import AnalysisResults
from ._run import run
from ._spec import ModelSpec, build_grid
from ._tables import benjamini_hochberg

__all__ = [
    "AnalysisPlan",
    "AnalysisResults",
    "ImportanceRules",
    "ModelOptions",
    "ModelSpec",
    "ModifierSpec",
    "PreparedModel",
    "benjamini_hochberg",
    "build_grid",
    "plan_from_dict",
    "prepare",
    "run",
]
