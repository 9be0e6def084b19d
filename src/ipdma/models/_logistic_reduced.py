"""The AGHQ polish of a boundary fit in the model without the random effects held at 0.

After the Laplace stage (``_logistic``) the quadrature fit is polished by Newton's method
from the Laplace optimum. When that optimum holds a random effect at exactly 0 (the common
case in the analysis grid: no between-trial SD of the baseline slope), the polish runs on
the model without it, with ``nagq**(q-1)`` nodes per trial instead of ``nagq**q``.

Why this is the same maximisation: with ``L_kk = 0`` the only free entry of its row and
column of ``L``, ``b_k = 0`` and ``u_k`` does not enter the linear predictor, so ``u_k``'s
conditional mode is 0, ``H = L'ML + I`` has ``e_k`` as its k-th row and column, and the
product rule integrates the standard normal factor of ``u_k`` exactly (its weights sum to
1). The q-dimensional AGHQ log-likelihood therefore equals, to rounding, the AGHQ
log-likelihood of the model without the k-th random effect, and so do its gradient and
Hessian in every other parameter. Its derivative in ``L_kk`` is 0 and so are its second
derivatives mixing ``L_kk`` with another parameter: the log-likelihood is even in ``L_kk``
(``L_kk`` and ``-L_kk`` give the same model), so every first derivative in another
parameter is even in ``L_kk`` too. Newton's method on the reduced model takes exactly the
steps it takes on the full one with ``L_kk`` held at 0 (``_logistic_newton.maximize``).

The one number of the full model the reduced one does not give is the curvature in
``L_kk`` itself, minus ``d2 log L / dL_kk^2`` at 0, whose sign says whether 0 is a local
maximum in that entry (``maximize`` holds an entry at 0 only where it is positive). It is
left as NaN in the returned Hessian and measured by the boundary check
(``_logistic_boundary.verify_boundary``) from its first probe, which evaluates the full
model anyway; where it is not positive, ``fit_binomial`` continues Newton's method on the
full model, which moves the entry off 0.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ._aghq import Evaluation, _offset, hermite_grid
from ._aghq_nodes import trial_sums
from ._logistic_newton import Optimum, _Problem, _scales, maximize

__all__ = ["polish"]


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
    optimum), in the reduced model where ``opt`` holds random effects at exactly 0.

    Returns the optimum of the full model (module docstring): parameters, per-trial
    log-likelihood, gradient and conditional modes, and minus the Hessian with NaN as the
    curvature of each held entry (not evaluated; ``verify_boundary`` measures it).
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
    kept = np.r_[np.ones(ps, dtype=bool), kept_lam]  # over theta
    kept_params = np.r_[np.ones(data.n_coef, dtype=bool), kept_lam]  # over an evaluation's
    renumber = np.full(data.q, -1)
    renumber[kept_z] = np.arange(len(kept_z))
    reduced_data = replace(
        data,
        Z=np.ascontiguousarray(data.Z[:, kept_z]),
        lam_rows=renumber[data.lam_rows[kept_lam]],
        lam_cols=renumber[data.lam_cols[kept_lam]],
    )
    # what does not depend on Z carries over (frozen dataclass: cached like cached_property)
    for name in ("XT", "counts", "binary", "_row_blocks"):
        if name in data.__dict__:
            reduced_data.__dict__[name] = data.__dict__[name]
    unit, alpha_unit, largest, alpha_largest = _scales(data)
    reduced_data.__dict__["_problem_scales"] = (unit[kept], alpha_unit, largest[kept],
                                                alpha_largest)  # fmt: skip
    reduced = _Problem(reduced_data, *hermite_grid(nagq, len(kept_z)), problem.local_mask)
    shared, couple, local = opt.hessian
    slope = opt.evaluation.mode_slope  # (K, coefficients + entries of L, q)
    if slope is not None:
        slope = slope[:, kept_params][:, :, kept_z]
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
    ev = inner.evaluation
    K, P = data.ntrials, len(kept_params)
    modes = np.zeros((K, data.q))
    modes[:, kept_z] = ev.modes
    assert ev.gradient is not None  # maximize evaluates gradients
    gradient = np.zeros((K, P))
    gradient[:, kept_params] = ev.gradient
    mode_slope = np.zeros((K, P, data.q))
    if ev.mode_slope is not None:
        mode_slope[np.ix_(np.arange(K), kept_params, kept_z)] = ev.mode_slope
    # du_k/dL_kk at L_kk = 0 is the trial's score sum_r z_rk (y_r - mean_r) at the mode
    # (implicit function theorem on L_kk sum_r z_rk (y_r - mean_r) - u_k = 0); the other
    # modes do not move with L_kk there, and u_k = 0 whatever the other parameters
    L = data.lower(theta[ps:])
    eta = _offset(data, problem.coef(theta, inner.alpha))
    eta += np.einsum("rq,rq->r", data.Z @ L, modes[data.trial_index])
    residual = data.y - data.family.mean(data.size, eta)
    score = trial_sums(data.ZT[gone] * residual, data.starts).T  # (K, held)
    position = np.flatnonzero(~kept_lam)  # entries of L held (their rows are ``gone``)
    mode_slope[:, data.n_coef + position, data.lam_rows[position]] = score
    shared_full = np.zeros((len(theta), len(theta)))
    shared_full[np.ix_(kept, kept)] = inner.hessian[0]
    shared_full[ps + position, ps + position] = np.nan  # the curvature in a held entry
    couple_full = np.zeros((K, len(theta), inner.hessian[1].shape[2]))
    couple_full[:, kept, :] = inner.hessian[1]
    full = Evaluation(ev.loglik, gradient, modes, L, None, mode_slope)
    return replace(
        inner, theta=theta, evaluation=full, hessian=(shared_full, couple_full, inner.hessian[2])
    )
