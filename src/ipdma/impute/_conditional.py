"""One chain of the chained equations: the conditional model of each incomplete variable
(its predictors, its kind) and the sweeps over the variables (see :mod:`._chained`).

Predictors of a variable v: (1, T, w, T w), standardized, with w every other outcome and
covariate centred at its mean in the trial and arm; so within each trial the model is v's regression on the others in each arm
separately, with a residual variance per trial and arm for a continuous v (:mod:`._twostage`),
and a continuation-ratio model for ordered categories (:mod:`._ordered`).
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Literal

import numpy as np
from threadpoolctl import threadpool_limits

from ..errors import ModelError
from ._ordered import draw_ordered
from ._twostage import FitCache, TrialLayout, draw_values, fit_trials

__all__ = ["ChainSetup", "VariableKind", "run_chain", "run_chains"]

VariableKind = Literal["continuous", "binary", "ordered"]


@dataclass(frozen=True)
class ChainSetup:
    data: dict[str, np.ndarray]
    treat: np.ndarray
    arm: np.ndarray
    trial: np.ndarray
    layout: TrialLayout
    targets: tuple[str, ...]
    outcomes: tuple[str, ...]
    baselines: tuple[str, ...]
    complete: tuple[str, ...]
    order: list[str]
    kinds: dict[str, VariableKind]
    missing: dict[str, np.ndarray]
    random_slopes: bool


ChainOutput = tuple[dict[str, np.ndarray], list[tuple[str, int, int, float]]]


def run_chains(
    setup: ChainSetup, root: np.random.SeedSequence, m: int, iterations: int, jobs: int
) -> list[ChainOutput]:
    """The m chains (one per completed dataset, each seeded by its own child of ``root``, so
    the result does not depend on ``jobs``): the imputed values and the chain means."""
    tasks = [(setup, child, iterations, index) for index, child in enumerate(root.spawn(m))]
    outputs = _parallel(tasks, jobs) if jobs > 1 and m > 1 else None
    return outputs if outputs is not None else [run_chain(task) for task in tasks]


def _parallel(tasks: list, jobs: int) -> list | None:
    """The chains in worker processes; None when workers cannot start (a script without an
    ``if __name__ == "__main__":`` guard), and the caller runs them here instead."""
    context = multiprocessing.get_context("forkserver")
    try:
        with ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=context) as pool:
            return list(pool.map(run_chain, tasks))
    except BrokenProcessPool:
        return None


def run_chain(
    task: tuple[ChainSetup, np.random.SeedSequence, int, int],
) -> tuple[dict[str, np.ndarray], list[tuple[str, int, int, float]]]:
    """One chain (a worker's task): the imputed values of the targets and the chain means."""
    setup, seed, iterations, index = task
    rows: list[tuple[str, int, int, float]] = []
    # small matrices: threaded BLAS only adds overhead (and contends with other processes)
    with threadpool_limits(1):
        current = _chain(setup, np.random.default_rng(seed), iterations, index, rows)
    return {name: current[name][setup.missing[name]] for name in setup.targets}, rows


def _chain(
    setup: ChainSetup,
    rng: np.random.Generator,
    iterations: int,
    index: int,
    chain_rows: list[tuple[str, int, int, float]],
) -> dict[str, np.ndarray]:
    """One chain: start values, then ``iterations`` sweeps over the incomplete variables."""
    current = {name: column.copy() for name, column in setup.data.items()}
    for name in setup.order:
        current[name][setup.missing[name]] = _start_values(current[name], setup.trial, rng)
    # each model's observed rows and a binary model's last estimates, where its next fit
    # starts (a chain is sequential: the result for a seed does not depend on the processes)
    caches: dict[str, dict[int, FitCache]] = {name: {} for name in setup.order}
    design = _Design(setup, current)
    for iteration in range(iterations):
        for name in setup.order:
            x = design.x(name)
            try:
                draws = _draw(name, x, setup, rng, caches[name])
            except np.linalg.LinAlgError as exc:
                raise _failed(name, index, iteration, str(exc)) from exc
            if draws is None:
                continue
            if not np.isfinite(draws).all():
                raise _failed(name, index, iteration, "the draws are not finite numbers")
            current[name][setup.missing[name]] = draws
            design.update(name, current[name])
            if name in setup.targets:
                mean = float(current[name][setup.missing[name]].mean())
                chain_rows.append((name, index, iteration + 1, mean))
    return current


def _draw(
    name: str,
    x: np.ndarray,
    setup: ChainSetup,
    rng: np.random.Generator,
    caches: dict[int, FitCache] | None = None,
) -> np.ndarray | None:
    """One draw of the missing values of ``name`` from its conditional model (None when no
    trial has enough observed values to fit it: the values stay as they are). ``caches``
    keep the model's fit between sweeps (by ordered step; ``fit_trials``)."""
    kind = setup.kinds[name]
    observed = setup.data[name]
    min_rows = x.shape[1] + 3
    missing = setup.missing[name]
    # the intercept and the treatment (each arm's level of v) vary between trials; the
    # slopes too only if asked (see impute's random_slopes)
    random = np.arange(x.shape[1]) < 2 if not setup.random_slopes else None
    if kind == "ordered":
        return draw_ordered(x, observed, missing, setup.layout, setup.arm, rng, min_rows, random,
                            caches)  # fmt: skip
    cache = None if caches is None else caches.setdefault(0, FitCache())
    models = fit_trials(x, observed, setup.layout, kind, min_rows, setup.arm, random, cache)
    if not models.observed.any():
        return None
    draws = draw_values(x, missing, setup.layout, models, kind, rng, setup.arm, random)
    return _in_range(draws, observed, kind)


def _failed(name: str, chain: int, iteration: int, detail: str) -> ModelError:
    return ModelError(
        f"the imputation model of {name} could not be fitted (chain {chain + 1}, iteration "
        f"{iteration + 1}): {detail}",
        variable=name,
        hint="look for extreme, constant or collinear values of the covariates, leave the "
        "variable out of analysis.modifiers, or set analysis.imputation.m = 0 (complete cases)",
    )


def _start_values(column: np.ndarray, trial: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random draws from the observed values of the same trial (any trial if none)."""
    out = np.empty(int(np.isnan(column).sum()))
    rows = np.flatnonzero(np.isnan(column))
    pool_all = column[~np.isnan(column)]
    for k in np.unique(trial[rows]):
        sel = trial[rows] == k
        own = column[(trial == k) & ~np.isnan(column)]
        source = own if len(own) else pool_all
        out[sel] = rng.choice(source, size=int(sel.sum()))
    return out


def _predictors(name: str, current: dict[str, np.ndarray], setup: ChainSetup) -> np.ndarray:
    """(1, T, w, T w) standardized, with w every other outcome and covariate centred at its
    mean in the participant's trial and arm: the by-arm regression of ``name``
    (:class:`_Design`)."""
    return _Design(setup, current).x(name)


class _Design:
    """The predictors of every conditional model of a chain, kept up to date column by
    column: (1, T, w_1 .. w_V, T w_1 .. T w_V), each column standardized, with w_v the
    outcome or covariate v centred at its mean in the participant's trial and arm. The
    model of v takes every column but w_v and T w_v; after v's draw only its two columns are
    computed again (the others are unchanged, the complete ones never change).

    Centring within trial and arm makes the intercept and the treatment coefficient the
    levels of v in each arm of a trial. Uncentred, they were the levels at the consortium's
    mean outcome, which depend on the trial's own outcome level and treatment effect; a
    trial that never measured v drew them without knowing either, and its imputed values
    differed between the arms by chance (a spurious imbalance between randomized arms, some
    7 times the sampling variance in the validity study) that attenuated the within-trial
    interaction. By randomization the arms' levels agree, so the treatment coefficient is
    near 0 in every trial and so are the imputed imbalances.
    """

    def __init__(self, setup: ChainSetup, current: dict[str, np.ndarray]) -> None:
        self.treat = setup.treat
        self.cells = setup.trial * 2 + setup.arm
        size = np.bincount(self.cells, minlength=2 * setup.layout.slot.shape[0])
        self.size = np.maximum(size, 1).astype(float)
        names = tuple(dict.fromkeys((*setup.outcomes, *setup.targets, *setup.complete)))
        self.index = {v: j for j, v in enumerate(names)}
        n_vars = len(names)
        self.columns = np.empty((len(self.treat), 2 + 2 * n_vars))
        self.columns[:, 0] = 1.0
        self.columns[:, 1] = _standardized(self.treat)
        for v in names:
            self.update(v, current[v])
        everything = np.arange(2 + 2 * n_vars)
        self.take = {
            v: everything[(everything != 2 + j) & (everything != 2 + n_vars + j)]
            for v, j in self.index.items()
        }

    def update(self, name: str, column: np.ndarray) -> None:
        """The columns of ``name`` from its current values."""
        j, n_vars = self.index[name], len(self.index)
        mean = np.bincount(self.cells, weights=column, minlength=len(self.size)) / self.size
        centred = column - mean[self.cells]
        self.columns[:, 2 + j] = _standardized(centred)
        self.columns[:, 2 + n_vars + j] = _standardized(self.treat * centred)

    def x(self, name: str) -> np.ndarray:
        """The predictors of the model of ``name`` (rows: participants)."""
        return self.columns[:, self.take[name]]


def _standardized(column: np.ndarray) -> np.ndarray:
    scale = column.std()
    return (column - column.mean()) / (scale if scale > 0 else 1.0)


def _in_range(draws: np.ndarray, observed: np.ndarray, kind: VariableKind) -> np.ndarray:
    """Continuous draws are kept inside the observed range (e.g. 0-100 scales)."""
    if kind != "continuous":
        return draws
    seen = observed[~np.isnan(observed)]
    return np.clip(draws, seen.min(), seen.max())
