"""Verifying an optimum on the boundary of the parameter space (a random-effect SD of 0).

Why a separate check: the log-likelihood is even in a scalar random effect's Cholesky entry
``lambda`` (``b = lambda u`` and ``-lambda`` give the same model), so near ``lambda = 0`` it is
``f(0) + c lambda**2 + O(lambda**4)`` with ``c <= 0`` small or zero at a boundary fit. Newton's
method creeps in such a flat direction, and the gradient there says little about optimality
(it is 0 at ``lambda = 0`` whatever the data). lme4 has the same issue and reports a
"boundary (singular) fit" next to its gradient check (``?isSingular``, ``?convergence``).

Seen on simulated recovery data (``tests/reference/glmm_ipd_boundary.csv``): Newton stopped on
its decrement (5.6e-11) with SD(treat) at 1e-7 while the largest gradient entry, that of a
coefficient of a 0-100 covariate, was 3.1e-4 (in that coefficient's units a negligible
1e-13 of log-likelihood), so the fit was flagged unconverged though it was at the optimum.

What is done instead, for every diagonal entry of ``L`` with ``|L_kk| < SINGULAR_TOL``:

1. the entry is set to exactly 0 and held there while Newton's method re-maximises all the
   other parameters (quadratic convergence: they are not in a flat direction); their largest
   absolute gradient must then be below ``GRADIENT_TOL``;
2. one-sided check: the entry is moved away from 0 to ``+-t`` (``+t`` only when it is alone
   in its column of ``L``: then ``+t`` and ``-t`` give the same ``G``) for random-effect SDs ``t``
   from 0.01 to 1 on the logit scale (``t`` times the parameter's unit, 1 / root-mean-square
   of the covariate), and the log-likelihood there, plus the gain from re-optimising the
   other parameters predicted by one Newton step (``g' H^-1 g / 2`` over them), must not
   exceed the boundary log-likelihood by more than ``RESTART_TOL``. If it does, the SD is not
   at its maximum-likelihood value 0 and the fit is reported unconverged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ._aghq import hermite_grid
from ._logistic_newton import (
    ArrowHessian,
    Optimum,
    _newton_step,
    _Problem,
    maximize,
    pin,
    predicted_modes,
)

__all__ = [
    "BOUNDARY_SDS",
    "BoundaryCheck",
    "boundary_parameters",
    "polish",
    "verify_boundary",
]

BOUNDARY_SDS = (0.01, 0.03, 0.1, 0.3, 1.0)  # SDs (logit scale) probed by the one-sided check
_LINEAR_MODES = 0.1  # probes up to this SD start their modes from the first-order prediction


@dataclass(frozen=True)
class BoundaryCheck:
    """Outcome of ``verify_boundary``: the (re-maximised) optimum and what was measured."""

    optimum: Optimum
    hessian: ArrowHessian  # minus the exact Hessian at the optimum (not pinned)
    gradient_max: float  # over the parameters not held at 0
    gain: float  # largest log-likelihood increase found by moving a held entry off 0
    gain_sd: float  # the SD (logit scale) where it was found
    names: tuple[str, ...]


def boundary_parameters(problem: _Problem, theta: np.ndarray, tol: float) -> np.ndarray:
    """Positions in ``theta`` of the diagonal entries of ``L`` with absolute value below tol."""
    data, ps = problem.data, problem.n_shared
    diagonal = data.lam_rows == data.lam_cols
    return ps + np.flatnonzero(diagonal & (np.abs(theta[ps:]) < tol))


def verify_boundary(
    problem: _Problem, opt: Optimum, positions: np.ndarray, names: tuple[str, ...]
) -> BoundaryCheck:
    """Hold ``theta[positions]`` at 0, re-maximise the rest, probe moving them off 0."""
    fixed = np.zeros(len(opt.theta), dtype=bool)
    fixed[positions] = True
    if np.all(opt.theta[positions] == 0.0):  # already exactly 0: Newton held it there
        held = opt  # (its gradient in those entries is exactly 0, by symmetry)
    else:
        start = opt.theta.copy()
        start[positions] = 0.0
        held = maximize(
            problem, start, opt.alpha, modes=opt.evaluation.modes, tol=1e-15, fixed=fixed
        )
    f0 = held.evaluation.loglik.sum()
    full = held.hessian  # exact, not pinned
    hessian = pin(full, fixed)
    gain, gain_sd = -np.inf, np.nan
    data, ps = problem.data, problem.n_shared
    zero = np.zeros_like(held.alpha)
    for j in positions:
        # alone in its column of L: G (hence f) is the same at +t and -t; else probe both
        alone = np.sum(data.lam_cols == data.lam_cols[j - ps]) == 1
        for sign in (1.0,) if alone else (1.0, -1.0):
            modes = held.evaluation.modes
            for sd in BOUNDARY_SDS:
                theta = held.theta.copy()
                theta[j] = sign * sd * problem.theta_unit[j]
                if sd <= _LINEAR_MODES:  # the modes to first order in the entry (exact slope)
                    modes = predicted_modes(problem, held.evaluation, theta - held.theta, zero)
                ev = problem.evaluate(theta, held.alpha, modes)
                modes = ev.modes  # beyond: the last probe's modes, the nearest known
                g_theta, g_alpha = problem.per_trial_gradient(ev)
                g_theta = np.where(fixed, 0.0, g_theta.sum(axis=0))
                step = _newton_step(*hessian, g_theta, g_alpha, 0.0)
                predicted = 0.0
                if step is not None:  # one Newton step over the others: g' H^-1 g / 2
                    predicted = 0.5 * float(g_theta @ step[0] + np.sum(g_alpha * step[1]))
                found = float(ev.loglik.sum()) + max(predicted, 0.0) - f0
                if found > gain:
                    gain, gain_sd = found, sd
    return BoundaryCheck(held, full, held.gradient_max, gain, gain_sd, names)


def _vanished(problem: _Problem, theta: np.ndarray) -> np.ndarray:
    """Random effects identically 0 at ``theta``: a term alone in its block (its diagonal
    entry of ``L`` the only free entry in its row and column) whose entry is exactly 0."""
    data, ps = problem.data, problem.n_shared
    rows, cols = data.lam_rows, data.lam_cols
    lone = (rows == cols) & (np.bincount(rows, minlength=data.q)[rows] == 1)
    lone &= np.bincount(cols, minlength=data.q)[cols] == 1
    return rows[lone & (theta[ps:] == 0.0)]


def polish(problem: _Problem, opt: Optimum, nagq: int, *, tol: float) -> Optimum:
    """Maximise the AGHQ(``nagq``) log-likelihood of ``problem`` from ``opt`` (the Laplace
    optimum), in fewer dimensions where ``opt`` holds a random effect at exactly 0.

    Why this is the same maximisation: with ``L_kk = 0`` the only entry of its row and
    column, ``b_k = 0`` and ``u_k`` no longer enters the linear predictor, so ``u_k``'s
    conditional mode is 0, ``H = L'ML + I`` has ``e_k`` as its k-th row and column, and the
    product rule integrates the standard normal factor of ``u_k`` exactly (weights summing
    to 1): the q-dimensional AGHQ log-likelihood equals, to rounding, the AGHQ
    log-likelihood of the model without the k-th random effect (``nagq**(q-1)`` nodes per
    trial instead of ``nagq**q``), and so does its gradient in every other parameter
    (``d/dL_kk`` is 0 there: the log-likelihood is even in ``L_kk``). Newton's method on
    the reduced model therefore takes the steps it takes on the full one with ``L_kk`` held.
    The full model is then evaluated once at the reduced optimum, with its exact Hessian,
    and Newton's method continues on it (``maximize``): it stops at once (same gradient,
    decrement below ``tol``) when 0 is still a maximum in ``L_kk`` (minus the second
    derivative positive), and otherwise releases ``L_kk`` from 0 and goes on in all
    dimensions, as it would have from the start. The returned Hessian is the full model's.
    """
    data, ps = problem.data, problem.n_shared
    gone = _vanished(problem, opt.theta)
    if nagq == 1 or gone.size == 0 or gone.size == data.q:
        return maximize(
            problem, opt.theta, opt.alpha, modes=opt.evaluation.modes, tol=tol,
            start_hessian=opt.hessian, start_mode_slope=opt.evaluation.mode_slope,
        )  # fmt: skip
    kept_z = np.setdiff1d(np.arange(data.q), gone)
    kept_lam = ~np.isin(data.lam_rows, gone)
    kept = np.r_[np.ones(ps, dtype=bool), kept_lam]
    renumber = np.full(data.q, -1)
    renumber[kept_z] = np.arange(len(kept_z))
    reduced_data = replace(
        data,
        Z=np.ascontiguousarray(data.Z[:, kept_z]),
        lam_rows=renumber[data.lam_rows[kept_lam]],
        lam_cols=renumber[data.lam_cols[kept_lam]],
    )
    reduced = _Problem(reduced_data, *hermite_grid(nagq, len(kept_z)), problem.local_mask)
    shared, couple, local = opt.hessian
    slope = opt.evaluation.mode_slope  # (K, coefficients + entries of L, q)
    if slope is not None:
        slope = slope[:, np.r_[np.ones(data.n_coef, dtype=bool), kept_lam]][:, :, kept_z]
    inner = maximize(
        reduced,
        opt.theta[kept],
        opt.alpha,
        modes=opt.evaluation.modes[:, kept_z],
        tol=tol,
        start_hessian=(shared[np.ix_(kept, kept)], couple[:, kept, :], local),
        start_mode_slope=slope,
    )
    theta = np.zeros(len(opt.theta))
    theta[kept] = inner.theta
    modes = np.zeros((data.ntrials, data.q))
    modes[:, kept_z] = inner.evaluation.modes
    full = maximize(problem, theta, inner.alpha, modes=modes, tol=tol)
    return replace(full, iterations=inner.iterations + full.iterations)
