"""Coordinator side: one plan model's design cross-products from the sites' raw ones.

Mirrors ``analysis._design.prepare`` exactly, with every pooled-data decision taken from the
cross-products (see ``_layout``): trial-centred columns ``c(v) = v - (1'v / n_i) 1``;
products with the treatment; the across-trial term ``T (mean_i(v) - mean over trials of
mean_i(v))``; a trial contributes to an interaction when the modifier varies in it; the
pooled set of a categorical modifier's levels (one indicator per non-reference level); a
stratified prognostic effect (one column per varying trial, held as a trial-local column
of the cross-products); subgroup categories with the rows of a category in which no trial
has both arms dropped; fixed columns aliased with the stratified intercepts are dropped.
Fewer than two trials in all is not estimable, as in the grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..analysis._design import Term, TooFewTrials, _random_part
from ..analysis._levels import binary_names
from ..analysis._plan import AnalysisPlan
from ..analysis._spec import ModelSpec
from ..models._crossproducts import CrossProducts
from ..models._linear_stats import _greedy_aliased
from ._assemble import Stacked, cell_column
from ._forms import Form, Forms
from ._layout import indicator, ordered_levels, product

__all__ = ["FederatedModel", "federated_design"]


@dataclass(frozen=True)
class FederatedModel:
    """A model ready to fit: its cross-products, reported terms and notes."""

    spec: ModelSpec
    crossproducts: CrossProducts
    terms: tuple[Term, ...]
    notes: tuple[str, ...]
    coefficients: np.ndarray  # (K, r, d): [Z, local, global, y] from [1, centred raw]


@dataclass
class _Build:
    """Design columns (as forms), the fixed and random parts, terms and notes."""

    F: Forms
    columns: dict[str, Form]
    fixed: list[str]
    random: list[str]
    terms: list[Term]
    notes: list[str]
    stratified: dict[str, np.ndarray]  # column -> trials in which it has its own column


def federated_design(
    spec: ModelSpec, plan: AnalysisPlan, stacked: Stacked, rule: str = ""
) -> FederatedModel:
    """The design cross-products of ``spec`` from the stacked raw blocks of all sites.

    Raises
    ------
    TooFewTrials
        Fewer than two trials (the cell is not estimable).
    """
    if spec.kind == "subgroup":
        stacked = _drop_empty_trials(stacked)
    K = len(stacked.trials)
    if K < 2:
        raise TooFewTrials(
            f"only {K} trial(s) with both arms for {spec.id}; a random-effects "
            "meta-analysis needs at least two trials",
            hint="not estimable from these summaries",
        )
    options = plan.model
    F = Forms(stacked.columns, stacked.gram, stacked.means)
    N = round(F.n.sum())
    coded01 = options.treatment_coding == "01" or spec.kind == "subgroup"
    T = F.raw("treat") if coded01 else F.centred("treat")
    terms_random = options.random_binomial if spec.family == "binomial" else options.random
    b = _Build(
        F=F,
        columns={"treat": T, "baseline": F.centred(spec.baseline)},
        fixed=["baseline"],
        random=[{"treatment": "treat", "baseline": "baseline"}[r] for r in terms_random],
        terms=[],
        notes=[],
        stratified={},
    )
    adjusters = [a for a in plan.adjust_for if a != spec.modifier] if spec.adjusted else []
    for a in adjusters:
        b.columns[a] = F.centred(a)
        b.columns[f"treat_x_{a}"] = F.times(T, b.columns[a])
        b.fixed += [a, f"treat_x_{a}"]
    if spec.kind == "subgroup":
        _subgroups(spec, plan, stacked, b)
    else:
        b.fixed.append("treat")
        b.terms.append(Term("treat", "treatment", "", K, N))
        if spec.kind == "interaction":
            _interaction(spec, plan, rule, b)
    _drop_aliased(b)
    cp, A = _crossproducts(spec, plan, stacked, b)
    return FederatedModel(
        spec=spec, crossproducts=cp, terms=tuple(b.terms), notes=tuple(b.notes), coefficients=A
    )


def _drop_empty_trials(s: Stacked) -> Stacked:
    keep = s.gram[:, 0, 0] > 0
    if keep.all():
        return s
    return Stacked(
        columns=s.columns,
        trials=tuple(t for t, k in zip(s.trials, keep, strict=True) if k),
        means=s.means[keep],
        gram=s.gram[keep],
        levels=s.levels,
        cell_n=None if s.cell_n is None else s.cell_n[keep],
        cell_treated=None if s.cell_treated is None else s.cell_treated[keep],
    )


def _modifier_columns(
    spec: ModelSpec, plan: AnalysisPlan, rule: str, F: Forms
) -> tuple[list[tuple[str, str | None, str, float]], bool]:
    """(model column, raw column or None (all 0), level label, sign) of the modifier, and
    whether the 0/1 coding is flipped."""
    z = str(spec.modifier)
    mod = plan.modifier_spec(z)
    if rule:
        prefix = indicator(z, "")
        labels = [c[len(prefix) :] for c in F.index if c.startswith(prefix)]
        present = [lev for lev in labels if F.count(indicator(z, lev)) > 0.5]
        levels = ordered_levels(rule, mod, present)  # type: ignore[arg-type]
        out = []
        for k, level in enumerate(levels[1:], start=1):
            raw = indicator(z, level)
            out.append((f"modifier_{k}", raw if raw in F.index else None, level, 1.0))
        return out, False
    if mod.type == "binary":
        _, level, flipped = binary_names(mod)
        return [("modifier", z, level, -1.0 if flipped else 1.0)], flipped
    return [("modifier", z, "per unit", 1.0)], False


def _interaction(spec: ModelSpec, plan: AnalysisPlan, rule: str, b: _Build) -> None:
    """``analysis._design._interaction_part`` from the cross-products."""
    options, F = plan.model, b.F
    T = b.columns["treat"]
    N, K = round(F.n.sum()), len(F.n)
    columns, flipped = _modifier_columns(spec, plan, rule, F)
    for name, raw, level, sign in columns:
        varies = F.varies(raw) if raw is not None else np.zeros(K, dtype=bool)
        studies, participants = int(varies.sum()), round(F.n[varies].sum())
        column = f"treat_x_{name}"
        if studies == 0:
            b.notes.append(f"{level or name}: within-trial interaction not estimable")
            b.terms.append(Term(column, "interaction", level, 0, 0, False, "no trial varies"))
        else:
            assert raw is not None
            b.columns[name] = F.centred(raw, sign)
            if spec.modifier != spec.baseline:
                if options.prognostic == "stratified":
                    b.stratified[name] = varies
                    b.fixed.append(name)
                else:
                    b.fixed.append(name)
                    if options.prognostic == "random":
                        b.random.append(name)
            b.columns[column] = F.times(T, b.columns[name])
            b.fixed.append(column)
            b.terms.append(Term(column, "interaction", level, studies, participants))
            if options.interaction == "random":
                b.random.append(column)
        if options.across_trial:
            mean_v = F.mean(raw) if raw is not None else np.zeros(K)
            mean_v = 1.0 - mean_v if flipped else mean_v
            distinct = len(np.unique(np.round(mean_v, 12)))
            across = f"{column}_mean"
            if options.min_trials_across > K or distinct < 2:
                b.notes.append(f"{level or name}: across-trial interaction not estimable")
                b.terms.append(Term(across, "across", level, 0, 0, False, "too few trials"))
            else:
                b.columns[across] = F.scaled(T, mean_v - mean_v.mean())
                b.fixed.append(across)
                b.terms.append(Term(across, "across", level, K, N))


def _subgroups(spec: ModelSpec, plan: AnalysisPlan, s: Stacked, b: _Build) -> None:
    """``analysis._design._subgroup_part`` from the per-category blocks."""
    assert s.cell_n is not None and s.cell_treated is not None
    F, first = b.F, True
    for k, level in enumerate(s.levels):
        n_k, t_k = s.cell_n[:, k], s.cell_treated[:, k]
        if n_k.sum() < 0.5:
            b.notes.append(f"{level}: no participants")
            continue
        both = (t_k > 0.5) & (t_k < n_k - 0.5)
        if not both.any():
            b.notes.append(f"{level}: no trial has both arms in this category")
            b.terms.append(Term(f"treat_in_{k}", "subgroup", level, 0, 0, False, "no contrast"))
            continue
        if not first:
            b.columns[f"category_{k}"] = F.raw(cell_column(k))
            b.fixed.append(f"category_{k}")
        first = False
        b.columns[f"treat_in_{k}"] = F.raw(product("treat", cell_column(k)))
        b.fixed.append(f"treat_in_{k}")
        participants = round(n_k[both].sum())
        b.terms.append(Term(f"treat_in_{k}", "subgroup", level, int(both.sum()), participants))


def _expanded(b: _Build) -> tuple[list[str], list[Form]]:
    """Fixed column names in the grid's order, a stratified column becoming one column per
    trial in which it varies (``{name}_t{k}``, k the trial's position)."""
    names, forms = [], []
    for name in b.fixed:
        if name in b.stratified:
            for k in np.flatnonzero(b.stratified[name]):
                onehot = np.zeros(len(b.F.n))
                onehot[k] = 1.0
                names.append(f"{name}_t{k}")
                forms.append(b.F.scaled(b.columns[name], onehot))
        else:
            names.append(name)
            forms.append(b.columns[name])
    return names, forms


def _drop_aliased(b: _Build) -> None:
    """``_drop_aliased`` of the grid: the within-trial centred Gram of the fixed columns."""
    names, forms = _expanded(b)
    F = b.F
    A = F.matrix(forms)
    D = np.einsum("kra,krs,ksb->kab", A, F.gram, A)  # D_i'D_i
    s = np.einsum("ka,kad->kd", F.gram[:, 0, :], A)  # 1'D_i
    centred = (D - s[:, :, None] * s[:, None, :] / F.n[:, None, None]).sum(0)
    scale = np.einsum("kaa->a", D)
    aliased = {names[j] for j in _greedy_aliased(centred, scale)}
    if not aliased:
        return
    for name in [c for c in names if c in aliased]:
        b.notes.append(
            f"{name}: aliased with the stratified trial intercepts (no within-trial "
            "variation beyond the other terms); dropped from the model"
        )
    for name, varies in b.stratified.items():
        for k in np.flatnonzero(varies):
            if f"{name}_t{k}" in aliased:
                varies[k] = False
    b.fixed = [c for c in b.fixed if c not in aliased]
    b.random = [c for c in b.random if c not in aliased]
    b.terms = [
        Term(t.column, t.role, t.level, 0, 0, False, "aliased with the trial intercepts")
        if t.column in aliased
        else t
        for t in b.terms
    ]


def _crossproducts(
    spec: ModelSpec, plan: AnalysisPlan, s: Stacked, b: _Build
) -> tuple[CrossProducts, np.ndarray]:
    """``[Z, local (the trial's intercept, its stratified columns), global, y]`` per trial."""
    F, K = b.F, len(s.trials)
    names, _ = _expanded(b)
    fixed_names = tuple(f"C(trial)[{t}]" for t in s.trials) + tuple(names)
    position = {name: j for j, name in enumerate(fixed_names)}
    local_forms = [F.raw("1")]
    local_index = [np.arange(K)]
    for name, varies in b.stratified.items():
        if name not in b.fixed:
            continue
        local_forms.append(F.scaled(b.columns[name], varies.astype(float)))
        local_index.append(
            np.array([position[f"{name}_t{k}"] if varies[k] else -1 for k in range(K)])
        )
    glob = [c for c in b.fixed if c not in b.stratified]
    forms = [b.columns[c] for c in b.random] + local_forms + [b.columns[c] for c in glob]
    forms.append(F.raw(spec.outcome))
    A = F.matrix(forms)
    formula = (
        "y ~ "
        + " + ".join(["0", "C(trial)", *names])
        + _random_part(b.random, plan.model.correlated)
    )
    cp = CrossProducts(
        formula=formula,
        fixed_names=fixed_names,
        random_names=tuple(b.random),
        re_blocks=_blocks(b.random, plan.model.correlated),
        group_name="trial",
        group_levels=tuple(s.trials),
        gram=np.einsum("kra,krs,ksb->kab", A, F.gram, A),
        n=F.n.copy(),
        local_index=np.stack(local_index, axis=1),
        global_index=np.array([position[c] for c in glob], dtype=np.intp),
    )
    return cp, A


def _blocks(random: list[str], correlated: bool) -> tuple[np.ndarray, ...]:
    if not random:
        return ()
    if correlated:
        return (np.arange(len(random)),)
    return tuple(np.array([j]) for j in range(len(random)))
