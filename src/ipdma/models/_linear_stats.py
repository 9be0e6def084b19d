"""Per-trial sufficient statistics of a linear mixed model, and the fixed-effects rank check.

Every likelihood evaluation of the linear mixed model needs only the cross-products of each
trial's rows of ``W = [Z, X_local, X_global, y]``: ``W_i' W_i`` (this holds Z'Z, Z'X, Z'y,
X'X, X'y and y'y) and ``n_i``. They are computed in one pass over the rows (sorted by trial),
after which the cost of an evaluation does not depend on the number of participants.

*Trial-local* fixed columns (nonzero in the rows of one trial only, e.g. the stratified
intercepts of ``0 + C(trial)`` or ``C(trial):base``) are detected from the design and packed
into ``m`` slots per trial: slot ``s`` of trial ``i`` holds that trial's ``s``-th local column.
The normal equations then have an arrow structure (block diagonal in the local columns,
dense in the few global columns) that is eliminated trial by trial (Schur complement), so
500 stratified intercepts cost O(K), not O(K^3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import RankDeficiencyError
from ._fastmatrix import issparse
from ._formula import ModelDesign

__all__ = ["TrialStats", "check_rank", "trial_stats"]

_ALIAS_TOL = 1e-9  # relative squared norm left after projecting on earlier columns


@dataclass(frozen=True)
class TrialStats:
    """Cross-products per trial (stacked along the first axis, K trials).

    ``U = [X_local slots (m), X_global (pg), y]`` has ``r = m + pg + 1`` columns.
    ``local_index[i, s]`` is the fixed-effect column in slot ``s`` of trial ``i`` (-1 if
    the slot is unused); ``global_index`` lists the global fixed columns.
    """

    ZtZ: np.ndarray  # (K, q, q)
    ZtU: np.ndarray  # (K, q, r)
    UtU: np.ndarray  # (K, r, r)
    n: np.ndarray  # (K,)
    m: int
    local_index: np.ndarray  # (K, m) int
    global_index: np.ndarray  # (pg,) int
    p: int

    @property
    def pg(self) -> int:
        return len(self.global_index)

    @property
    def pad(self) -> np.ndarray:
        """(K, m, m) identity on unused slots (keeps their diagonal blocks invertible)."""
        unused = (self.local_index < 0).astype(float)
        return unused[:, :, None] * np.eye(self.m)[None]


def _column_trials(fm, group: np.ndarray, K: int) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest trial code among each column's nonzero rows (K, -1 if empty);
    ``group`` must be sorted (it is: design rows are sorted by trial)."""
    if issparse(fm):
        fm = fm.tocsc()
        fm.eliminate_zeros()
        counts = np.diff(fm.indptr)
        g = group[fm.indices]
        gmin = np.full(fm.shape[1], K)
        gmax = np.full(fm.shape[1], -1)
        nonempty = counts > 0
        starts = fm.indptr[:-1][nonempty]
        gmin[nonempty] = np.minimum.reduceat(g, starts)
        gmax[nonempty] = np.maximum.reduceat(g, starts)
        return gmin, gmax
    starts = np.concatenate([[0], np.flatnonzero(np.diff(group)) + 1])  # one per trial
    # per trial (rows) and column: any nonzero value (rows are contiguous per trial)
    nz = np.logical_or.reduceat(fm != 0, starts, axis=0)
    present = group[starts]
    any_nz = nz.any(axis=0)
    gmin = np.where(any_nz, present[nz.argmax(axis=0)], K)
    gmax = np.where(any_nz, present[len(nz) - 1 - nz[::-1].argmax(axis=0)], -1)
    return gmin, gmax


def trial_stats(design: ModelDesign) -> TrialStats:
    """Build the per-trial cross-products of ``[Z, X_local, X_global, y]`` in one pass."""
    fm, group, K = design.fixed_matrix, design.group, design.ngroups
    p = fm.shape[1]
    gmin, gmax = _column_trials(fm, group, K)
    is_local = (gmin == gmax) & (gmax >= 0)
    if K == 1:
        is_local[:] = False
    local_cols = np.flatnonzero(is_local)
    global_index = np.flatnonzero(~is_local)
    owner = gmin[local_cols]
    slot = np.zeros(len(local_cols), dtype=np.intp)
    counts = np.zeros(K, dtype=np.intp)
    for k, t in enumerate(owner):  # cheap: one integer step per local column
        slot[k] = counts[t]
        counts[t] += 1
    m = int(counts.max()) if len(local_cols) else 0
    local_index = np.full((K, m), -1, dtype=np.intp)
    local_index[owner, slot] = local_cols

    n = design.nobs
    q = design.Z.shape[1]
    width = q + m + len(global_index) + 1
    W = np.empty((n, width))
    W[:, :q] = design.Z
    if m:
        if issparse(fm):  # scatter the nonzeros (CSC) straight into their slots
            import scipy.sparse as sp  # already imported: the design is sparse

            local = sp.csc_matrix(fm[:, local_cols])
            local.sum_duplicates()
            per_column = np.diff(local.indptr)
            nonzero_slot = np.repeat(slot, per_column) if m > 1 else None
            buffer = np.empty(n)  # slot by slot, contiguous (see the global columns below)
            for position in range(m):
                chosen = slice(None) if nonzero_slot is None else nonzero_slot == position
                buffer[:] = 0.0
                buffer[local.indices[chosen]] = local.data[chosen]
                W[:, q + position] = buffer
        else:  # row r of trial i takes slot s from column local_index[i, s]
            rows = np.arange(n)
            for position in range(m):
                column = local_index[group, position]
                W[:, q + position] = np.where(column >= 0, fm[rows, column], 0.0)
    glob = fm[:, global_index]
    if issparse(glob):
        import scipy.sparse as sp

        glob = sp.csc_matrix(glob)
        glob.sum_duplicates()
        # column by column into a contiguous buffer (a 2-D scatter into the row-major W
        # costs 2-3x more at 3 million rows); a column storing every row is a plain copy
        column = np.empty(n)
        for j in range(len(global_index)):
            lo, hi = glob.indptr[j], glob.indptr[j + 1]
            if hi - lo == n:  # indices sorted and unique after sum_duplicates: rows 0..n-1
                W[:, q + m + j] = glob.data[lo:hi]
                continue
            column[:] = 0.0
            column[glob.indices[lo:hi]] = glob.data[lo:hi]
            W[:, q + m + j] = column
    else:
        W[:, q + m : width - 1] = glob
    W[:, -1] = design.y

    starts = design.group_starts
    cross = np.empty((K, width, width))
    for i in range(K):
        block = W[starts[i] : starts[i + 1]]
        cross[i] = block.T @ block
    return TrialStats(
        ZtZ=np.ascontiguousarray(cross[:, :q, :q]),
        ZtU=np.ascontiguousarray(cross[:, :q, q:]),
        UtU=np.ascontiguousarray(cross[:, q:, q:]),
        n=np.diff(starts).astype(float),
        m=m,
        local_index=local_index,
        global_index=global_index,
        p=p,
    )


def _greedy_aliased(gram: np.ndarray, scale: np.ndarray) -> list[int]:
    """Columns (in order) that are linear combinations of earlier kept columns."""
    kept: list[int] = []
    aliased: list[int] = []
    for j in range(gram.shape[0]):
        if scale[j] <= 0:
            aliased.append(j)
            continue
        if kept:
            sub = gram[np.ix_(kept, kept)]
            cross = gram[kept, j]
            resid = gram[j, j] - cross @ np.linalg.solve(sub, cross)
        else:
            resid = gram[j, j]
        if resid <= _ALIAS_TOL * scale[j]:
            aliased.append(j)
        else:
            kept.append(j)
    return aliased


def check_rank(stats: TrialStats, names: tuple[str, ...], group_levels: tuple) -> None:
    """Raise RankDeficiencyError naming the aliased fixed-effect columns, if any.

    Uses X'X from the trial statistics with the same arrow elimination as the fit: local
    columns are checked within their trial, global ones after projecting out the locals.
    """
    m = stats.m
    aliased: list[int] = []
    trials: list[str] = []
    XtX = stats.UtU[:, :-1, :-1]
    if m:
        for i in np.flatnonzero((np.diagonal(XtX[:, :m, :m], axis1=1, axis2=2) <= 0).any(1)):
            used = stats.local_index[i] >= 0
            for s in np.flatnonzero(used):
                if XtX[i, s, s] <= 0:
                    aliased.append(int(stats.local_index[i, s]))
                    trials.append(str(group_levels[i]))
        if m > 1 and not aliased:
            for trial in range(len(stats.n)):
                used = np.flatnonzero(stats.local_index[trial] >= 0)
                sub = XtX[trial][np.ix_(used, used)]
                for position in _greedy_aliased(sub, np.diag(sub)):
                    aliased.append(int(stats.local_index[trial, used[position]]))
                    trials.append(str(group_levels[trial]))
    if not aliased:
        scale = np.einsum("kjj->j", XtX[:, m:, m:])
        if m == 1:  # one local column per trial: its Schur step is a division
            a = XtX[:, 0, 0] + stats.pad[:, 0, 0]
            B = XtX[:, 0, 1:]
            schur = XtX[:, 1:, 1:].sum(0) - B.T @ (B / a[:, None])
        elif m:
            A = XtX[:, :m, :m] + stats.pad
            B = XtX[:, :m, m:]
            schur = XtX[:, m:, m:].sum(0) - np.einsum("kab,kac->bc", B, np.linalg.solve(A, B))
        else:
            schur = XtX.sum(0)
        aliased = [int(stats.global_index[j]) for j in _greedy_aliased(schur, scale)]
    if aliased:
        cols = ", ".join(names[j] for j in aliased)
        raise RankDeficiencyError(
            f"the fixed effects are rank deficient: {cols} "
            f"{'is a linear combination' if len(aliased) == 1 else 'are linear combinations'} "
            "of the other columns (aliased)",
            variable=names[aliased[0]],
            trial=", ".join(sorted(set(trials))) if trials else None,
            hint="drop the aliased term(s) from the formula, or check that the covariate varies",
        )
