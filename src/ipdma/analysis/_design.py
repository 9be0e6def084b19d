"""Turn one grid cell into a model: its data (complete cases, centred covariates) and formula.

The models, for participant j of trial i with treatment T (1 exercise, 0 comparison), baseline
x0 of the outcome and candidate modifier z (Hayden et al. 2020, Appendix 1; Riley et al. 2020,
Stat Med 39:2536; Hua et al. 2017, Stat Med 36:772)::

    overall      g(E y_ij) = a_i + b_i c(x0_ij) + t_i T_ij
    interaction  g(E y_ij) = a_i + b_i c(x0_ij) + p c(z_ij) + t_i T_ij
                             + g_W T_ij c(z_ij) + g_A T_ij mean_i(z)
    subgroup     g(E y_ij) = a_i + b_i c(x0_ij) + sum_k p_k I(z_ij in k) + sum_k t_k T_ij I(z_ij in k)

with c(v) = v - mean_i(v) (centring at the trial-specific mean over the model's rows), a_i
fixed per trial (stratified intercepts), (b_i, t_i) = (b, t) + random effects (which ones is
the plan's choice), and g the identity (pain, function; REML) or the logit (recovery; ML).
g_W is the within-trial interaction (free of ecological bias); g_A, the across-trial
interaction, is a separate, reported term. Adjusted models add c(age), c(female) and their
products with T. Categorical modifiers get one indicator per non-reference level. Subgroup
categories are uncentred (Figures 3-5) and use the 0/1 treatment coding.

A trial contributes to an interaction only if it has both arms and variation in the modifier;
a modifier column with no contributing trial is left out and its row reported as not
estimable. Any fixed column aliased with the stratified intercepts (no within-trial variation
beyond the earlier columns, e.g. a subgroup indicator of a modifier constant within every
trial) is dropped from the model with a note, as R drops aliased columns. Trials without both arms are left out of every model (they carry no information on
the treatment effect).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import ModelError
from ..models._linear_stats import _greedy_aliased
from ._groups import TrialGroups
from ._levels import binary_names, categorise, check_binary
from ._plan import AnalysisPlan, ModifierSpec
from ._spec import ModelSpec
from ._window import WindowArrays

__all__ = ["PreparedModel", "Term", "TooFewTrials", "data_digest", "prepare"]


class TooFewTrials(ModelError):
    """Fewer than two trials have both arms with complete data: the cell is not estimable.

    Not a failure of the fit: a one-stage random-effects meta-analysis needs at least two
    trials (a single trial's effect is not a meta-analysis, and its between-trial variance
    is not identified). Such grid cells are reported with status ``not estimable``.
    """


@dataclass(frozen=True)
class Term:
    """A reported fixed-effect term: its column, role, level and contributing trials/rows."""

    column: str
    role: str  # "treatment" | "interaction" | "across" | "subgroup"
    level: str
    studies: int
    participants: int
    estimable: bool = True
    note: str = ""


@dataclass(frozen=True)
class PreparedModel:
    """Everything needed to fit one model and to label its results."""

    spec: ModelSpec
    formula: str
    data: pd.DataFrame
    family: str
    terms: tuple[Term, ...]
    dropped: int
    baseline_mean: float
    reference: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)
    # data_digest(data), computed by prepare from its arrays ("": computed when asked)
    digest: str = field(default="", repr=False, compare=False)

    @property
    def data_digest(self) -> str:
        """SHA-256 of every value of every column of ``data`` (:func:`data_digest`)."""
        return self.digest or data_digest((str(k), v.to_numpy()) for k, v in self.data.items())


def data_digest(columns: Iterable[tuple[str, np.ndarray]]) -> str:
    """SHA-256 of the columns' names and values (numbers as their bytes, text joined)."""
    digest = hashlib.sha256()
    for name, values in columns:
        digest.update(name.encode() + b"\x1f")
        if values.dtype.kind in "biuf":
            digest.update(np.ascontiguousarray(values).tobytes())
        else:
            digest.update("\x1f".join(map(str, values)).encode())
    return digest.hexdigest()


class _Builder:
    """Columns, formula terms and reported terms of one model under construction."""

    def __init__(self, groups: TrialGroups) -> None:
        self.groups = groups
        self.columns: dict[str, np.ndarray] = {}
        self.fixed = ["0", "C(trial)", "baseline"]
        self.random: list[str] = []
        self.terms: list[Term] = []
        self.notes: list[str] = []
        self.keep: np.ndarray | None = None

    def add(self, name: str, values: np.ndarray, *, fixed: bool = True) -> None:
        self.columns[name] = values
        if fixed:
            self.fixed.append(name)


def _random_part(terms: list[str], correlated: bool) -> str:
    if not terms:
        return ""
    if correlated:
        return " + (0 + " + " + ".join(terms) + " | trial)"
    return "".join(f" + (0 + {term} | trial)" for term in terms)


def prepare(
    spec: ModelSpec, frame: pd.DataFrame | WindowArrays, plan: AnalysisPlan
) -> PreparedModel:
    """Build the model data and formula of ``spec`` from the window's analysis frame.

    ``frame`` may be a :class:`WindowArrays` built once per window (what ``run`` does).

    Raises
    ------
    ModelError
        When the data cannot support the model (missing variable, no trial with both arms).
    """
    window = frame if isinstance(frame, WindowArrays) else WindowArrays(frame)
    options = plan.model
    baseline = spec.baseline
    adjusters = [a for a in plan.adjust_for if a != spec.modifier] if spec.adjusted else []
    needed = [spec.outcome, baseline, *adjusters]
    if spec.modifier is not None and spec.modifier not in needed:
        needed.append(spec.modifier)
    for name in needed:
        window.require(name)
    in_set = window.comparison(spec.comparison)
    usable = in_set.copy()
    for name in needed:
        usable &= window.present(name)
    dropped = int(in_set.sum() - usable.sum())
    rows = np.flatnonzero(usable)
    treat01 = window.numeric("treat")[rows]
    groups = window.groups(rows)
    rows = rows[groups.both_arms(treat01)[groups.codes]]
    if rows.size == 0:
        raise TooFewTrials(
            f"no trial has both arms with complete data for {spec.id}",
            variable=spec.modifier,
            hint="this cell of the grid has no estimable treatment effect",
        )
    trial = window.trial[rows]
    groups = window.groups(rows)
    if len(groups) < 2:
        raise TooFewTrials(
            f"only one trial ({trial[0]}) has both arms with complete data for {spec.id}; "
            "a random-effects meta-analysis needs at least two trials",
            trial=str(trial[0]),
            variable=spec.modifier,
            hint="not estimable from these data; the cell is reported and the grid goes on",
        )
    build = _Builder(groups)
    build.columns["y"] = window.numeric(spec.outcome)[rows]
    treat01 = window.numeric("treat")[rows]
    centred_treat = options.treatment_coding == "centred" and spec.kind != "subgroup"
    treat = groups.centre(treat01) if centred_treat else treat01
    build.add("treat", treat, fixed=False)
    baseline_values = window.numeric(baseline)[rows]
    build.columns["baseline"] = groups.centre(baseline_values)
    terms = plan.model.random_binomial if spec.family == "binomial" else plan.model.random
    build.random = [{"treatment": "treat", "baseline": "baseline"}[r] for r in terms]
    for adjuster in adjusters:
        centred = groups.centre(window.numeric(adjuster)[rows])
        build.add(adjuster, centred)
        build.add(f"treat_x_{adjuster}", treat * centred)
    reference = ""
    if spec.kind == "overall":
        build.fixed.append("treat")
        build.terms.append(Term("treat", "treatment", "", len(groups), len(trial)))
    elif spec.kind == "interaction":
        z = window.series(str(spec.modifier), rows)
        reference = _interaction_part(spec, plan, z, build, treat)
    else:
        z = window.series(str(spec.modifier), rows)
        reference = _subgroup_part(spec, plan, z, build, treat01)
    # the frame is built once, from the final rows (a frame per model costs more than the
    # arrays: the trial labels come as the pandas array made once per window)
    columns, kept = build.columns, rows
    if build.keep is not None:
        columns = {name: values[build.keep] for name, values in columns.items()}
        kept = rows[build.keep]
        build.groups = window.groups(kept)
    data = pd.DataFrame({"trial": window.trial_column(kept), **columns})
    _drop_aliased(build, columns)
    digest = data_digest([("trial", window.trial[kept]), *columns.items()])
    formula = "y ~ " + " + ".join(build.fixed) + _random_part(build.random, options.correlated)
    return PreparedModel(
        spec=spec,
        formula=formula,
        data=data,
        family=spec.family,
        terms=tuple(build.terms),
        dropped=int(dropped),
        baseline_mean=float(baseline_values.mean()),
        reference=reference,
        notes=tuple(build.notes),
        digest=digest,
    )


def _drop_aliased(build: _Builder, columns: dict[str, np.ndarray]) -> None:
    """Drop fixed columns aliased with the stratified intercepts (and earlier columns).

    Each fixed column is centred within trial over the model's rows (this projects out the
    per-trial intercepts ``C(trial)``); a column whose centred part is a linear combination
    of the earlier centred columns (e.g. a category indicator constant within every trial)
    carries no within-trial information and is dropped, as R's ``lm``/``lmer`` drop aliased
    columns. Each drop is a note of the model; a dropped reported term is not estimable.
    """
    names = [name for name in build.fixed if name not in ("0", "C(trial)")]
    if not names:
        return
    codes = build.groups.codes  # the groups of the model's rows
    raw = np.array([columns[name] for name in names], dtype=float).T  # rows x columns
    sums = np.zeros((codes.max() + 1, raw.shape[1]))
    np.add.at(sums, codes, raw)
    centred = raw - (sums / np.bincount(codes)[:, None])[codes]
    aliased = {names[j] for j in _greedy_aliased(centred.T @ centred, np.sum(raw**2, axis=0))}
    if not aliased:
        return
    build.fixed = [name for name in build.fixed if name not in aliased]
    build.random = [name for name in build.random if name not in aliased]
    for name in sorted(aliased, key=names.index):
        build.notes.append(
            f"{name}: aliased with the stratified trial intercepts (no within-trial "
            "variation beyond the other terms); dropped from the model"
        )
    build.terms = [
        Term(t.column, t.role, t.level, 0, 0, False, "aliased with the trial intercepts")
        if t.column in aliased
        else t
        for t in build.terms
    ]


def _modifier_columns(
    z: pd.Series, spec: ModifierSpec
) -> tuple[dict[str, np.ndarray], dict[str, str], str]:
    """The modifier's model columns (one per non-reference level), their levels, reference."""
    if spec.type == "categorical" or not pd.api.types.is_numeric_dtype(z):
        labels, levels = categorise(z, spec)
        columns = {f"modifier_{k}": (labels == lev).astype(float) for k, lev in enumerate(levels)}
        del columns["modifier_0"]
        return columns, {f"modifier_{k}": lev for k, lev in enumerate(levels)}, levels[0]
    if spec.type == "binary":
        values = z.to_numpy(float)
        if not np.all((values == 0) | (values == 1)):  # (checked in NumPy first: fast)
            check_binary(z)
        reference, other, flipped = binary_names(spec)
        return {"modifier": 1.0 - values if flipped else values}, {"modifier": other}, reference
    return {"modifier": z.to_numpy(float)}, {"modifier": "per unit"}, ""


def _interaction_part(
    spec: ModelSpec, plan: AnalysisPlan, z: pd.Series, build: _Builder, treat: np.ndarray
) -> str:
    options = plan.model
    groups = build.groups
    columns, level_of, reference = _modifier_columns(z, plan.modifier_spec(str(spec.modifier)))
    build.fixed.append("treat")
    build.terms.append(Term("treat", "treatment", "", len(groups), len(z)))
    for name, values in columns.items():
        varies = groups.varies(values)
        studies, participants = int(varies.sum()), int(groups.size[varies].sum())
        level = level_of[name]
        if studies == 0:
            build.notes.append(f"{level or name}: within-trial interaction not estimable")
            build.terms.append(
                Term(f"treat_x_{name}", "interaction", level, 0, 0, False, "no trial varies")
            )
        else:
            centred = groups.centre(values)
            build.add(name, centred, fixed=False)
            if spec.modifier != spec.baseline:  # the baseline is already in the model
                _prognostic(name, options.prognostic, build, varies)
            build.add(f"treat_x_{name}", treat * centred)
            build.terms.append(Term(f"treat_x_{name}", "interaction", level, studies, participants))
            if options.interaction == "random":
                build.random.append(f"treat_x_{name}")
        if options.across_trial:
            _across(name, values, level, options.min_trials_across, build, treat)
    return reference


def _prognostic(name: str, how: str, build: _Builder, varies: np.ndarray) -> None:
    """The modifier's own (prognostic) effect: common, random or one per trial."""
    if how == "stratified":
        for k in np.flatnonzero(varies):
            build.add(f"{name}_t{k}", np.where(build.groups.codes == k, build.columns[name], 0.0))
        return
    build.fixed.append(name)
    if how == "random":
        build.random.append(name)


def _across(
    name: str, values: np.ndarray, level: str, min_trials: int, build: _Builder, treat: np.ndarray
) -> None:
    """T x (trial mean of the modifier - mean of trial means): the across-trial interaction."""
    per_trial = build.groups.means(values)
    distinct = len(np.unique(np.round(per_trial, 12)))
    column = f"treat_x_{name}_mean"
    if len(per_trial) < min_trials or distinct < 2:
        build.notes.append(f"{level or name}: across-trial interaction not estimable")
        build.terms.append(Term(column, "across", level, 0, 0, False, "too few trials"))
        return
    build.add(column, treat * (per_trial - per_trial.mean())[build.groups.codes])
    build.terms.append(Term(column, "across", level, len(per_trial), len(values)))


def _subgroup_part(
    spec: ModelSpec, plan: AnalysisPlan, z: pd.Series, build: _Builder, treat: np.ndarray
) -> str:
    """Category indicators and per-category treatment columns (0/1 treatment coding); rows
    of categories in which no trial has both arms are dropped (not estimable there)."""
    groups = build.groups
    labels, levels = categorise(z, plan.modifier_spec(str(spec.modifier)))
    keep = np.ones(len(labels), dtype=bool)
    first = True
    for k, level in enumerate(levels):
        in_level = labels == level
        if not in_level.any():
            build.notes.append(f"{level}: no participants")
            continue
        both = groups.both_arms(treat, among=in_level)
        if not both.any():
            build.notes.append(f"{level}: no trial has both arms in this category")
            build.terms.append(Term(f"treat_in_{k}", "subgroup", level, 0, 0, False, "no contrast"))
            keep &= ~in_level
            continue
        participants = int((in_level & both[groups.codes]).sum())
        indicator = in_level.astype(float)
        if not first:
            build.add(f"category_{k}", indicator)
        first = False
        build.add(f"treat_in_{k}", treat * indicator)
        build.terms.append(Term(f"treat_in_{k}", "subgroup", level, int(both.sum()), participants))
    build.keep = keep if not keep.all() else None
    return levels[0]
