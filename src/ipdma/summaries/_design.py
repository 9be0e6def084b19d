"""Coordinator side: one plan model's design cross-products from the sites' raw ones.

Mirrors ``analysis._design.prepare`` exactly, with every pooled-data decision taken from the
cross-products (see ``_layout``): trial-centred columns ``c(v) = v - (1'v / n_i) 1``;
products with the treatment; the across-trial term ``T (mean_i(v) - mean over trials of
mean_i(v))``; a trial contributes to an interaction when the modifier varies in it; fixed
columns aliased with the stratified intercepts are dropped. Trials with fewer than two
trials in all, or an interaction without a varying trial, are not estimable, as in the grid.
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
from ._layout import product, raw_layout

__all__ = ["FederatedModel", "federated_design"]

_VARIES_TOL = 1e-13  # relative within-trial variance below which a column is constant


@dataclass(frozen=True)
class FederatedModel:
    """A model ready to fit: its cross-products, reported terms and notes."""

    spec: ModelSpec
    crossproducts: CrossProducts
    terms: tuple[Term, ...]
    notes: tuple[str, ...]
    coefficients: np.ndarray  # (K, r, d): [Z, intercept, fixed, y] from [1, centred raw]


Form = dict[str, np.ndarray]  # raw column -> coefficient per trial


class _Forms:
    """Design columns as per-trial linear combinations of the raw columns."""

    def __init__(
        self, columns: tuple[str, ...], gram: np.ndarray, means: np.ndarray, n: np.ndarray
    ) -> None:
        self.index = {name: j for j, name in enumerate(columns)}
        self.gram, self.means, self.n, self.K = gram, means, n, len(n)

    def mean(self, name: str) -> np.ndarray:
        return self.means[:, self.index[name]]

    def varies(self, name: str) -> np.ndarray:
        j = self.index[name]
        m = self.mean(name)
        return self.gram[:, j, j] / self.n > _VARIES_TOL * np.maximum(m * m, 1.0)

    def raw(self, name: str, coef: float | np.ndarray = 1.0) -> Form:
        return {name: np.broadcast_to(np.asarray(coef, dtype=float), (self.K,)).copy()}

    def centred(self, name: str, sign: float = 1.0) -> Form:
        return {name: np.full(self.K, sign), "1": -sign * self.mean(name)}

    def times(self, f: Form, g: Form) -> Form:
        """Product of two forms, each of one raw column (the first ``treat``) plus a constant."""
        (u, a), b = _split(f, self.K)
        (w, c), d = _split(g, self.K)
        out: Form = {}
        for name, coef in ((product(u, w), a * c), (u, a * d), (w, b * c), ("1", b * d)):
            out[name] = out.get(name, 0.0) + coef
        return out

    def scaled(self, f: Form, s: np.ndarray) -> Form:
        return {k: v * s for k, v in f.items()}

    def matrix(self, forms: list[Form]) -> np.ndarray:
        """(K, r, d) coefficients in the centred basis ``[1, r_1 - m_1, ...]`` of ``gram``:
        design column d = sum_a A[:, a, d] r_a becomes sum_a A[a, d] (r_a - m_a) plus
        (A[0, d] + sum_a A[a, d] m_a) 1 (0 for a trial-centred column, up to rounding)."""
        A = np.zeros((self.K, len(self.index), len(forms)))
        for d, form in enumerate(forms):
            for name, coef in form.items():
                A[:, self.index[name], d] += coef
        A[:, 0, :] += np.einsum("ka,kad->kd", self.means[:, 1:], A[:, 1:, :])
        return A


def _split(f: Form, K: int) -> tuple[tuple[str, np.ndarray], np.ndarray]:
    const = f.get("1", np.zeros(K))
    (name, coef), *rest = [(k, v) for k, v in f.items() if k != "1"]
    assert not rest, "forms multiplied here have one raw column"
    return (name, coef), const


def federated_design(
    spec: ModelSpec,
    plan: AnalysisPlan,
    trials: tuple[str, ...],
    n: np.ndarray,
    means: np.ndarray,
    gram: np.ndarray,
) -> FederatedModel:
    """The design cross-products of ``spec`` from raw blocks of all sites (trials sorted).

    Raises
    ------
    TooFewTrials
        Fewer than two trials (the cell is not estimable).
    """
    if len(trials) < 2:
        raise TooFewTrials(
            f"only {len(trials)} trial(s) with both arms for {spec.id}; a random-effects "
            "meta-analysis needs at least two trials",
            hint="not estimable from these summaries",
        )
    options = plan.model
    layout = raw_layout(spec, plan)
    F = _Forms(layout.columns, gram, means, n)
    N, K = int(n.sum()), len(trials)
    T = F.raw("treat") if options.treatment_coding == "01" else F.centred("treat")
    columns: dict[str, Form] = {"baseline": F.centred(layout.baseline)}
    fixed = ["baseline"]
    terms_random = options.random_binomial if spec.family == "binomial" else options.random
    random = [{"treatment": "treat", "baseline": "baseline"}[r] for r in terms_random]
    terms: list[Term] = []
    notes: list[str] = []
    for a in layout.adjusters:
        columns[a] = F.centred(a)
        columns[f"treat_x_{a}"] = F.times(T, columns[a])
        fixed += [a, f"treat_x_{a}"]
    columns["treat"] = T
    fixed.append("treat")
    terms.append(Term("treat", "treatment", "", K, N))
    if spec.kind == "interaction":
        z = str(layout.modifier)
        mod = plan.modifier_spec(z)
        sign, level = 1.0, "per unit"
        if mod.type == "binary":
            _, level, flipped = binary_names(mod)
            sign = -1.0 if flipped else 1.0
        varies = F.varies(z)
        studies, participants = int(varies.sum()), int(n[varies].sum())
        if studies == 0:
            notes.append(f"{level}: within-trial interaction not estimable")
            terms.append(
                Term("treat_x_modifier", "interaction", level, 0, 0, False, "no trial varies")
            )
        else:
            columns["modifier"] = F.centred(z, sign)
            if spec.modifier != spec.baseline:
                fixed.append("modifier")
                if options.prognostic == "random":
                    random.append("modifier")
            columns["treat_x_modifier"] = F.times(T, columns["modifier"])
            fixed.append("treat_x_modifier")
            terms.append(Term("treat_x_modifier", "interaction", level, studies, participants))
            if options.interaction == "random":
                random.append("treat_x_modifier")
        if options.across_trial:
            mean_v = F.mean(z) if sign > 0 else 1.0 - F.mean(z)
            distinct = len(np.unique(np.round(mean_v, 12)))
            if options.min_trials_across > K or distinct < 2:
                notes.append(f"{level}: across-trial interaction not estimable")
                terms.append(
                    Term("treat_x_modifier_mean", "across", level, 0, 0, False, "too few trials")
                )
            else:
                columns["treat_x_modifier_mean"] = F.scaled(T, mean_v - mean_v.mean())
                fixed.append("treat_x_modifier_mean")
                terms.append(Term("treat_x_modifier_mean", "across", level, K, N))
    fixed, random, terms = _drop_aliased(F, columns, fixed, random, terms, notes)
    intercept = F.raw("1")
    forms = [columns[c] for c in random] + [intercept] + [columns[c] for c in fixed]
    forms.append(F.raw(layout.outcome))
    A = F.matrix(forms)
    design_gram = np.einsum("kra,krs,ksb->kab", A, gram, A)
    # [Z, the trial's own intercept C(trial)[level] (its local slot), global columns, y]
    blocks = _blocks(random, options.correlated)
    formula = (
        "y ~ " + " + ".join(["0", "C(trial)", *fixed]) + _random_part(random, options.correlated)
    )
    cp = CrossProducts(
        formula=formula,
        fixed_names=tuple(f"C(trial)[{t}]" for t in trials) + tuple(fixed),
        random_names=tuple(random),
        re_blocks=blocks,
        group_name="trial",
        group_levels=tuple(trials),
        gram=design_gram,
        n=np.asarray(n, dtype=float),
        local_index=np.arange(K)[:, None],
        global_index=K + np.arange(len(fixed)),
    )
    return FederatedModel(
        spec=spec, crossproducts=cp, terms=tuple(terms), notes=tuple(notes), coefficients=A
    )


def _blocks(random: list[str], correlated: bool) -> tuple[np.ndarray, ...]:
    if not random:
        return ()
    if correlated:
        return (np.arange(len(random)),)
    return tuple(np.array([j]) for j in range(len(random)))


def _drop_aliased(F: _Forms, columns, fixed, random, terms, notes):
    """``_drop_aliased`` of the grid: within-trial centred Gram of the fixed columns."""
    A = F.matrix([columns[c] for c in fixed])
    D = np.einsum("kra,krs,ksb->kab", A, F.gram, A)  # D_i'D_i
    s = F.n[:, None] * A[:, 0, :]  # 1'D_i (the centred raw columns sum to 0)
    centred = (D - s[:, :, None] * s[:, None, :] / F.n[:, None, None]).sum(0)
    scale = np.einsum("kaa->a", D)
    aliased = {fixed[j] for j in _greedy_aliased(centred, scale)}
    if not aliased:
        return fixed, random, terms
    for name in [c for c in fixed if c in aliased]:
        notes.append(
            f"{name}: aliased with the stratified trial intercepts (no within-trial "
            "variation beyond the other terms); dropped from the model"
        )
    terms = [
        Term(t.column, t.role, t.level, 0, 0, False, "aliased with the trial intercepts")
        if t.column in aliased
        else t
        for t in terms
    ]
    return (
        [c for c in fixed if c not in aliased],
        [c for c in random if c not in aliased],
        terms,
    )
