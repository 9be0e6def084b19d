"""Fit many prepared models over the available cores (processes), reporting progress.

``progress`` is a callable ``progress(done, total, model_id, status)`` with ``status`` one of
``"fitted"``, ``"failed"``; the command-line interface turns it into a progress bar, the
library never prints.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import warnings
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from ..errors import IpdmaWarning
from ._design import PreparedModel
from ._fit import FitOutcome, fit_prepared
from ._plan import AnalysisPlan

__all__ = ["ProgressHook", "available_cores", "fit_all", "warn_no_workers"]

ProgressHook = Callable[[int, int, str, str], None]


def available_cores() -> int:
    """Cores this process may use (respects CPU affinity)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _fit_batch(
    batch: list[tuple[str, PreparedModel]], plan: AnalysisPlan
) -> list[tuple[str, FitOutcome]]:
    return [(key, fit_prepared(prepared, plan)) for key, prepared in batch]


def _cost(prepared: PreparedModel) -> float:
    """A rough relative cost, to start the slowest models first (better load balance)."""
    weight = 4.0 if prepared.family == "binomial" else 1.0
    return weight * len(prepared.data) * (1 + prepared.formula.count("|"))


def fit_all(
    todo: list[tuple[str, PreparedModel]],
    plan: AnalysisPlan,
    *,
    jobs: int | None = None,
    progress: ProgressHook | None = None,
    offset: int = 0,
    total: int | None = None,
) -> dict[str, FitOutcome]:
    """Fit every ``(key, prepared)`` pair; returns ``{key: outcome}``.

    ``jobs`` worker processes (default: all available cores; 1 fits in this process).
    ``offset``/``total`` let the caller count cached models in the progress display.
    """
    total = len(todo) + offset if total is None else total
    jobs = available_cores() if jobs is None else max(1, int(jobs))
    todo = sorted(todo, key=lambda item: -_cost(item[1]))
    records: dict[str, FitOutcome] = {}
    done = offset

    def report(batch_records: list[tuple[str, FitOutcome]]) -> None:
        nonlocal done
        for key, outcome in batch_records:
            records[key] = outcome
            done += 1
            if progress is not None:
                progress(done, total, outcome.record.model_id, outcome.record.status)

    if jobs == 1 or len(todo) < 4:
        for item in todo:
            report(_fit_batch([item], plan))
        return records
    batches = _batches(todo, jobs)
    try:
        with _single_threaded_blas(), worker_pool(jobs) as pool:
            pending = {pool.submit(_fit_batch, batch, plan) for batch in batches}
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    report(future.result())
    except BrokenProcessPool:
        warn_no_workers()
        for item in todo:
            if item[0] not in records:
                report(_fit_batch([item], plan))
    return records


def worker_pool(jobs: int) -> ProcessPoolExecutor:
    """The pool of ``jobs`` worker processes fits run in (forkserver; each worker ends when
    the process that made the pool dies, see :func:`_die_with_parent`)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["ipdma.models", "ipdma.analysis._fit"])
    return ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=context,
        initializer=_die_with_parent,
        initargs=(os.getpid(),),
    )


def _die_with_parent(parent: int) -> None:
    """Worker start-up: end this worker as soon as the process that started the pool dies.

    Workers are children of the forkserver, not of the analysing process, so a SIGKILL of
    ``ipdma analyze`` would otherwise leave them (and through them the forkserver and the
    resource tracker) running. A daemon thread polls the parent's pid once a second; the
    forkserver and the resource tracker end by themselves once no worker holds their pipes.
    """
    import threading
    import time

    def watch() -> None:
        while True:
            time.sleep(1.0)
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # pid reused by another user's process: parent gone
                os._exit(1)

    threading.Thread(target=watch, name="ipdma-parent-watch", daemon=True).start()


_BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def _single_threaded_blas():
    """Workers use one BLAS thread each: the models are small, and threaded BLAS on top of
    one process per core oversubscribes the cores (measured: about 2x slower fits)."""
    saved = {name: os.environ.get(name) for name in _BLAS_THREAD_VARIABLES}
    for name in _BLAS_THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _batches(
    todo: list[tuple[str, PreparedModel]], jobs: int
) -> list[list[tuple[str, PreparedModel]]]:
    """Small batches (about 4 models) keep progress smooth and the pickling overhead low."""
    size = max(1, min(4, len(todo) // (jobs * 8) or 1))
    return [todo[i : i + size] for i in range(0, len(todo), size)]


def warn_no_workers() -> None:
    """The warning when the worker processes cannot start (the fits continue in this
    process); shared by the grid and the imputed grid."""
    warnings.warn(
        "the worker processes could not start (a script that calls ipdma.analysis.run "
        "needs an `if __name__ == '__main__':` guard); fitting in this process instead",
        IpdmaWarning,
        stacklevel=4,
    )
