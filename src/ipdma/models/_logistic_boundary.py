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

Each probe starts the conditional modes where they are expected (``_probe_modes``: the
held point's exact mode derivatives and the previous probe's modes). Where the polish ran
without the held entry (``_logistic_reduced``), the first probe also measures the curvature
in it (``verify_boundary``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._aghq import Evaluation
from ._logistic_newton import (
    ArrowHessian,
    Optimum,
    _newton_step,
    _Problem,
    maximize,
    pin,
)

__all__ = ["BOUNDARY_SDS", "BoundaryCheck", "boundary_parameters", "verify_boundary"]

BOUNDARY_SDS = (0.01, 0.03, 0.1, 0.3, 1.0)  # SDs (logit scale) probed by the one-sided check


@dataclass(frozen=True)
class BoundaryCheck:
    """Outcome of ``verify_boundary``: the (re-maximised) optimum and what was measured."""

    optimum: Optimum
    hessian: ArrowHessian  # minus the exact Hessian at the optimum (not pinned)
    gradient_max: float  # over the parameters not held at 0
    gain: float  # largest log-likelihood increase found by moving a held entry off 0
    gain_sd: float  # the SD (logit scale) where it was found
    names: tuple[str, ...]
    # held entries whose curvature (measured here, see ``verify_boundary``) is not positive:
    # 0 is not a local maximum in them; Newton's method must go on in the full model
    not_maximum: np.ndarray


def boundary_parameters(problem: _Problem, theta: np.ndarray, tol: float) -> np.ndarray:
    """Positions in ``theta`` of the diagonal entries of ``L`` with absolute value below tol."""
    data, ps = problem.data, problem.n_shared
    diagonal = data.lam_rows == data.lam_cols
    return ps + np.flatnonzero(diagonal & (np.abs(theta[ps:]) < tol))


def _probe_modes(problem: _Problem, held: Evaluation, last_modes: np.ndarray, j: int,
                 last: float, value: float) -> np.ndarray:  # fmt: skip
    """Where the conditional modes are expected when entry ``j`` of ``theta`` (a diagonal
    entry of ``L``, scaling random effect ``k``) goes from ``last`` (the previous probe, whose
    modes are ``last_modes``; 0 at first) to ``value``; only a start for their Newton
    iteration (``_aghq_mode``), which converges from anywhere.

    ``u_k`` follows the shrinkage form ``lambda s / (1 + lambda^2 m)`` per trial, with ``s``
    the exact slope ``du_k/dlambda`` at the held point (``held.mode_slope``) and ``m`` (the
    trial's information about ``b_k``) fitted to the previous probe's mode; the other modes
    stay where the previous probe had them. Without slopes: the previous probe's modes."""
    if held.mode_slope is None:
        return last_modes
    data, ps = problem.data, problem.n_shared
    k = data.lam_cols[j - ps]
    slope = held.mode_slope[:, data.n_coef + j - ps, k]
    m = np.zeros(len(slope))
    if last != 0.0:
        moved = last_modes[:, k] - held.modes[:, k]
        ok = np.abs(moved) > 0
        m[ok] = (last * slope[ok] / moved[ok] - 1.0) / last**2
        m = np.where(np.isfinite(m), np.maximum(m, 0.0), 0.0)
    modes = last_modes.copy()
    modes[:, k] = held.modes[:, k] + value * slope / (1.0 + value**2 * m)
    return modes


def verify_boundary(
    problem: _Problem, opt: Optimum, positions: np.ndarray, names: tuple[str, ...]
) -> BoundaryCheck:
    """Hold ``theta[positions]`` at 0, re-maximise the rest, probe moving them off 0.

    Where ``opt.hessian`` has NaN as the curvature of a held entry (``_logistic_reduced``:
    the polish ran in the model without it), it is measured from the first probe, at
    ``t`` = ``BOUNDARY_SDS[0]`` units: the log-likelihood is even in the entry,
    ``f(t) = f(0) + c t^2 + d t^4 + O(t^6)``, so its value and exact derivative there give
    minus the second derivative at 0, ``-2c = (t f'(t) - 4 (f(t) - f(0))) / t^2``, up to
    ``O(t^4)`` (relative error 3e-7 to 8e-3 against the exact second derivative on 30
    simulated fits; ``tests/models/test_logistic_reduced.py``). Only its sign is used: entries
    where it is not positive (0 not a local maximum) are returned in ``not_maximum``; its
    value fills the held entry's diagonal of the information, whose couplings are exactly 0
    (even log-likelihood), so the standard errors of the other parameters do not use it.
    """
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
    pending = [j for j in positions if np.isnan(full[0][j, j])]
    curvature = {}
    gain, gain_sd = -np.inf, np.nan
    data, ps = problem.data, problem.n_shared
    for j in positions:
        # alone in its column of L: G (hence f) is the same at +t and -t; else probe both
        alone = np.sum(data.lam_cols == data.lam_cols[j - ps]) == 1
        for sign in (1.0,) if alone else (1.0, -1.0):
            modes, last = held.evaluation.modes, 0.0
            for sd in BOUNDARY_SDS:
                theta = held.theta.copy()
                theta[j] = sign * sd * problem.theta_unit[j]
                modes = _probe_modes(problem, held.evaluation, modes, j, last, theta[j])
                ev = problem.evaluate(theta, held.alpha, modes)
                modes, last = ev.modes, theta[j]
                g_theta, g_alpha = problem.per_trial_gradient(ev)
                g_theta = g_theta.sum(axis=0)
                if j in pending and j not in curvature:  # the first (smallest) probe
                    t, rise = theta[j], float(ev.loglik.sum()) - f0
                    curvature[j] = (t * g_theta[j] - 4.0 * rise) / t**2
                g_theta = np.where(fixed, 0.0, g_theta)
                step = _newton_step(*hessian, g_theta, g_alpha, 0.0)
                predicted = 0.0
                if step is not None:  # one Newton step over the others: g' H^-1 g / 2
                    predicted = 0.5 * float(g_theta @ step[0] + np.sum(g_alpha * step[1]))
                found = float(ev.loglik.sum()) + max(predicted, 0.0) - f0
                if found > gain:
                    gain, gain_sd = found, sd
    if pending:
        shared = full[0].copy()
        for j, value in curvature.items():
            shared[j, j] = value
        full = (shared, full[1], full[2])
    not_maximum = np.array([j for j in pending if not curvature[j] > 0], dtype=np.intp)
    return BoundaryCheck(held, full, held.gradient_max, gain, gain_sd, names, not_maximum)
