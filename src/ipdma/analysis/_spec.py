"""Model specifications of the analysis grid: what one model is, and the grid the plan implies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ._plan import AnalysisPlan

__all__ = ["BASELINE_OF", "ModelSpec", "build_grid"]

ModelKind = Literal["overall", "interaction", "subgroup"]

# The baseline covariate of each outcome (functional limitations for global recovery).
BASELINE_OF = {"pain": "pain0", "function": "function0", "recovery": "function0"}


@dataclass(frozen=True, order=True)
class ModelSpec:
    """One model of the grid.

    ``kind`` is ``overall`` (treatment effect), ``interaction`` (treatment x modifier, within-
    and across-trial terms) or ``subgroup`` (treatment effect per category of the modifier).
    ``imputed`` models are fitted on multiply imputed data and pooled (a sensitivity
    analysis beside the complete-case model of the same cell).
    """

    kind: ModelKind
    outcome: str
    window: str
    comparison: str
    modifier: str | None = None
    adjusted: bool = False
    imputed: bool = False

    @property
    def id(self) -> str:
        """A readable, unique identifier, e.g. ``interaction/pain/short/any/bmi/adjusted``."""
        parts = [self.kind, self.outcome, self.window, self.comparison]
        if self.modifier is not None:
            parts.append(self.modifier)
        if self.kind != "overall":
            parts.append("adjusted" if self.adjusted else "unadjusted")
        if self.imputed:
            parts.append("imputed")
        return "/".join(parts)

    @property
    def family(self) -> str:
        return "binomial" if self.outcome == "recovery" else "gaussian"

    @property
    def baseline(self) -> str:
        return BASELINE_OF[self.outcome]


def build_grid(plan: AnalysisPlan, *, windows: tuple[str, ...] | None = None) -> list[ModelSpec]:
    """Every model the plan asks for: overall, interaction and subgroup models.

    For each window x comparison set x outcome: one overall model; one interaction model per
    modifier and adjustment (unadjusted / adjusted for ``plan.adjust_for``); and, when
    ``plan.subgroups``, one subgroup model per modifier with ``plan.subgroup_adjustment``.
    ``windows`` restricts the grid to the windows the data have.
    """
    specs: list[ModelSpec] = []
    use_windows = [w for w in plan.windows if windows is None or w in windows]
    for window in use_windows:
        for comparison in plan.comparisons:
            for outcome in plan.outcomes:
                specs.append(ModelSpec("overall", outcome, window, comparison))
                for modifier in plan.modifiers:
                    for adjustment in plan.adjustments:
                        specs.append(
                            ModelSpec(
                                "interaction",
                                outcome,
                                window,
                                comparison,
                                modifier,
                                adjustment == "adjusted",
                            )
                        )
                    if plan.subgroups:
                        specs.append(
                            ModelSpec(
                                "subgroup",
                                outcome,
                                window,
                                comparison,
                                modifier,
                                plan.subgroup_adjustment == "adjusted",
                            )
                        )
    return specs
