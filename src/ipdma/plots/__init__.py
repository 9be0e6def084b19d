"""Publication-quality figures with matplotlib (imported lazily; Agg-compatible, no pyplot).

``forest(result)`` draws a meta-analysis forest plot, ``one_stage_forest(trials, pooled)``
the one-stage forest plot (per-trial estimates, pooled effect, prediction interval),
``subgroup_forest(frame)`` the subgroup-effect plot of the paper's Figures 3-5,
``effect_curve(spline)`` the treatment effect against a continuous modifier,
``flow_diagram(counts)`` Figure 1 (flow of trials and participants),
``effect_curve_panel``, ``benefit_calibration`` and ``trial_interactions`` the spline,
prediction and credibility figures from their stored frames,
``aggregate_forest(record)`` IPD with aggregate-data trials (open circles),
``chain_means(chains)`` the convergence of multiple imputation (chain means by iteration),
``save(fig, stem)`` writes PNG and SVG.
"""

from ._aggregate import aggregate_forest
from ._beyond import benefit_calibration, effect_curve_panel, trial_interactions
from ._chains import chain_means
from ._effect_curve import effect_curve
from ._flow import flow_diagram
from ._forest import forest
from ._onestage import one_stage_forest
from ._save import save
from ._subgroups import subgroup_forest

__all__ = [
    "aggregate_forest",
    "benefit_calibration",
    "chain_means",
    "effect_curve",
    "effect_curve_panel",
    "flow_diagram",
    "forest",
    "one_stage_forest",
    "save",
    "subgroup_forest",
    "trial_interactions",
]
