"""IPD + aggregate data in the overall effects (``[analysis] aggregate = true``).

Sources of aggregate data (AD): the project's ``[[aggregate_trials]]`` entries and the
published ``effects`` of its ``[[not_included]]`` trials (mean differences, 0-100). Each is
assigned to a follow-up window (a window name; else the time in weeks, the window whose
target is nearest within its maximum distance; published effects without a time count for
the primary window) and to its comparison set. For every overall-effect cell of a
continuous outcome with AD trials, the pooled treatment effect is computed from IPD only and
from IPD + AD (Riley et al. 2008, Stat Med 27:1870):

* two-stage: per-trial ANCOVA on the model's rows, then REML random-effects pooling with
  the AD estimates (:func:`ipdma.meta.two_stage` with ``aggregate=``);
* one-stage: the linear mixed model of the plan (random slopes, residual, REML/ML) with the
  AD trials as pseudo-observations sharing the treatment effect and its between-trial
  variance (:func:`ipdma.models.mixed_aggregate`).

The binary outcome (recovery) has no AD path (its one-stage model is logistic).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import IpdmaError, SpecError
from ._aggregate_records import TRIAL_COLUMNS, AggregateAnalysis, AggregateEstimate, DataSet
from ._design import PreparedModel
from ._plan import AnalysisPlan

if TYPE_CHECKING:  # pragma: no cover
    from ..models import AggregateMixedResult
    from ..spec import Project
    from ..spec._project import Settings

__all__ = [
    "AggregateInputs",
    "aggregate_analyses",
    "aggregate_inputs",
    "aggregate_sources",
    "ipd_trial_ids",
]

_SOURCE_COLUMNS = ["trial", "label", "outcome", "window", "comparison", "estimate", "se", "entry"]


def ipd_trial_ids(frames: Mapping[str, pd.DataFrame]) -> set[str]:
    """The ids of every trial with IPD in the analysis frames."""
    return {str(t) for frame in frames.values() for t in pd.unique(frame["trial"])}


def _window_of(weeks: float, settings: Settings) -> str | None:
    """The window whose target is nearest to ``weeks`` within its maximum distance."""
    best: tuple[float, float, str] | None = None
    for name, window in settings.windows.items():
        distance = abs(weeks - window.target)
        if distance <= window.max_distance and (
            best is None or (distance, window.target) < best[:2]
        ):
            best = (distance, window.target, name)
    return None if best is None else best[2]


def aggregate_sources(project: Project, plan: AnalysisPlan) -> tuple[pd.DataFrame, list[str]]:
    """The AD rows of ``project`` (``trial, label, outcome, window, comparison, estimate,
    se, entry``) and notes on entries that cannot be placed in a window."""
    rows, notes = [], []
    for index, entry in enumerate(project.aggregate_trials):
        if isinstance(entry.follow_up, str):
            window: str | None = entry.follow_up
        else:
            window = _window_of(float(entry.follow_up), project.settings)
        where = f"aggregate_trials[{index}]"
        if window is None:
            notes.append(f"{entry.name}: follow_up {entry.follow_up} weeks is in no window")
            continue
        rows.append((entry.id, entry.name, entry.outcome, window, entry.comparison,
                     entry.estimate, entry.standard_error, where))  # fmt: skip
    given = {(r[0], r[2], r[3], r[4]) for r in rows}
    for index, trial in enumerate(project.not_included):
        for number, effect in enumerate(trial.effects):
            if effect.time_weeks is None:
                window = plan.primary_window
            else:
                window = _window_of(float(effect.time_weeks), project.settings)
            if window is None:
                notes.append(f"{trial.label}: published effect at {effect.time_weeks} weeks "
                             "is in no window")  # fmt: skip
                continue
            if (trial.id, effect.outcome, window, effect.comparison) in given:
                continue  # [[aggregate_trials]] gives this effect
            rows.append((trial.id, trial.label, effect.outcome, window, effect.comparison,
                         effect.md, effect.se, f"not_included[{index}].effects[{number}]"))  # fmt: skip
    return pd.DataFrame(rows, columns=_SOURCE_COLUMNS), notes


def _check_clash(sources: pd.DataFrame, ipd_trials: set[str], file: Path | None) -> None:
    clash = sources[sources.trial.isin(ipd_trials)]
    if len(clash):
        first = clash.iloc[0]
        raise SpecError(
            f"{first.entry}.id {first.trial!r} is also a trial with IPD; a trial enters "
            "either by its IPD or by its published estimate",
            file=file,
            trial=str(first.trial),
            variable=f"{first.entry}.id",
            value=str(first.trial),
            hint="remove the aggregate entry (the IPD are used) or give it the id of a trial "
            "without IPD",
        )


def _one_stage(
    prepared: PreparedModel, plan: AnalysisPlan, ad: pd.DataFrame | None
) -> AggregateMixedResult:
    from ..models import mixed_aggregate

    names = {"treatment": "treat", "baseline": "baseline"}
    return mixed_aggregate(
        prepared.data,
        ad,
        covariates=("baseline",),
        random=tuple(names[r] for r in plan.model.random),
        correlated=plan.model.correlated,
        residual=plan.model.residual,
        reml=plan.model.reml,
        level=plan.level,
    )


def _estimates(
    prepared: PreparedModel, plan: AnalysisPlan, ad: pd.DataFrame
) -> tuple[tuple[AggregateEstimate, ...], pd.DataFrame]:
    from ..meta import two_stage

    frame = prepared.data.assign(treat=(prepared.data["treat"] > 0).astype(float))
    out = []
    participants = len(prepared.data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ipd_two, both_two = (
            two_stage(frame, outcome="y", baseline="baseline", family="gaussian",
                      level=plan.level, aggregate=data)
            for data in (None, ad)
        )  # fmt: skip
    k_ipd = int(prepared.data["trial"].nunique())
    sets: tuple[DataSet, DataSet] = ("IPD only", "IPD + aggregate data")
    for name, res, k_ad in ((sets[0], ipd_two, 0), (sets[1], both_two, len(ad))):
        out.append(AggregateEstimate(
            "two-stage", name, int((res.trials.used & (res.trials.source == "IPD")).sum()), k_ad,
            participants, res.estimate, res.se, res.ci[0], res.ci[1], res.pooled.p, res.tau2,
            "REML",
        ))  # fmt: skip
    for name, data in ((sets[0], None), (sets[1], ad)):
        fit = _one_stage(prepared, plan, data)
        out.append(AggregateEstimate(
            "one-stage", name, k_ipd, fit.k_aggregate, participants, fit.estimate, fit.se,
            fit.ci[0], fit.ci[1], fit.p, fit.tau2, fit.method, fit.converged,
        ))  # fmt: skip
    trials = both_two.trials
    labels = dict(zip(ad.trial, ad.label, strict=True))
    table = pd.DataFrame(
        {
            "trial": trials.trial.astype(str),
            "label": [labels.get(t, t) for t in trials.trial.astype(str)],
            "source": trials.source.astype(str),
            "n": trials.n,
            "estimate": trials.estimate,
            "se": trials.se,
            "ci_low": trials.ci_low,
            "ci_high": trials.ci_high,
        }
    )
    return tuple(out), table[list(TRIAL_COLUMNS)]


@dataclass(frozen=True)
class AggregateInputs:
    """The AD rows of a project (:func:`aggregate_sources`) and notes on unplaced entries."""

    sources: pd.DataFrame
    notes: tuple[str, ...]


def aggregate_inputs(
    plan: AnalysisPlan, project_file: Path | None, ipd_trials: set[str]
) -> AggregateInputs | None:
    """The validated AD rows when the plan asks for them (None otherwise); called before
    any model is fitted, so bad entries stop the run early.

    Raises
    ------
    SpecError
        When an aggregate entry has the id of a trial with IPD (naming project.toml, the
        entry and the field), or the plan asks for aggregate data without a project file.
    """
    if not plan.aggregate:
        return None
    if project_file is None:
        raise SpecError(
            "analysis.aggregate = true needs the project file (its [[aggregate_trials]] and "
            "[[not_included]] entries)",
            variable="analysis.aggregate",
            hint="run the analysis on project.toml, or set aggregate = false",
        )
    from ..spec import load_project

    sources, notes = aggregate_sources(load_project(project_file), plan)
    _check_clash(sources, ipd_trials, project_file)
    return AggregateInputs(sources, tuple(notes))


def aggregate_analyses(
    prepared: Sequence[PreparedModel | None], plan: AnalysisPlan, inputs: AggregateInputs | None
) -> tuple[AggregateAnalysis, ...]:
    """The IPD-only vs IPD + AD records of the overall cells of continuous outcomes."""
    if inputs is None:
        return ()
    sources, notes = inputs.sources, inputs.notes
    records = []
    for model in prepared:
        if model is None or model.spec.kind != "overall" or model.family != "gaussian":
            continue
        spec = model.spec
        mask = (sources.outcome == spec.outcome) & (sources.window == spec.window)
        ad = sources[mask & (sources.comparison == spec.comparison)]
        if ad.empty:
            continue
        try:
            estimates, table = _estimates(model, plan, ad.reset_index(drop=True))
        except (IpdmaError, np.linalg.LinAlgError, ArithmeticError) as exc:
            notes_here = (*notes, f"not computed: {str(exc).splitlines()[0]}")
            records.append(AggregateAnalysis(spec.id, spec.outcome, spec.window,
                                             spec.comparison, (), notes=notes_here))  # fmt: skip
            continue
        finite = all(math.isfinite(e.estimate) for e in estimates)
        extra = () if finite else ("an estimate could not be computed",)
        records.append(AggregateAnalysis(spec.id, spec.outcome, spec.window, spec.comparison,
                                         estimates, table, (*notes, *extra)))  # fmt: skip
    return tuple(records)
