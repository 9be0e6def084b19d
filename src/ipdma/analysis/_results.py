"""The results of an analysis: the model records, the plan, and the tables derived from them.

:class:`AnalysisResults` is what :func:`ipdma.analysis.run` returns and
:func:`ipdma.analysis.load_results` loads from the results store. Its tables are built
from the records by :func:`assemble` (deterministically: the same records and plan give the
same tables), never stored as a second copy of the numbers.
"""

from __future__ import annotations

import html
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .._frozen import freeze
from ._aggregate_records import AggregateAnalysis, aggregate_table
from ._beyond_records import BeyondResults
from ._forest import add_prediction_interval, forest_table, model_counts
from ._importance import flag_importance, important_table
from ._imputed import ImputationDiagnostics, imputation_table
from ._plan import AnalysisPlan
from ._records import ModelResult
from ._store import RunLog
from ._tables import interactions_table, models_table, overall_table, subgroups_table
from ._two_stage import add_two_stage

__all__ = [
    "NOT_ESTIMABLE",
    "TABLE_NAMES",
    "AnalysisResults",
    "assemble",
    "write_csv_atomic",
    "write_text_atomic",
]

TABLE_NAMES = (
    "overall", "interactions", "subgroups", "important", "models", "forest", "imputation",
    "aggregate",
)  # fmt: skip
_UMASK = os.umask(0)  # read once at import (os.umask can only be read by setting it)
os.umask(_UMASK)
NOT_ESTIMABLE = "not estimable"  # models-table status of a cell with fewer than two trials


def write_text_atomic(text: str, path: Path) -> Path:
    """Write ``text`` (UTF-8) via a temporary file and ``os.replace`` (never a partial file),
    with the mode the umask gives a new file (0644 under the usual umask 022)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temp, 0o666 & ~_UMASK)  # mkstemp makes 0600; results are for sharing
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def write_csv_atomic(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as CSV atomically."""
    return write_text_atomic(frame.to_csv(index=False, lineterminator="\n"), path)


def assemble(
    records: Sequence[ModelResult],
    keys: Sequence[str],
    plan: AnalysisPlan,
    imputation: Sequence[ImputationDiagnostics] = (),
) -> dict[str, pd.DataFrame]:
    """The result tables (overall, interactions, subgroups, important, models, forest) of
    records, and the complete-case vs imputed table when some records are pooled over
    imputations. Prediction intervals, the importance rule (Appendix 9), two-stage columns
    and the plan's counting convention are all applied here, from the records alone.

    The main tables hold the complete-case records (the paper's analysis); imputed records
    appear in ``imputation`` and ``models`` only.
    """
    pooled = [r for r in records if r.spec.imputed]
    order = [r for r in records if not r.spec.imputed] + pooled
    keyed = dict(zip(map(id, records), keys, strict=True))
    keys = [keyed[id(r)] for r in order]
    records = order[: len(order) - len(pooled)]
    overall = add_prediction_interval(overall_table(records), plan.level)
    interactions = interactions_table(records, plan)
    subgroups = subgroups_table(records, plan)
    baseline_means = {
        (r.spec.outcome, r.spec.window, r.spec.comparison): r.baseline_mean
        for r in records
        if r.spec.kind == "overall" and r.baseline_mean is not None
    }
    models = models_table([*records, *pooled], keys)
    interactions = flag_importance(interactions, subgroups, baseline_means, plan, models)
    if plan.two_stage:
        by_id = {r.model_id: r for r in records}
        overall, interactions = add_two_stage(overall, interactions, by_id)
    if plan.counts == "model":  # the paper's convention: every trial and row in the model
        overall, interactions = (model_counts(f, models) for f in (overall, interactions))
    return {
        "overall": overall,
        "interactions": interactions,
        "subgroups": subgroups,
        "important": important_table(interactions, plan),
        "models": models,
        "forest": forest_table(records),
        "imputation": imputation_table([*records, *pooled], imputation),
    }


@dataclass(frozen=True)
class AnalysisResults:
    """Everything an analysis produced (immutable).

    Attributes
    ----------
    records : tuple of ModelResult
        One record per model of the grid, in grid order: the single source of every number.
    keys : tuple of str
        The fit-cache key of each record ("" when no model could be prepared).
    plan : AnalysisPlan
        The plan used (recorded in the results store and in ``tables/plan.json``).
    overall, interactions, subgroups, important, models : DataFrame
        The tidy tables built from the records (see ``ipdma.analysis``; read-only).
    forest : DataFrame
        Per-trial treatment effects of the overall models in the primary window (the
        one-stage forest plots; ``ipdma.analysis._forest``), from the records.
    beyond : BeyondResults
        Non-linear interactions (splines), individual prediction (internal-external
        cross-validation) and credibility of the important modifiers
        (``ipdma.analysis._beyond_records``), computed by the analysis stage.
    aggregate_analyses : tuple of AggregateAnalysis
        IPD only vs IPD + aggregate data per overall cell (``[analysis] aggregate = true``;
        ``ipdma.analysis._aggregate_run``); ``aggregate`` is their tidy table.
    run : RunLog or None
        Facts of the run that produced the records (fitted/cached counts, time).
    tables : dict
        Paths of the exported CSV files (empty when nothing was written).
    """

    records: tuple[ModelResult, ...]
    keys: tuple[str, ...]
    plan: AnalysisPlan
    overall: pd.DataFrame
    interactions: pd.DataFrame
    subgroups: pd.DataFrame
    important: pd.DataFrame
    models: pd.DataFrame
    imputation: pd.DataFrame
    run: RunLog | None = None
    tables: dict[str, Path] = field(default_factory=dict)
    forest: pd.DataFrame = field(default_factory=pd.DataFrame)
    imputation_diagnostics: tuple[ImputationDiagnostics, ...] = ()
    beyond: BeyondResults = field(default_factory=BeyondResults.empty)
    aggregate_analyses: tuple[AggregateAnalysis, ...] = ()
    aggregate: pd.DataFrame = field(default_factory=pd.DataFrame)

    @classmethod
    def from_records(
        cls,
        records: Sequence[ModelResult],
        keys: Sequence[str],
        plan: AnalysisPlan,
        *,
        run: RunLog | None = None,
        tables: dict[str, Path] | None = None,
        imputation: Sequence[ImputationDiagnostics] = (),
        aggregate: Sequence[AggregateAnalysis] = (),
    ) -> AnalysisResults:
        """Results of ``records`` under ``plan``, with their tables assembled (and the IPD +
        aggregate-data records of ``[analysis] aggregate = true`` with their table)."""
        frames = {
            name: freeze(frame) for name, frame in assemble(records, keys, plan, imputation).items()
        }
        return cls(
            records=tuple(records),
            keys=tuple(keys),
            plan=plan,
            run=run,
            tables=dict(tables or {}),
            imputation_diagnostics=tuple(imputation),
            aggregate_analyses=tuple(aggregate),
            aggregate=freeze(aggregate_table(tuple(aggregate))),
            **frames,
        )

    @property
    def fitted(self) -> int:
        """Models fitted in the run (0 when unknown)."""
        return 0 if self.run is None else self.run.fitted

    @property
    def cached(self) -> int:
        """Models reused from the fit cache in the run (0 when unknown)."""
        return 0 if self.run is None else self.run.cached

    @property
    def seconds(self) -> float:
        """Wall time of the run (0 when unknown)."""
        return 0.0 if self.run is None else self.run.seconds

    @property
    def failed(self) -> int:
        """Models that could not be fitted (status ``failed``)."""
        return sum(r.status == "failed" for r in self.records)

    @property
    def not_estimable(self) -> int:
        """Grid cells with fewer than two trials with both arms and complete data."""
        return sum(r.status == NOT_ESTIMABLE for r in self.records)

    @property
    def not_converged(self) -> int:
        """Models fitted whose optimum could not be verified."""
        return sum(r.status == "not converged" for r in self.records)

    def record(self, model_id: str) -> ModelResult:
        """The record of one model by its id (``overall/pain/short/any``)."""
        for record in self.records:
            if record.model_id == model_id:
                return record
        raise KeyError(f"no model {model_id!r} in these results")

    def table(self, name: str) -> pd.DataFrame:
        """One of the tables by name (``overall``, ``interactions``, ...)."""
        if name not in TABLE_NAMES:
            raise KeyError(f"no table {name!r}; tables: {', '.join(TABLE_NAMES)}")
        frame: pd.DataFrame = getattr(self, name)
        return frame

    def tidy(self) -> pd.DataFrame:
        """The interactions table (the main result; one row per modifier level)."""
        return self.interactions

    to_frame = tidy

    def summary(self) -> str:
        """A short text summary: models fitted/cached/failed, tables, important modifiers."""
        lines = [
            f"models: {len(self.records)} ({self.fitted} fitted, {self.cached} cached, "
            f"{self.failed} failed, {self.not_estimable} not estimable) in "
            f"{self.seconds:.1f} s",
            f"overall effects: {len(self.overall)} rows; interactions: "
            f"{len(self.interactions)} rows; subgroups: {len(self.subgroups)} rows",
            f"potentially important modifiers (Appendix 9): {len(self.important)}",
        ]
        if self.tables:
            lines.append(f"tables: {Path(next(iter(self.tables.values()))).parent}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        text = "<br>".join(html.escape(line) for line in self.summary().splitlines())
        return f"<div><b>ipdma analysis</b><br>{text}</div>" + self.overall.to_html(index=False)
