"""The grid's models on m completed datasets: prepared in this process while the worker
processes fit, and pooled as soon as a model's m fits are in (:mod:`._imputed`).

Preparing a model (its rows, centring, formula) takes a few milliseconds and the m x models
of an imputed grid are tens of thousands: prepared all first, the workers waited for this
process (a minute of one busy core at m = 20) and the prepared data of every fit sat in
memory at once. Here the models are prepared a chunk at a time, each chunk's fits are
handed to the workers (those in the results store's fit cache are taken from it), and the
next chunk is prepared while they fit; a model is pooled when its last fit arrives. The
records are the same as fitting everything at once: each fit is :func:`fit_prepared` of
the same prepared model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from ..errors import IpdmaError
from ._design import PreparedModel, prepare
from ._fit import FitOutcome
from ._plan import AnalysisPlan
from ._records import ModelResult
from ._runner import (
    ProgressHook,
    _fit_batch,
    _single_threaded_blas,
    warn_no_workers,
    worker_pool,
)
from ._spec import ModelSpec
from ._store import ResultsStore, model_key
from ._window import WindowArrays

__all__ = ["Cell", "fit_cells"]

_CHUNK = 24  # models (each with its m completed datasets) prepared at a time
_AHEAD = 2  # chunks handed to the workers ahead of the one being prepared


@dataclass
class Cell:
    """One model of the grid on the m completed datasets: its fits' keys, the records of
    those that could not be prepared, and (when all are in) the pooled record."""

    spec: ModelSpec
    keys: list[str] = field(default_factory=list)
    fits: list[ModelResult | None] = field(default_factory=list)
    pooled: ModelResult | None = None


@dataclass
class _State:
    """What the fitting loop keeps: the fits by key, the cells waiting for each key."""

    plan: AnalysisPlan
    pool_cell: Callable[[list[ModelResult]], ModelResult]
    progress: ProgressHook | None
    total: int
    done: int = 0
    cached: int = 0
    fits: dict[str, ModelResult] = field(default_factory=dict)
    new_fits: dict[str, ModelResult] = field(default_factory=dict)
    times: dict[str, tuple[float, float]] = field(default_factory=dict)
    waiting: dict[str, list[Cell]] = field(default_factory=dict)
    requested: set[str] = field(default_factory=set)  # keys handed to a fit
    missing: dict[int, int] = field(default_factory=dict)  # id(cell) -> fits still to come

    def arrived(self, key: str, record: ModelResult) -> None:
        self.fits[key] = record
        for cell in self.waiting.pop(key, []):
            self.missing[id(cell)] -= 1
            if not self.missing[id(cell)]:
                self.complete(cell)

    def complete(self, cell: Cell) -> None:
        records = [f or self.fits[k] for k, f in zip(cell.keys, cell.fits, strict=True)]
        cell.pooled = self.pool_cell(records)

    def fitted(self, batch: Iterable[tuple[str, FitOutcome]]) -> None:
        for key, outcome in batch:
            self.new_fits[key] = outcome.record
            self.times[key] = (outcome.seconds, outcome.cpu_seconds)
            self.done += 1
            if self.progress is not None:
                self.progress(self.done, self.total, outcome.record.model_id, outcome.record.status)
            self.arrived(key, outcome.record)


def fit_cells(
    specs: Sequence[ModelSpec],
    completed: dict[str, list[WindowArrays]],
    plan: AnalysisPlan,
    store: ResultsStore,
    pool_cell: Callable[[list[ModelResult]], ModelResult],
    not_prepared: Callable[[ModelSpec, IpdmaError, AnalysisPlan], ModelResult],
    *,
    jobs: int,
    progress: ProgressHook | None = None,
) -> tuple[list[Cell], _State]:
    """Fit every spec (already marked imputed) on each completed frame of its window and
    pool each cell's m records with ``pool_cell`` once they are in (``cell.pooled``).
    ``jobs`` worker processes (1: everything in this process)."""
    cells = [Cell(spec) for spec in specs]
    total = sum(len(completed[c.spec.window]) for c in cells)
    state = _State(plan, pool_cell, progress, total)
    chunks = [cells[i : i + _CHUNK] for i in range(0, len(cells), _CHUNK)]
    if jobs <= 1:
        for chunk in chunks:
            for batch in _prepare_chunk(chunk, completed, plan, store, state, not_prepared):
                state.fitted(_fit_batch(batch, plan))
        return cells, state
    pending: set[Future] = set()
    submitted: dict[Future, list[tuple[str, PreparedModel]]] = {}
    unsent: list[list[tuple[str, PreparedModel]]] = []  # prepared, not yet handed over
    prepared_chunks = 0
    try:
        with _single_threaded_blas(), worker_pool(jobs) as workers:
            for chunk in chunks:
                batches = _prepare_chunk(chunk, completed, plan, store, state, not_prepared)
                prepared_chunks += 1
                unsent = list(batches)
                while unsent:
                    future = workers.submit(_fit_batch, unsent[0], plan)
                    submitted[future] = unsent.pop(0)
                    pending.add(future)
                # keep the workers fed, but at most _AHEAD chunks of prepared data in flight
                while len(pending) > _AHEAD * max(len(batches), 1):
                    pending = _collect(pending, submitted, state)
            while pending:
                pending = _collect(pending, submitted, state)
    except BrokenProcessPool:
        warn_no_workers()
        for batch in [*submitted.values(), *unsent]:  # what the workers did not return
            todo = [(key, prepared) for key, prepared in batch if key not in state.fits]
            state.fitted(_fit_batch(todo, plan))
        for chunk in chunks[prepared_chunks:]:
            for batch in _prepare_chunk(chunk, completed, plan, store, state, not_prepared):
                state.fitted(_fit_batch(batch, plan))
    return cells, state


def _collect(pending: set[Future], submitted: dict, state: _State) -> set[Future]:
    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
    for future in finished:
        state.fitted(future.result())
        del submitted[future]
    return pending


def _prepare_chunk(
    chunk: list[Cell],
    completed: dict[str, list[WindowArrays]],
    plan: AnalysisPlan,
    store: ResultsStore,
    state: _State,
    not_prepared: Callable[[ModelSpec, IpdmaError, AnalysisPlan], ModelResult],
) -> list[list[tuple[str, PreparedModel]]]:
    """Prepare the chunk's models on every completed frame; take cached fits from the store
    and fits already made in this run; return the others in batches (one per model)."""
    prepared_by_cell: list[list[tuple[str, PreparedModel]]] = []
    for cell in chunk:
        todo: list[tuple[str, PreparedModel]] = []
        for arrays in completed[cell.spec.window]:
            try:
                prepared = prepare(cell.spec, arrays, plan)
            except IpdmaError as exc:
                cell.keys.append("")
                cell.fits.append(not_prepared(cell.spec, exc, plan))
                state.done += 1
                continue
            key = model_key(prepared, plan)
            cell.keys.append(key)
            cell.fits.append(None)
            todo.append((key, prepared))
        prepared_by_cell.append(todo)
    cached = store.cached(k for todo in prepared_by_cell for k, _ in todo)
    batches: list[list[tuple[str, PreparedModel]]] = []
    for cell, todo in zip(chunk, prepared_by_cell, strict=True):
        batch: list[tuple[str, PreparedModel]] = []
        state.missing[id(cell)] = 0
        for key, prepared in todo:
            if key in cached and key not in state.fits:
                state.cached += 1
                state.done += 1
                state.fits[key] = cached[key]
            if key in state.fits:
                continue
            state.missing[id(cell)] += 1
            state.waiting.setdefault(key, []).append(cell)
            if key not in state.requested:  # the same data twice: fitted once
                state.requested.add(key)
                batch.append((key, prepared))
        if state.missing[id(cell)] == 0:
            state.complete(cell)
        if batch:
            batches.append(batch)
    return batches
