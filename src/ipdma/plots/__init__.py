"""Publication-quality figures with matplotlib (imported lazily; Agg-compatible, no pyplot).

``forest(result)`` draws a meta-analysis forest plot, ``one_stage_forest(trials, pooled)``
the one-stage forest plot (per-trial estimates, pooled effect, prediction interval),
``subgroup_forest(frame)`` the subgroup-effect plot of the paper's Figures 3-5,
``save(fig, stem)`` writes PNG and SVG.
"""

from ._forest import forest
from ._onestage import one_stage_forest
from ._save import save
from ._subgroups import subgroup_forest

__all__ = ["forest", "one_stage_forest", "save", "subgroup_forest"]
