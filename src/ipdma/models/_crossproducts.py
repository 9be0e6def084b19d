"""Fitting the linear mixed model from per-trial cross-products alone (no participant rows).

The linear engine needs, for trial i, only ``W_i' W_i`` with ``W_i = [Z_i, X_i, y_i]`` and
``n_i`` (``_linear_stats``): the profiled REML/ML deviance, its gradient, the estimates,
their covariance, the Satterthwaite df and the BLUPs are functions of these alone
(``_linear_criterion``). :func:`fit_crossproducts` takes such matrices and runs the same optimiser and verification as :func:`ipdma.mixed`, so
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

from ..errors import DataWarning, InputError, ModelError
from ._formula import ParsedFormula, parse_formula
from ._linear_checks import EXACT_FIT_TOL, own_variance_dof, within_trial_fit
from ._linear_stats import TrialStats, check_rank
from ._result import MixedResult

__all__ = ["CrossProducts", "fit_crossproducts"]


@dataclass(frozen=True)
class CrossProducts:
    """Per-trial cross-products of one linear mixed model.

    Trial i's matrix is ``W_i' W_i`` with ``W_i = [Z_i, L_i, G_i, y_i]``: its random-effects
    columns, its *own* trial-local fixed columns (``m`` slots; e.g. its stratified intercept,
    the column ``C(trial)[i]``, which is 0 in every other trial), the global fixed columns
    and the outcome. Storing the trial-local columns per trial keeps the size O(K), not
    O(K^3) as the dense ``[Z, X, y]`` with one intercept column per trial would be.

    Attributes
    ----------
    formula : the lme4-style formula the columns come from (recorded in the result).
    fixed_names, random_names : names of X's and Z's columns, in order.
    re_blocks : index arrays into Z's columns; each block has its own covariance matrix.
    group_levels : trial labels, one per stacked matrix (sorted as ``mixed`` sorts them).
    gram : float array (K, q + m + pg + 1, q + m + pg + 1).
    n : float array (K,), rows per trial.
    local_index : int array (K, m), the fixed column in each slot of each trial (-1: unused
        slot, whose rows and columns of ``gram`` are 0).
    global_index : int array (pg,), the global fixed columns in order.
    """

    formula: str
    fixed_names: tuple[str, ...]
    random_names: tuple[str, ...]
    re_blocks: tuple[np.ndarray, ...]
    group_name: str
    group_levels: tuple[str, ...]
    gram: np.ndarray
    n: np.ndarray
    local_index: np.ndarray
    global_index: np.ndarray


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


def trial_stats_from_gram(cp: CrossProducts) -> TrialStats:
    """The engine's :class:`TrialStats` from the per-trial cross-products.

    Raises
    ------
    InputError
        Shapes that do not fit, non-finite values, trials without rows, fixed columns not
        covered exactly once.
    ModelError
        Fewer than two trials.
    """
    q, p = len(cp.random_names), len(cp.fixed_names)
    K = len(cp.group_levels)
    local = np.asarray(cp.local_index, dtype=np.intp).reshape(K, -1)
    glob = np.asarray(cp.global_index, dtype=np.intp)
    m, width = local.shape[1], q + local.shape[1] + len(glob) + 1
    covered = np.sort(np.r_[local[local >= 0], glob])
    if (
        cp.gram.shape != (K, width, width)
        or cp.n.shape != (K,)
        or not np.array_equal(covered, np.arange(p))
    ):
        raise InputError(
            f"cross-products of shape {cp.gram.shape} (sizes {cp.n.shape}) do not match "
            f"{K} trials, {q} random, {m} local and {len(glob)} global columns plus the "
            f"outcome, or do not cover the {p} fixed columns once",
            hint="gram must be (trials, q + m + pg + 1, ...) in the order [Z, local, global, y]",
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
    return TrialStats(
        ZtZ=np.ascontiguousarray(cp.gram[:, :q, :q]),
        ZtU=np.ascontiguousarray(cp.gram[:, :q, q:]),
        UtU=np.ascontiguousarray(cp.gram[:, q:, q:]),
        n=np.asarray(cp.n, dtype=float),
        m=m,
        local_index=local,
        global_index=glob,
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
    from threadpoolctl import threadpool_limits

    from ._linear import _SMALL_P, NEWTON_MAX_PARAMS, _estimate
    from ._linear_criterion import Criterion

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
