"""Which raw columns a plan's linear model needs at a site, and how its design columns are
linear combinations of them within each trial.

A model of the grid (``analysis._design.prepare``) uses trial-centred covariates
``c(v) = v - mean_i(v)`` and products with the treatment. Within trial i every such design
column is a linear combination of a few *raw* columns: ``1``, the treatment ``t``, the
baseline ``x0``, each adjuster ``a`` and ``t*a``, the modifier ``z`` and ``t*z``, and the
outcome ``y``; the coefficients are the trial means (``mean_i(v) = (1'v) / n_i``, an entry of
the raw cross-product matrix). So with ``R_i`` the raw columns of trial i and ``A_i`` the
coefficient matrix, the design's cross-products are exactly ``A_i' (R_i' R_i) A_i``: a site
ships ``R_i' R_i`` and ``n_i`` per trial, and every decision ``prepare`` makes from the
pooled rows (centring, the across-trial mean of trial means, aliased columns, which trials
vary in the modifier) is made by the coordinator from these matrices.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..analysis._plan import AnalysisPlan
from ..analysis._spec import ModelSpec

__all__ = ["RawLayout", "raw_layout", "supported"]


@dataclass(frozen=True)
class RawLayout:
    """The raw columns of one model at a site; ``columns[0]`` is ``"1"``, the last the
    outcome. ``needed`` are the analysis-frame variables that must be present in a row."""

    columns: tuple[str, ...]
    needed: tuple[str, ...]
    outcome: str
    baseline: str
    adjusters: tuple[str, ...]
    modifier: str | None


def product(a: str, b: str) -> str:
    """Name of the raw product column ``a*b``."""
    return f"{a}*{b}"


def supported(spec: ModelSpec, plan: AnalysisPlan) -> str | None:
    """None if the model can be fitted from summaries, else why not (a sentence)."""
    if spec.kind == "subgroup":
        return (
            "subgroup models need category cut-points (e.g. the pooled median) that only the "
            "pooled data determine"
        )
    if spec.kind == "interaction":
        mod = plan.modifier_spec(str(spec.modifier))
        if mod.type == "categorical":
            return "categorical modifiers need the pooled set of levels"
        if plan.model.prognostic == "stratified":
            return "a stratified prognostic effect needs one column per trial of the pooled data"
    return None


def raw_layout(spec: ModelSpec, plan: AnalysisPlan) -> RawLayout:
    """The raw columns of ``spec`` (see the module docstring)."""
    adjusters = tuple(a for a in plan.adjust_for if a != spec.modifier) if spec.adjusted else ()
    cols = ["1", "treat", spec.baseline]
    for a in adjusters:
        cols += [a, product("treat", a)]
    modifier = spec.modifier if spec.kind == "interaction" else None
    if modifier is not None:
        for name in (modifier, product("treat", modifier)):
            if name not in cols:
                cols.append(name)
    cols.append(spec.outcome)
    needed = [spec.outcome, spec.baseline, *adjusters]
    if modifier is not None and modifier not in needed:
        needed.append(modifier)
    return RawLayout(
        columns=tuple(dict.fromkeys(cols)),
        needed=tuple(needed),
        outcome=spec.outcome,
        baseline=spec.baseline,
        adjusters=adjusters,
        modifier=modifier,
    )
