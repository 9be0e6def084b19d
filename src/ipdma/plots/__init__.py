"""Publication-quality figures with matplotlib (imported lazily; Agg-compatible, no pyplot).

``forest(result)`` draws a meta-analysis forest plot, ``subgroup_forest(frame)`` the
subgroup-effect plot of the paper's Figures 3-5, ``effect_curve(spline)`` the treatment effect
against a continuous modifier, ``save(fig, stem)`` writes PNG and SVG.
"""

from ._effect_curve import effect_curve
from ._forest import forest
from ._save import save
from ._subgroups import subgroup_forest

__all__ = ["effect_curve", "forest", "save", "subgroup_forest"]
