"""Publication-quality figures with matplotlib (imported lazily; Agg-compatible, no pyplot).

``forest(result)`` draws a meta-analysis forest plot, ``subgroup_forest(frame)`` the
subgroup-effect plot of the paper's Figures 3-5, ``save(fig, stem)`` writes PNG and SVG.
"""

from ._forest import forest
from ._save import save
from ._subgroups import subgroup_forest

__all__ = ["forest", "save", "subgroup_forest"]
