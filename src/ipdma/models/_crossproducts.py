"""Fitting the linear mixed model from per-trial cross-products alone (no participant rows).

The linear engine needs, for trial i, only ``W_i' W_i`` with ``W_i = [Z_i, X_i, y_i]`` and
``n_i`` (``_linear_stats``): the profiled REML/ML deviance, its gradient, the estimates,
their covariance, the Satterthwaite df and the BLUPs are functions of these alone
(``_linear_criterion``). :func:`fit_crossproducts` builds the engine's per-trial statistics
from such matrices and runs the same optimiser and verification as :func:`ipdma.mixed`, so
the fit equals the one from the pooled rows up to floating-point rounding of the sums. It
is what federated analysis (``ipdma.summaries``) and database-computed summaries use.

Checks that need rows are made from the cross-products too: the rank check (as in
``mixed``), an outcome that the trials' own columns fit exactly (residual variance 0), and
for stratified residuals the trials that can estimate their own variance. Data warnings that
need the rows (a random covariate constant within a trial) are not repeated.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ..errors import DataWarning, InputError, ModelError
from ._formula import ParsedFormula, parse_formula
from ._linear import _SMALL_P, NEWTON_MAX_PARAMS, _estimate
from ._linear_checks import EXACT_FIT_TOL, own_variance_dof, within_trial_fit
from ._linear_criterion import Criterion
from ._linear_stats import TrialStats, check_rank
from ._result import MixedResult

__all__ = ["CrossProducts", "fit_crossproducts"]


@dataclass(frozen=True)
class CrossProducts:
    """Per-trial cross-products of one linear mixed model, ``W_i = [Z_i, X_i, y_i]``.

    Attributes
    ----------
    formula : the lme4-style formula the columns come from (recorded in the result).
    fixed_names, random_names : names of X's and Z's columns, in order.
    re_blocks : index arrays into Z's columns; each block has its own covariance matrix.
    group_levels : trial labels, one per stacked matrix (sorted as ``mixed`` sorts them).
    gram : float array (K, q + p + 1, q + p + 1), ``W_i' W_i`` per trial.
    n : float array (K,), rows per trial.
    """

    formula: str
    fixed_names: tuple[str, ...]
    random_names: tuple[str, ...]
    re_blocks: tuple[np.ndarray, ...]
    group_name: str
    group_levels: tuple[str, ...]
    gram: np.ndarray
    n: np.ndarray


@dataclass(frozen=True)
class _Layout:
    """What ``_linear._estimate`` and ``_linear_result.build_result`` read of a design."""

    formula: ParsedFormula
    fixed_names: tuple[str, ...]
    random_names: tuple[str, ...]
    re_blocks: tuple[np.ndarray, ...]
    group_name: str
    group_levels: tuple[str, ...]
    dropped: pd.Series
    response_name: str
    nobs: int

    @property
    def ngroups(self) -> int:
        return len(self.group_levels)


def _check(cp: CrossProducts) -> tuple[int, int]:
    q, p = len(cp.random_names), len(cp.fixed_names)
    K = len(cp.group_levels)
    if cp.gram.shape != (K, q + p + 1, q + p + 1) or cp.n.shape != (K,):
        raise InputError(
            f"cross-products of shape {cp.gram.shape} (sizes {cp.n.shape}) do not match "
            f"{K} trials, {q} random and {p} fixed columns plus the outcome",
            hint="gram must be (trials, q + p + 1, q + p + 1) in the order [Z, X, y]",
        )
    if K < 2:
        raise ModelError(
            "random effects by trial need at least two trials",
            hint="add trials (sites) to the analysis",
        )
    if not np.all(np.isfinite(cp.gram)) or np.any(cp.n < 1):
        raise InputError(
            "the cross-products contain a non-finite value or a trial without rows",
            hint="recompute the summaries at the site",
        )
    return q, p


def trial_stats_from_gram(cp: CrossProducts) -> TrialStats:
    """The engine's :class:`TrialStats` from ``W_i' W_i``: a fixed column that is zero in
    every trial but one is trial-local (as ``trial_stats`` decides from the rows)."""
    q, p = _check(cp)
    K = len(cp.n)
    diag = np.diagonal(cp.gram, axis1=1, axis2=2)[:, q : q + p]  # (K, p) column sums of squares
    nonzero = diag > 0
    is_local = nonzero.sum(0) == 1
    local_cols = np.flatnonzero(is_local)
    global_index = np.flatnonzero(~is_local)
    owner = nonzero[:, local_cols].argmax(0)
    counts = np.zeros(K, dtype=np.intp)
    slot = np.zeros(len(local_cols), dtype=np.intp)
    for k, t in enumerate(owner):
        slot[k] = counts[t]
        counts[t] += 1
    m = int(counts.max()) if len(local_cols) else 0
    local_index = np.full((K, m), -1, dtype=np.intp)
    local_index[owner, slot] = local_cols
    # U = [X local slots, X global, y]: per trial, gather its own local columns into slots
    width = m + len(global_index) + 1
    cols = np.empty((K, width), dtype=np.intp)
    valid = np.ones((K, width), dtype=bool)
    cols[:, :m] = np.where(local_index >= 0, q + local_index, 0)
    valid[:, :m] = local_index >= 0
    cols[:, m : width - 1] = q + global_index
    cols[:, -1] = q + p
    rows = np.arange(K)[:, None, None]
    UtU = cp.gram[rows, cols[:, :, None], cols[:, None, :]]
    UtU = UtU * (valid[:, :, None] & valid[:, None, :])
    ZtU = cp.gram[rows, np.arange(q)[None, :, None], cols[:, None, :]] * valid[:, None, :]
    return TrialStats(
        ZtZ=np.ascontiguousarray(cp.gram[:, :q, :q]),
        ZtU=np.ascontiguousarray(ZtU),
        UtU=np.ascontiguousarray(UtU),
        n=np.asarray(cp.n, dtype=float),
        m=m,
        local_index=local_index,
        global_index=global_index,
        p=p,
    )


def _own_variance(stats: TrialStats, levels: tuple[str, ...], response: str) -> np.ndarray:
    """``own_variance`` of ``_linear_checks`` from the cross-products (no rows needed)."""
    rss, dof, yty = within_trial_fit(stats)
    own = own_variance_dof(stats) > 0
    exact = np.flatnonzero(own & (dof > 0) & (rss <= EXACT_FIT_TOL * yty))
    if len(exact):
        trial = levels[int(exact[0])]
        raise ModelError(
            f"the outcome {response!r} is fitted exactly by trial {trial}'s own covariates "
            "(residuals all 0), so its own residual variance would be 0 and the stratified "
            "likelihood is unbounded",
            trial=str(trial),
            variable=response,
            hint=f"use residual='common' or drop trial {trial}",
        )
    return own


def fit_crossproducts(
    cp: CrossProducts, *, reml: bool = True, residual: str = "common"
) -> MixedResult:
    """Fit a linear mixed model (REML or ML) from per-trial cross-products.

    The model and estimates are those of :func:`ipdma.mixed` with ``family="gaussian"``
    (lme4::lmer; nlme::lme with varIdent for ``residual="stratified"``): the profiled
    deviance of ``_linear_criterion`` is a function of ``W_i' W_i`` and ``n_i`` only.

    Raises
    ------
    InputError
        Matrices of the wrong shape or with non-finite values.
    ModelError, RankDeficiencyError
        The model cannot be estimated from these cross-products.
    """
    stats = trial_stats_from_gram(cp)
    parsed = parse_formula(cp.formula)
    check_rank(stats, cp.fixed_names, cp.group_levels)
    rss, _dof, _ = within_trial_fit(stats)
    if np.all(rss <= 0):
        raise ModelError(
            f"the outcome {parsed.response!r} does not vary beyond the trials' own columns: "
            "the residual variance would be 0",
            variable=parsed.response,
            hint="check that the right column is the outcome (and its coding)",
        )
    stratified = residual == "stratified"
    own = _own_variance(stats, cp.group_levels, parsed.response) if stratified else None
    crit = Criterion(stats, cp.re_blocks, reml=reml, stratified=stratified, own_variance=own)
    messages = [
        f"trial {cp.group_levels[i]} has a single participant; it is kept in the fit and "
        "contributes little to the random effects"
        for i in np.flatnonzero(stats.n == 1)
    ]
    for msg in messages:
        warnings.warn(msg, DataWarning, stacklevel=2)
    layout = _Layout(
        formula=parsed,
        fixed_names=tuple(cp.fixed_names),
        random_names=tuple(cp.random_names),
        re_blocks=tuple(np.asarray(b, dtype=np.intp) for b in cp.re_blocks),
        group_name=cp.group_name,
        group_levels=tuple(cp.group_levels),
        dropped=pd.Series(0, index=pd.Index(cp.group_levels, name=cp.group_name), dtype=int),
        response_name=parsed.response,
        nobs=round(float(stats.n.sum())),
    )
    large = crit.n_params > NEWTON_MAX_PARAMS or stats.p > _SMALL_P
    with threadpool_limits(1) if large else contextlib.nullcontext():
        return _estimate(layout, crit, reml=reml, residual=residual, messages=messages)  # type: ignore[arg-type]
