"""Which raw columns a plan's linear model needs at a site, and how its design columns are
linear combinations of them within each trial.

A model of the grid (``analysis._design.prepare``) uses trial-centred covariates
``c(v) = v - mean_i(v)`` and products with the treatment. Within trial i every such design
column is a linear combination of a few *raw* columns: ``1``, the treatment ``t``, the
baseline ``x0``, each adjuster ``a`` and ``t*a``, the modifier ``z`` and ``t*z`` (for a
categorical modifier, the indicator ``z==level`` of every level and ``t*z==level``), and
the outcome ``y``; the coefficients are the trial means (``mean_i(v) = (1'v) / n_i``, an
entry of the raw cross-product matrix). So with ``R_i`` the raw columns of trial i and
``A_i`` the coefficient matrix, the design's cross-products are exactly
``A_i' (R_i' R_i) A_i``: a site ships ``R_i' R_i`` and ``n_i`` per trial, and every decision
``prepare`` makes from the pooled rows (centring, the across-trial mean of trial means,
aliased columns, which trials vary in the modifier, the pooled set of levels) is made by
the coordinator from these matrices.

Subgroup models drop the rows of a category in which no trial has both arms, which is not a
linear map of a trial's sums; their blocks are therefore one per trial *and category*
(``by_category``), and the coordinator assembles each trial from the categories it keeps.
Categories of a continuous modifier cut at the pooled median cannot be formed at a site
(the median is an order statistic of the pooled participants' values): such models need
cut-points in the plan and are otherwise reported as not summarised.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal

from ..analysis._levels import binary_names
from ..analysis._plan import AnalysisPlan, ModifierSpec
from ..analysis._spec import ModelSpec

__all__ = [
    "Categories",
    "RawLayout",
    "categories_of",
    "category_rule",
    "federable_binomial",
    "product",
    "raw_layout",
]

Rule = Literal["binary", "strings", "cutpoints"]


@dataclass(frozen=True)
class Categories:
    """How rows fall into the modifier's categories: ``binary`` (0/1 with the plan's labels),
    ``strings`` (the values as text; the pooled set of levels, sorted), ``cutpoints`` (the
    plan's cut-points). ``levels``: at a site, the labels it has (all for binary and
    cut-points), reference first where known."""

    variable: str
    rule: Rule
    levels: tuple[str, ...]
    cutpoints: tuple[float, ...] = ()
    reference_value: float = 0.0  # binary: the value (0 or 1) of the reference level


@dataclass(frozen=True)
class RawLayout:
    """The raw columns of one model at a site; ``columns[0]`` is ``"1"``, the last the
    outcome. ``needed`` are the analysis-frame variables that must be present in a row.
    ``categories``: the modifier's categories (indicator columns of an interaction, or the
    cells of a subgroup model, ``by_category``)."""

    columns: tuple[str, ...]
    needed: tuple[str, ...]
    outcome: str
    baseline: str
    adjusters: tuple[str, ...]
    modifier: str | None
    categories: Categories | None = None
    by_category: bool = False


def product(a: str, b: str) -> str:
    """Name of the raw product column ``a*b``."""
    return f"{a}*{b}"


def indicator(variable: str, level: str) -> str:
    """Name of the raw indicator column of one category."""
    return f"{variable}=={level}"


def cut_names(cuts: tuple[float, ...]) -> list[str]:
    """The labels of ``analysis._levels.categorise`` for cut-points (``< a``, ``a-b``, ...)."""
    names = [f"< {cuts[0]:g}"]
    names += [f"{low:g}-{high:g}" for low, high in itertools.pairwise(cuts)]
    return [*names, f">= {cuts[-1]:g}"]


def ordered_levels(rule: Rule, mod: ModifierSpec, present: list[str]) -> tuple[str, ...]:
    """The levels ``categorise`` gives, reference first (``present``: labels with rows)."""
    if rule == "binary":
        reference, other, _ = binary_names(mod)
        return (reference, other)
    levels = cut_names(tuple(mod.cutpoints or ())) if rule == "cutpoints" else sorted(present)
    first = None if mod.reference is None else str(mod.reference)
    if first is not None and first in levels:
        levels.remove(first)
        levels.insert(0, first)
    return tuple(levels)


def categories_of(
    spec: ModelSpec, plan: AnalysisPlan, rule: Rule, present: list[str]
) -> Categories:
    """The :class:`Categories` of ``spec``'s modifier under ``rule``."""
    mod = plan.modifier_spec(str(spec.modifier))
    flipped = rule == "binary" and binary_names(mod)[2]
    return Categories(
        variable=str(spec.modifier),
        rule=rule,
        levels=ordered_levels(rule, mod, present),
        cutpoints=tuple(mod.cutpoints or ()) if rule == "cutpoints" else (),
        reference_value=1.0 if flipped else 0.0,
    )


def category_rule(spec: ModelSpec, plan: AnalysisPlan, numeric: bool) -> Rule | str | None:
    """The categories of ``spec``'s modifier: a rule, None (a continuous or 0/1 column used
    as is), or a sentence saying why the model cannot be summarised at a site."""
    if spec.kind == "overall":
        return None
    mod = plan.modifier_spec(str(spec.modifier))
    if spec.kind == "interaction" and numeric and mod.type != "categorical":
        return None
    if spec.kind == "subgroup" and mod.type == "binary":
        return "binary"
    if not numeric:
        return "strings"
    if mod.cutpoints is not None:
        return "cutpoints"
    return (
        f"the categories of {spec.modifier} are cut at the pooled median, an order statistic "
        "of all sites' participants that no site can compute; set cutpoints = [...] for it "
        f"in [analysis.modifier.{spec.modifier}] to summarise this model"
    )


def federable_binomial(spec: ModelSpec, plan: AnalysisPlan, rule: str) -> str | None:
    """None if the logistic protocol fits ``spec``, else why not (its sites build the design
    from plain raw columns: no categories, no per-trial prognostic columns)."""
    if spec.kind == "subgroup" or rule:
        return "the logistic protocol does not yet fit subgroup or categorical-modifier models"
    if spec.kind == "interaction" and plan.model.prognostic == "stratified":
        return "the logistic protocol does not yet fit a stratified prognostic effect"
    return None


def raw_layout(
    spec: ModelSpec, plan: AnalysisPlan, categories: Categories | None = None
) -> RawLayout:
    """The raw columns of ``spec`` (see the module docstring)."""
    adjusters = tuple(a for a in plan.adjust_for if a != spec.modifier) if spec.adjusted else ()
    cols = ["1", "treat", spec.baseline]
    for a in adjusters:
        cols += [a, product("treat", a)]
    modifier = spec.modifier if spec.kind == "interaction" else None
    by_category = spec.kind == "subgroup"
    if modifier is not None:
        if categories is None:
            names = [modifier]
        else:
            names = [indicator(modifier, level) for level in categories.levels]
        for name in names:
            for column in (name, product("treat", name)):
                if column not in cols:
                    cols.append(column)
    cols.append(spec.outcome)
    needed = [spec.outcome, spec.baseline, *adjusters]
    if spec.modifier is not None and spec.kind != "overall" and spec.modifier not in needed:
        needed.append(spec.modifier)
    return RawLayout(
        columns=tuple(dict.fromkeys(cols)),
        needed=tuple(needed),
        outcome=spec.outcome,
        baseline=spec.baseline,
        adjusters=adjusters,
        modifier=modifier,
        categories=categories,
        by_category=by_category,
    )
