"""Coordinator side: the sites' blocks of one model stacked into one raw block per trial.

Sites may differ in the raw columns they send (a categorical modifier's levels: each site
has its own); the union is formed and a column a site lacks is 0 in its trials (its mean
and sums are 0). A subgroup model arrives as one block per trial and category of the
modifier (``cells``); each trial is rebuilt in the raw columns ``[base..., cell==k,
treat*cell==k, ...]`` from the cells it keeps: within cell l the indicator of category k is
the constant ``[k == l]`` and its product with the treatment is ``[k == l] t``, so each
cell's block maps linearly (``Q_l' G_l Q_l``) into the trial's block, centred at the means
over all its cells (``analysis._design`` centres before it drops the rows of a category in
which no trial has both arms) and summed over the cells kept. No sum is recomputed from
raw products, so no precision is lost to cancellation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._file import ModelSummary
from ._layout import product

__all__ = ["Stacked", "cell_column", "stack", "stack_cells"]


@dataclass(frozen=True)
class Stacked:
    """Raw blocks of one model, one per trial (sorted), in one set of columns.

    ``means``: the trial means used for centring (over all the trial's rows of the model);
    ``gram``: the Gram matrix of ``[1, r - means]`` over the rows kept (``gram[:, 0, 0]`` is
    the number of rows kept). ``cell_n`` / ``cell_treated`` (subgroup models): rows and
    exercise-arm rows per trial and category of ``levels``.
    """

    columns: tuple[str, ...]
    trials: tuple[str, ...]
    means: np.ndarray
    gram: np.ndarray
    levels: tuple[str, ...] = ()
    cell_n: np.ndarray | None = None
    cell_treated: np.ndarray | None = None

    @property
    def n(self) -> np.ndarray:
        return self.gram[:, 0, 0]


def cell_column(k: int) -> str:
    """The raw indicator column of category k of a subgroup model."""
    return f"cell=={k}"


def stack(parts: list[ModelSummary]) -> Stacked:
    """The sites' per-trial blocks in the union of their columns (trials sorted)."""
    columns: list[str] = []
    for m in parts:
        for c in m.columns[:-1]:
            if c not in columns:
                columns.append(c)
    columns.append(parts[0].columns[-1])
    index = {c: j for j, c in enumerate(columns)}
    K, r = sum(len(m.trials) for m in parts), len(columns)
    means, gram, trials = np.zeros((K, r)), np.zeros((K, r, r)), []
    row = 0
    for m in parts:
        pos = np.array([index[c] for c in m.columns])
        k = len(m.trials)
        means[row : row + k][:, pos] = m.means
        gram[np.ix_(np.arange(row, row + k), pos, pos)] = m.gram
        trials += list(m.trials)
        row += k
    order = np.argsort(np.asarray(trials, dtype=str), kind="stable")
    return Stacked(
        columns=tuple(columns),
        trials=tuple(np.asarray(trials, dtype=str)[order]),
        means=means[order],
        gram=gram[order],
    )


def stack_cells(parts: list[ModelSummary], levels: tuple[str, ...]) -> Stacked:
    """Per-trial blocks of a subgroup model from its per-category blocks (see the module
    docstring); the rows of a category stay in the model when a trial has both arms in it."""
    base = parts[0].columns
    rb, L = len(base), len(levels)
    treat = base.index("treat")
    columns = [*base[:-1]]
    for k in range(L):
        columns += [cell_column(k), product("treat", cell_column(k))]
    columns.append(base[-1])
    r = len(columns)
    level_of = {level: k for k, level in enumerate(levels)}
    blocks: dict[str, list[tuple[int, ModelSummary, int]]] = {}
    for m in parts:
        for j, (trial, cell) in enumerate(zip(m.trials, m.cells, strict=True)):
            blocks.setdefault(trial, []).append((level_of[cell], m, j))
    trials = sorted(blocks)
    K = len(trials)
    means, gram = np.zeros((K, r)), np.zeros((K, r, r))
    cell_n, cell_treated = np.zeros((K, L)), np.zeros((K, L))
    for i, trial in enumerate(trials):
        for k, m, j in blocks[trial]:
            cell_n[i, k] += m.n[j]
            cell_treated[i, k] += m.n[j] * m.means[j, treat]
            means[i] += m.n[j] * (_cell_map(rb, r, treat, k).T @ m.means[j])
    means /= cell_n.sum(axis=1)[:, None]
    means[:, 0] = 1.0
    kept = np.any((cell_treated > 0.5) & (cell_treated < cell_n - 0.5), axis=0)
    for i, trial in enumerate(trials):
        for k, m, j in blocks[trial]:
            if kept[k]:
                M = _cell_map(rb, r, treat, k)
                Q = M.copy()  # [1, base - m_cell] Q = [1, trial's raw columns - means[i]]
                Q[0, :] = M.T @ m.means[j] - means[i]
                Q[0, 0] = 1.0
                gram[i] += Q.T @ m.gram[j] @ Q
    return Stacked(
        columns=tuple(columns),
        trials=tuple(trials),
        means=means,
        gram=gram,
        levels=levels,
        cell_n=cell_n,
        cell_treated=cell_treated,
    )


def _cell_map(rb: int, r: int, treat: int, k: int) -> np.ndarray:
    """M with (trial's raw columns) = (base columns of a row of category k) @ M."""
    M = np.zeros((rb, r))
    M[: rb - 1, : rb - 1] = np.eye(rb - 1)
    M[rb - 1, r - 1] = 1.0  # the outcome, last
    M[0, rb - 1 + 2 * k] = 1.0  # the indicator of category k: the constant 1
    M[treat, rb + 2 * k] = 1.0  # treat * indicator: the treatment
    return M
