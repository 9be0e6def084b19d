"""Publication-quality figures with matplotlib (imported lazily; Agg-compatible, no pyplot).

``forest(result)`` draws a meta-analysis forest plot, ``one_stage_forest(trials, pooled)``
the one-stage forest plot (per-trial estimates, pooled effect, prediction interval),
``subgroup_forest(frame)`` the subgroup-effect plot of the paper's Figures 3-5,
``effect_curve(spline)`` the treatment effect against a continuous modifier,
``flow_diagram(counts)`` Figure 1 (flow of trials and participants),
``chain_means(chains)`` the convergence of multiple imputation (chain means by iteration),
``save(fig, stem)`` writes PNG and SVG.
"""

from ._chains import chain_means
from ._effect_curve import effect_curve
from ._flow import flow_diagram
from ._forest import forest
from ._onestage import one_stage_forest
from ._save import save
from ._subgroups import subgroup_forest

__all__ = [
    "chain_means",
    "effect_curve",
    "flow_diagram",
    "forest",
    "one_stage_forest",
    "save",
    "subgroup_forest",
]
