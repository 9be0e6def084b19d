"""From a ModelDesign to the arrays of the AGHQ engine: checks, trial-local columns, separation.

Trial-local columns (nonzero in the rows of one trial only, e.g. the stratified intercepts of
``0 + C(trial)``) are detected from the design itself, whatever the formula, and packed into
``m`` slots per trial: slot ``s`` of trial ``i`` is that trial's ``s``-th local column.

Separation (the maximum-likelihood estimate is infinite)
--------------------------------------------------------
* A trial with no events, or only events, whose local columns include its intercept: its
  intercept's likelihood increases without bound (towards -inf / +inf), and in the limit
  the trial's likelihood is exactly 1 whatever the other parameters are. The fit therefore
  uses the limit: the trial is left out of the likelihood (it contributes log-likelihood 0,
  the supremum), its local coefficients are reported as NaN ("not estimable"), and a
  ``SeparationWarning`` names it. Shared estimates are the exact limit of the MLE.
* Such a trial without trial-local columns, or a trial with no events / only events in one
  level of a binary covariate (e.g. one arm): the estimates stay finite (the shared
  coefficients are informed by the other trials, the random effects are integrated out);
  a ``SeparationWarning`` names the trial and the variable, and the fit proceeds.
* Complete or quasi-complete separation of the fixed effects by the whole data set (e.g. a
  covariate that predicts the outcome perfectly): Newton's method stops once a coefficient
  moves a typical linear predictor by more than 200 logit units, the separation is
  confirmed by a linear programme (``detect_separation``), a ``SeparationWarning`` names
  the terms and trials involved, and the result holds that last, finite iterate with
  ``converged=False`` (estimates along the separating direction are arbitrary; the MLE
  is infinite there).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..errors import InputError
from ._aghq import BinomialData
from ._family import BINOMIAL, GLMFamily
from ._formula import ModelDesign

__all__ = ["Prepared", "detect_separation", "prepare"]


@dataclass(frozen=True)
class Prepared:
    """Engine arrays plus the bookkeeping needed to map results back to the design."""

    data: BinomialData
    shared_index: np.ndarray  # design columns of the shared coefficients
    local_index: np.ndarray  # (K_used, m) design column of each local slot, -1 if none
    used_trials: np.ndarray  # design trial codes kept in the likelihood
    excluded: tuple[str, ...]  # trial labels left out (no events / only events)
    messages: tuple[str, ...]  # separation warnings (already worded)


def _column_owner(fm, group: np.ndarray, K: int) -> tuple[np.ndarray, np.ndarray]:
    """For each column the smallest and largest trial code among its nonzero rows."""
    if sp.issparse(fm):
        csc = sp.csc_matrix(fm)
        csc.eliminate_zeros()
        gmin = np.full(csc.shape[1], K)
        gmax = np.full(csc.shape[1], -1)
        for j in range(csc.shape[1]):
            rows = csc.indices[csc.indptr[j] : csc.indptr[j + 1]]
            if len(rows):
                gmin[j], gmax[j] = group[rows].min(), group[rows].max()
        return gmin, gmax
    nz = np.asarray(fm) != 0
    if len(group) and np.all(group[1:] >= group[:-1]):  # rows sorted by trial (ModelDesign)
        used = nz.any(axis=0)
        first = nz.argmax(axis=0)  # first and last nonzero row of each column
        last = len(group) - 1 - nz[::-1].argmax(axis=0)
        return np.where(used, group[first], K), np.where(used, group[last], -1)
    return np.where(nz, group[:, None], K).min(axis=0), np.where(nz, group[:, None], -1).max(axis=0)


def _check_counts(design: ModelDesign) -> None:
    y, name = design.y, design.response_name
    bad = ~np.isfinite(y) | (y < 0) | (np.round(y) != y)
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"the Poisson outcome {name!r} has an invalid value (counts must be whole numbers "
            ">= 0)",
            trial=str(design.group_levels[design.group[r]]),
            variable=name,
            value=float(y[r]),
            hint="give the number of events per participant; put the exposure time in offset=",
        )


def _check_response(design: ModelDesign) -> None:
    y, size = design.y, design.n_trials
    name = design.response_name
    bad = ~np.isfinite(size) | (size < 0) | (np.round(size) != size)
    bad |= ~np.isfinite(y) | (y < 0) | (y > size) | (np.round(y) != y)
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        trial = str(design.group_levels[design.group[r]])
        binary = design.formula.failures is None
        raise InputError(
            f"the binomial outcome {name!r} has an invalid value"
            + (" (not 0 or 1)" if binary else " (counts must be whole numbers >= 0)"),
            trial=trial,
            variable=name,
            value=float(y[r]),
            hint="code a binary outcome as 0/1 (or True/False), or give counts as "
            "cbind(successes, failures)",
        )


def _spans_intercept(Xl: np.ndarray) -> bool:
    ones = np.ones(Xl.shape[0])
    coef, *_ = np.linalg.lstsq(Xl, ones, rcond=None)
    return bool(np.max(np.abs(Xl @ coef - ones)) < 1e-8)


def prepare(
    design: ModelDesign, family: GLMFamily = BINOMIAL, offset: np.ndarray | None = None
) -> Prepared:
    """Validate the response, find trial-local columns, handle trials without events.

    For the Poisson family (``offset``: the log exposure per design row) there is no upper
    bound on the counts: only trials (or levels) without events are special.
    """
    poisson = family.name == "poisson"
    if poisson:
        _check_counts(design)
    else:
        _check_response(design)
    fm, group, K = design.fixed_matrix, design.group, design.ngroups
    gmin, gmax = _column_owner(fm, group, K)
    is_local = (gmin == gmax) & (gmax >= 0) & (K > 1)
    y, size = design.y, design.n_trials
    events = np.bincount(group, weights=y, minlength=K)
    totals = np.full(K, np.inf) if poisson else np.bincount(group, weights=size, minlength=K)
    starts = design.group_starts
    csc = sp.csc_matrix(fm) if sp.issparse(fm) else None
    X = None if csc is not None else np.asarray(fm, dtype=float)

    def columns(cols, rows=slice(None)):
        if csc is not None:
            return csc[:, cols].toarray()[rows]
        return X[rows][:, cols]

    messages: list[str] = []
    keep = np.ones(K, dtype=bool)
    for i in range(K):
        if 0 < events[i] < totals[i]:
            continue
        label = str(design.group_levels[i])
        what = "no events" if events[i] == 0 else "only events"
        tally = (
            f"0 events in {int(starts[i + 1] - starts[i])} rows"
            if poisson
            else f"{int(events[i])} of {int(totals[i])}"
        )
        rows = slice(int(starts[i]), int(starts[i + 1]))
        own = np.flatnonzero(is_local & (gmin == i))
        if len(own) and _spans_intercept(columns(own, rows)):
            keep[i] = False
            messages.append(
                f"trial {label} has {what} ({tally}): its "
                "stratified intercept is not estimable (infinite); the trial is left out of "
                "the likelihood (its limit contribution is 0) and its trial-specific "
                "coefficients are reported as NaN"
            )
        elif not poisson:  # a zero count is ordinary for Poisson data with a shared intercept
            messages.append(
                f"trial {label} has {what} ({tally}); "
                "the estimates stay finite because its intercept is shared"
            )
    # one level of a binary covariate (e.g. an arm) without events / with only events,
    # within a trial; levels with a single row (aggregated data) are not arms
    for j in np.flatnonzero(~is_local) if not poisson else ():
        col = columns([j])[:, 0]
        values = np.unique(col)
        if len(values) != 2:
            continue
        hits = []
        mixed = (events > 0) & (events < totals)
        n_rows = np.diff(starts)
        for v in values:
            sel = (col == v).astype(float)
            count = np.bincount(group, weights=sel, minlength=K)
            ev = np.bincount(group, weights=y * sel, minlength=K)
            tot = (
                np.full(K, np.inf)
                if poisson
                else np.bincount(group, weights=size * sel, minlength=K)
            )
            bad = mixed & (count >= 2) & (count < n_rows) & ((ev == 0) | (ev == tot))
            for trial_index in np.flatnonzero(bad):
                what = "no events" if ev[trial_index] == 0 else "only events"
                hits.append(f"{design.group_levels[trial_index]} ({what} where {v:g})")
        if hits:
            messages.append(
                f"{design.fixed_names[j]}: trial(s) with no events or only events in one "
                f"level: {', '.join(hits)}; the fit keeps them (the estimates stay finite "
                "because this effect is shared or random, not trial-specific)"
            )

    used = np.flatnonzero(keep)
    row_keep = keep[group]
    kept_group = np.searchsorted(used, group[row_keep])
    K_used = len(used)
    local_cols = np.flatnonzero(is_local & np.isin(gmin, used))
    owner = np.searchsorted(used, gmin[local_cols])
    slot = np.zeros(len(local_cols), dtype=np.intp)
    counts = np.zeros(K_used, dtype=np.intp)
    for position, t in enumerate(owner):
        slot[position] = counts[t]
        counts[t] += 1
    m = int(counts.max()) if len(local_cols) else 0
    local_index = np.full((K_used, m), -1, dtype=np.intp)
    local_index[owner, slot] = local_cols
    shared_index = np.flatnonzero(~is_local)

    Xs = columns(shared_index, row_keep) if len(shared_index) else np.zeros((row_keep.sum(), 0))
    Xl = np.zeros((int(row_keep.sum()), m))
    if m and X is not None:  # each kept row takes its own trial's local columns
        owned = local_index[kept_group]  # (rows, m) design column of each slot, -1 if none
        values = X[np.flatnonzero(row_keep)[:, None], np.maximum(owned, 0)]
        Xl = np.where(owned >= 0, values, 0.0)  # (a local column is 0 outside its trial)
    elif m:  # sparse: scatter the nonzeros of each local column into its trial's slot
        assert csc is not None  # the design is sparse when it has no dense form
        coo = csc[:, local_cols].tocoo()
        r, k, v = coo.row, coo.col, coo.data
        new_row = np.cumsum(row_keep) - 1
        ok = row_keep[r]
        Xl[new_row[r[ok]], slot[k[ok]]] = v[ok]
    lam_rows, lam_cols = [], []
    for block in design.re_blocks:
        for a_pos, a in enumerate(block):
            for b in block[: a_pos + 1]:
                lam_rows.append(int(a))
                lam_cols.append(int(b))
    kept_starts = np.flatnonzero(np.diff(kept_group, prepend=-1))
    data = BinomialData(
        y=y[row_keep].astype(float),
        size=size[row_keep].astype(float),
        X=np.ascontiguousarray(np.column_stack([Xs, Xl])),
        Z=np.ascontiguousarray(design.Z[row_keep], dtype=float),
        starts=kept_starts,
        trial_index=kept_group,
        n_shared=len(shared_index),
        lam_rows=np.array(lam_rows, dtype=np.intp),
        lam_cols=np.array(lam_cols, dtype=np.intp),
        family=family,
        offset=None if offset is None else np.asarray(offset, dtype=float)[row_keep],
    )
    excluded = tuple(str(design.group_levels[i]) for i in np.flatnonzero(~keep))
    return Prepared(data, shared_index, local_index, used, excluded, tuple(messages))


def detect_separation(X: np.ndarray, y: np.ndarray, size: np.ndarray) -> np.ndarray | None:
    """A direction ``d`` of the fixed coefficients separating the data, or None.

    Solves the linear programme max sum_r s_r x_r'd subject to s_r x_r'd >= 0 for rows
    with y = 0 (s = -1) or y = m (s = +1), x_r'd = 0 for other rows, |d| <= 1, over all
    fixed columns ``X`` (the full design, trial-local columns expanded). A positive optimum
    means (quasi-)complete separation (Albert & Anderson 1984, Biometrika 71:1): the
    likelihood keeps increasing along ``d``.
    """
    from scipy.optimize import linprog  # imported here: only a suspected separation needs it

    s = np.where(y == 0, -1.0, np.where(y == size, 1.0, 0.0))
    ext = s != 0
    X = sp.csr_matrix(X) if sp.issparse(X) else np.asarray(X, dtype=float)
    A_ub = -(sp.diags(s[ext]) @ X[ext]) if sp.issparse(X) else -(s[ext, None] * X[ext])
    A_eq = X[~ext] if (~ext).any() else None
    res = linprog(
        np.asarray(A_ub.sum(axis=0)).ravel(),
        A_ub=A_ub,
        b_ub=np.zeros(int(ext.sum())),
        A_eq=A_eq,
        b_eq=None if A_eq is None else np.zeros(A_eq.shape[0]),
        bounds=[(-1, 1)] * X.shape[1],
        method="highs",
    )
    if res.status == 0 and -res.fun > 1e-7:
        return res.x
    return None
