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
estimable. Trials without both arms are left out of every model (they carry no information on
the treatment effect).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import ModelError
from ._plan import AnalysisPlan, ModifierSpec
from ._spec import ModelSpec

__all__ = ["PreparedModel", "Term", "comparison_rows", "prepare"]


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


def comparison_rows(frame: pd.DataFrame, comparison: str) -> pd.Series:
    """Rows of the comparison set: all exercise rows plus the chosen comparison arms."""
    treat = frame["treat"]
    if comparison == "any":
        return treat.notna()
    return (treat == 1) | (frame["comparison"] == comparison)


def _centre(values: pd.Series, trial: pd.Series) -> pd.Series:
    return values - values.groupby(trial).transform("mean")


def _varies(values: pd.Series, trial: pd.Series) -> pd.Series:
    """Per trial: does the column vary (both arms are guaranteed by the caller)."""
    return values.groupby(trial).agg(lambda v: bool(np.ptp(v.to_numpy()) > 1e-12))


def _contrib(trial: pd.Series, keep: pd.Series) -> tuple[int, int]:
    trials = keep[keep].index
    return len(trials), int(trial.isin(trials).sum())


def _levels(z: pd.Series, spec: ModifierSpec) -> tuple[pd.Series, list[str]]:
    """Categorise ``z``: the category labels per row and the ordered levels (reference first)."""
    if spec.type == "binary":
        _check_binary(z)
        ref_value = 0.0 if spec.reference is None else float(spec.reference)
        names = spec.levels or ("No", "Yes")
        if ref_value == 1.0:
            names = (names[1], names[0])
        labels = pd.Series(np.where(z == ref_value, names[0], names[1]), index=z.index)
        return labels, list(names)
    if not pd.api.types.is_numeric_dtype(z):
        levels = sorted(pd.unique(z.astype(str)))
        if spec.reference is not None and str(spec.reference) in levels:
            levels.remove(str(spec.reference))
            levels.insert(0, str(spec.reference))
        return z.astype(str), levels
    cuts = spec.cutpoints
    if cuts is None:
        median = float(np.median(z))
        labels = pd.Series(np.where(z < median, f"< {median:g}", f">= {median:g}"), index=z.index)
        return labels, [f"< {median:g}", f">= {median:g}"]
    edges = [f"< {cuts[0]:g}"]
    edges += [f"{lo:g}-{hi:g}" for lo, hi in itertools.pairwise(cuts)]
    edges += [f">= {cuts[-1]:g}"]
    index = np.searchsorted(np.asarray(cuts), z.to_numpy(), side="right")
    labels = pd.Series(np.asarray(edges, dtype=object)[index], index=z.index)
    levels = list(edges)
    if spec.reference is not None and str(spec.reference) in levels:
        levels.remove(str(spec.reference))
        levels.insert(0, str(spec.reference))
    return labels, levels


def _check_binary(z: pd.Series) -> None:
    bad = z[~z.isin([0, 1])]
    if len(bad):
        raise ModelError(
            "a binary modifier has values other than 0 and 1",
            variable=str(z.name),
            row=bad.index[0],
            value=bad.iloc[0],
            hint="declare it as continuous or categorical in [analysis.modifier]",
        )


def _random_part(terms: list[str], correlated: bool) -> str:
    if not terms:
        return ""
    if correlated:
        return " + (0 + " + " + ".join(terms) + " | trial)"
    return "".join(f" + (0 + {term} | trial)" for term in terms)


def prepare(spec: ModelSpec, frame: pd.DataFrame, plan: AnalysisPlan) -> PreparedModel:
    """Build the model data and formula of ``spec`` from the window's analysis frame.

    Raises
    ------
    ModelError
        When the data cannot support the model (missing variable, no trial with both arms).
    """
    options = plan.model
    rows = frame.loc[comparison_rows(frame, spec.comparison)]
    baseline = spec.baseline
    adjusters = [a for a in plan.adjust_for if a != spec.modifier] if spec.adjusted else []
    needed = [spec.outcome, baseline, *adjusters]
    if spec.modifier is not None and spec.modifier not in needed:
        needed.append(spec.modifier)
    for name in needed:
        if name not in rows.columns:
            raise ModelError(
                f"variable {name!r} is not in the analysis data",
                variable=name,
                hint="add it to the trial specs or remove it from the analysis plan",
            )
    complete = rows[["trial", "treat", *needed]].dropna()
    dropped = len(rows) - len(complete)
    arms = complete.groupby("trial")["treat"].agg(lambda t: t.nunique() == 2)
    complete = complete[complete["trial"].isin(arms[arms].index)]
    if complete.empty:
        raise ModelError(
            f"no trial has both arms with complete data for {spec.id}",
            variable=spec.modifier,
            hint="this cell of the grid has no estimable treatment effect",
        )
    complete = complete.sort_values(["trial"], kind="stable").reset_index(drop=True)
    trial = complete["trial"].astype(str)
    data = pd.DataFrame({"trial": trial, "y": complete[spec.outcome].astype(float)})
    treat01 = complete["treat"].astype(float)
    centred_treat = options.treatment_coding == "centred" and spec.kind != "subgroup"
    data["treat"] = _centre(treat01, trial) if centred_treat else treat01
    data["baseline"] = _centre(complete[baseline].astype(float), trial)
    fixed = ["0", "C(trial)", "baseline"]
    random = [{"treatment": "treat", "baseline": "baseline"}[r] for r in _random_terms(spec, plan)]
    for adjuster in adjusters:
        data[adjuster] = _centre(complete[adjuster].astype(float), trial)
        data[f"treat_x_{adjuster}"] = data["treat"] * data[adjuster]
        fixed += [adjuster, f"treat_x_{adjuster}"]
    terms: list[Term] = []
    notes: list[str] = []
    reference = ""
    n_trials, n_rows = trial.nunique(), len(data)
    if spec.kind == "overall":
        fixed.append("treat")
        terms.append(Term("treat", "treatment", "", n_trials, n_rows))
    elif spec.kind == "interaction":
        reference = _interaction_part(spec, plan, complete, data, fixed, random, terms, notes)
    else:
        reference, keep = _subgroup_part(spec, plan, complete, data, fixed, terms, notes)
        data = data.loc[keep].reset_index(drop=True)
    formula = "y ~ " + " + ".join(fixed) + _random_part(random, options.correlated)
    return PreparedModel(
        spec=spec,
        formula=formula,
        data=data,
        family=spec.family,
        terms=tuple(terms),
        dropped=int(dropped),
        baseline_mean=float(complete[baseline].mean()),
        reference=reference,
        notes=tuple(notes),
    )


def _random_terms(spec: ModelSpec, plan: AnalysisPlan) -> tuple[str, ...]:
    return plan.model.random_binomial if spec.family == "binomial" else plan.model.random


def _interaction_part(
    spec: ModelSpec,
    plan: AnalysisPlan,
    complete: pd.DataFrame,
    data: pd.DataFrame,
    fixed: list[str],
    random: list[str],
    terms: list[Term],
    notes: list[str],
) -> str:
    options = plan.model
    mspec = plan.modifier_spec(str(spec.modifier))
    trial = data["trial"]
    z = complete[str(spec.modifier)]
    if mspec.type == "categorical" or not pd.api.types.is_numeric_dtype(z):
        labels, levels = _levels(z, mspec)
        columns = {f"modifier_{k}": (labels == lev).astype(float) for k, lev in enumerate(levels)}
        columns.pop("modifier_0")
        level_of = {f"modifier_{k}": lev for k, lev in enumerate(levels)}
        reference = levels[0]
    elif mspec.type == "binary":
        _check_binary(z)
        ref_value = 0.0 if mspec.reference is None else float(mspec.reference)
        names = mspec.levels or ("No", "Yes")
        flipped = ref_value == 1.0
        columns = {"modifier": (1.0 - z) if flipped else z.astype(float)}
        level_of = {"modifier": names[0] if flipped else names[1]}
        reference = names[1] if flipped else names[0]
    else:
        columns = {"modifier": z.astype(float)}
        level_of = {"modifier": "per unit"}
        reference = ""
    is_baseline = spec.modifier == spec.baseline
    fixed.append("treat")
    terms.append(Term("treat", "treatment", "", trial.nunique(), len(data)))
    for name, values in columns.items():
        values = pd.Series(values.to_numpy(dtype=float), index=data.index)
        varies = _varies(values, trial)
        studies, participants = _contrib(trial, varies)
        centred = _centre(values, trial)
        level = level_of[name]
        if studies == 0:
            notes.append(f"{level or name}: within-trial interaction not estimable")
            terms.append(
                Term(f"treat_x_{name}", "interaction", level, 0, 0, False, "no trial varies")
            )
        else:
            data[name] = centred
            data[f"treat_x_{name}"] = data["treat"] * centred
            if not is_baseline:
                _prognostic(name, options.prognostic, data, trial, varies, fixed, random)
            fixed.append(f"treat_x_{name}")
            terms.append(Term(f"treat_x_{name}", "interaction", level, studies, participants))
            if options.interaction == "random":
                random.append(f"treat_x_{name}")
        if options.across_trial:
            _across(name, values, level, options.min_trials_across, data, fixed, terms, notes)
    return reference


def _prognostic(
    name: str,
    how: str,
    data: pd.DataFrame,
    trial: pd.Series,
    varies: pd.Series,
    fixed: list[str],
    random: list[str],
) -> None:
    if how == "stratified":
        for k, tr in enumerate(varies[varies].index):
            data[f"{name}_t{k}"] = np.where(trial == tr, data[name], 0.0)
            fixed.append(f"{name}_t{k}")
        return
    fixed.append(name)
    if how == "random":
        random.append(name)


def _across(
    name: str,
    values: pd.Series,
    level: str,
    min_trials: int,
    data: pd.DataFrame,
    fixed: list[str],
    terms: list[Term],
    notes: list[str],
) -> None:
    trial = data["trial"]
    means = values.groupby(trial).transform("mean")
    per_trial = values.groupby(trial).mean()
    distinct = int(per_trial.round(12).nunique())
    if len(per_trial) < min_trials or distinct < 2:
        notes.append(f"{level or name}: across-trial interaction not estimable")
        terms.append(Term(f"treat_x_{name}_mean", "across", level, 0, 0, False, "too few trials"))
        return
    data[f"treat_x_{name}_mean"] = data["treat"] * (means - float(per_trial.mean()))
    fixed.append(f"treat_x_{name}_mean")
    terms.append(Term(f"treat_x_{name}_mean", "across", level, len(per_trial), len(data)))


def _subgroup_part(
    spec: ModelSpec,
    plan: AnalysisPlan,
    complete: pd.DataFrame,
    data: pd.DataFrame,
    fixed: list[str],
    terms: list[Term],
    notes: list[str],
) -> tuple[str, pd.Series]:
    """Add category indicators and per-category treatment columns; rows of categories
    without any trial having both arms in them are dropped (their effect is not estimable)."""
    mspec = plan.modifier_spec(str(spec.modifier))
    trial = data["trial"]
    labels, levels = _levels(complete[str(spec.modifier)], mspec)
    labels = pd.Series(labels.to_numpy(), index=data.index)
    keep = pd.Series(True, index=data.index)
    first = True
    for k, level in enumerate(levels):
        in_level = labels == level
        if not in_level.any():
            notes.append(f"{level}: no participants")
            continue
        arms = data.loc[in_level].groupby("trial")["treat"].nunique()
        both = arms[arms == 2].index
        if len(both) == 0:
            notes.append(f"{level}: no trial has both arms in this category")
            terms.append(Term(f"treat_in_{k}", "subgroup", level, 0, 0, False, "no contrast"))
            keep &= ~in_level
            continue
        participants = int((in_level & trial.isin(both)).sum())
        indicator = in_level.astype(float)
        if not first:
            data[f"category_{k}"] = indicator
            fixed.append(f"category_{k}")
        first = False
        data[f"treat_in_{k}"] = data["treat"] * indicator
        fixed.append(f"treat_in_{k}")
        terms.append(Term(f"treat_in_{k}", "subgroup", level, len(both), participants))
    return levels[0], keep
