"""The grid's models on m completed datasets: prepared in this process while the worker
processes fit, and pooled as soon as a model's m fits are in (:mod:`._imputed`).

Preparing a model (its rows, centring, formula) takes about a millisecond and the m x models
of an imputed grid are tens of thousands: prepared all first, the workers waited for this
process and the prepared data of every fit sat in memory at once. Here the models are
prepared a chunk at a time, each chunk's fits are handed to the workers, and the next chunk
is prepared while they fit; a model is pooled when its last fit arrives. Each fit comes back
as a lean :class:`ImputedFit` (the first completed dataset's also as a full record, which
labels the pooled record; :mod:`._imputed_records`).

The results store caches the pooled record of each model, under a key made of the keys of
its m fits (:func:`pooled_key`): a second run prepares the m datasets of each model to find
their keys, and fits nothing whose data, specification and code are unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from ..errors import IpdmaError
from ._design import PreparedModel, prepare
from ._fit import ImputedOutcome, fit_imputed
from ._imputed_records import ImputedFit, pool_fits
from ._plan import AnalysisPlan
from ._records import ModelResult
from ._runner import ProgressHook, _single_threaded_blas, warn_no_workers, worker_pool
from ._spec import ModelSpec
from ._store import ResultsStore, model_key, pooled_key
from ._window import WindowArrays

__all__ = ["Cell", "fit_cells"]

_CHUNK = 24  # models (each with its m completed datasets) prepared at a time
_AHEAD = 2  # chunks handed to the workers ahead of the one being prepared

Batch = list[tuple[str, PreparedModel, bool]]  # (fit key, model, full record wanted)


@dataclass
class Cell:
    """One model of the grid on the m completed datasets: the keys of its fits (``""`` for a
    dataset on which it could not be prepared), its fits as they arrive, the full record of
    the first dataset, and (when all are in) the pooled record and its key."""

    spec: ModelSpec
    keys: list[str] = field(default_factory=list)
    fits: list[ImputedFit | None] = field(default_factory=list)
    first: ModelResult | None = None
    key: str = ""
    pooled: ModelResult | None = None
    fitted: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0


@dataclass
class _State:
    """What the fitting loop keeps: the cells waiting for each fit key, and the pooled
    records made in this run (for the results store) with the time their fits took."""

    plan: AnalysisPlan
    progress: ProgressHook | None
    total: int
    done: int = 0
    cached: int = 0
    new_fits: dict[str, ModelResult] = field(default_factory=dict)
    times: dict[str, tuple[float, float]] = field(default_factory=dict)
    waiting: dict[str, list[tuple[Cell, int]]] = field(default_factory=dict)
    missing: dict[int, int] = field(default_factory=dict)  # id(cell) -> fits still to come

    def fitted(self, batch: list[tuple[str, ImputedOutcome]]) -> None:
        for key, outcome in batch:
            for number, (cell, index) in enumerate(self.waiting.pop(key, [])):
                cell.fits[index] = outcome.fit
                if outcome.record is not None and index == 0:
                    cell.first = outcome.record
                if number == 0:  # the same data twice was fitted once
                    cell.fitted += 1
                    cell.seconds += outcome.seconds
                    cell.cpu_seconds += outcome.cpu_seconds
                self.missing[id(cell)] -= 1
                self.done += 1
                if self.progress is not None:
                    self.progress(self.done, self.total, cell.spec.id, outcome.fit.status)
                if not self.missing[id(cell)]:
                    self.complete(cell)

    def complete(self, cell: Cell) -> None:
        assert cell.first is not None  # the first dataset's full record is in
        del self.missing[id(cell)]
        fits = [fit for fit in cell.fits if fit is not None]
        cell.pooled = pool_fits(cell.first, fits)
        cell.fits = []  # the pooled record is what is kept
        if cell.fitted:  # not when no dataset could be prepared (no fit was made)
            self.new_fits[cell.key] = cell.pooled
            self.times[cell.key] = (cell.seconds, cell.cpu_seconds)


def fit_batch(batch: Batch, plan: AnalysisPlan) -> list[tuple[str, ImputedOutcome]]:
    """Fit a batch (in a worker process): each model's lean record, and the full record of
    those asked for.

    A batch is one model on its m completed datasets, fitted in order in one worker. A
    linear model's fits after the first converged one start from its estimates
    (:func:`._fit.warm_start`: the same optimum, found in about 15% less CPU); the first is
    fitted from the engine's default start, so the results do not depend on the order in
    which batches are fitted or on the number of workers.
    """
    out: list[tuple[str, ImputedOutcome]] = []
    start = None
    for key, prepared, full in batch:
        outcome, following = fit_imputed(prepared, plan, full=full, start=start)
        if start is None:  # the first converged linear fit starts all that follow
            start = following
        out.append((key, outcome))
    return out


def fit_cells(
    specs: Sequence[ModelSpec],
    completed: dict[str, list[WindowArrays]],
    plan: AnalysisPlan,
    store: ResultsStore,
    not_prepared: Callable[[ModelSpec, IpdmaError, AnalysisPlan], ModelResult],
    *,
    jobs: int,
    progress: ProgressHook | None = None,
) -> tuple[list[Cell], _State]:
    """Fit every spec (already marked imputed) on each completed frame of its window and
    pool each cell's m fits once they are in (``cell.pooled``), or take the pooled record
    from the results store. ``jobs`` worker processes (1: everything in this process)."""
    cells = [Cell(spec) for spec in specs]
    total = sum(len(completed[c.spec.window]) for c in cells)
    state = _State(plan, progress, total)
    chunks = [cells[i : i + _CHUNK] for i in range(0, len(cells), _CHUNK)]
    if jobs <= 1:
        for chunk in chunks:
            for batch in _prepare_chunk(chunk, completed, plan, store, state, not_prepared):
                state.fitted(fit_batch(batch, plan))
        return cells, state
    pending: set[Future] = set()
    submitted: dict[Future, Batch] = {}
    unsent: list[Batch] = []  # prepared, not yet handed over
    prepared_chunks = 0
    try:
        with _single_threaded_blas(), worker_pool(jobs) as workers:
            for chunk in chunks:
                batches = _prepare_chunk(chunk, completed, plan, store, state, not_prepared)
                prepared_chunks += 1
                unsent = list(batches)
                while unsent:
                    future = workers.submit(fit_batch, unsent[0], plan)
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
            state.fitted(fit_batch([item for item in batch if item[0] in state.waiting], plan))
        for chunk in chunks[prepared_chunks:]:
            for batch in _prepare_chunk(chunk, completed, plan, store, state, not_prepared):
                state.fitted(fit_batch(batch, plan))
    return cells, state


def _collect(pending: set[Future], submitted: dict[Future, Batch], state: _State) -> set[Future]:
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
) -> list[Batch]:
    """Prepare the chunk's models on every completed frame; take the pooled records of
    unchanged models from the store; return the fits of the others in batches (one per
    model; a dataset whose data equal an earlier one's is fitted once)."""
    prepared_by_cell: list[list[PreparedModel | None]] = []
    for cell in chunk:
        models: list[PreparedModel | None] = []
        for index, arrays in enumerate(completed[cell.spec.window]):
            try:
                prepared = prepare(cell.spec, arrays, plan)
            except IpdmaError as exc:
                record = not_prepared(cell.spec, exc, plan)
                cell.keys.append("")
                cell.fits.append(ImputedFit.of(record))
                if index == 0:
                    cell.first = record
                models.append(None)
                continue
            cell.keys.append(model_key(prepared, plan))
            cell.fits.append(None)
            models.append(prepared)
        cell.key = pooled_key(cell.spec, cell.keys)
        prepared_by_cell.append(models)
    cached = store.cached(c.key for c in chunk if "" not in c.keys)
    batches: list[Batch] = []
    for cell, models in zip(chunk, prepared_by_cell, strict=True):
        if cell.key in cached:
            cell.pooled, cell.fits = cached[cell.key], []
            state.cached += 1
            state.done += len(cell.keys)
            continue
        batch: Batch = []
        state.missing[id(cell)] = 0
        for index, (key, model) in enumerate(zip(cell.keys, models, strict=True)):
            if model is None:
                state.done += 1
                continue
            state.missing[id(cell)] += 1
            if key not in state.waiting:  # the same data twice: fitted once
                batch.append((key, model, index == 0))
            state.waiting.setdefault(key, []).append((cell, index))
        if state.missing[id(cell)] == 0:
            state.complete(cell)
        if batch:
            batches.append(batch)
    return batches
