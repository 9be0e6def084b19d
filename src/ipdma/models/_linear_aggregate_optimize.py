"""Optimiser of the IPD + aggregate-data deviance (:mod:`._linear_aggregate`).

L-BFGS-B with the analytic gradient (bounds: SDs >= 0), then Newton steps with the Hessian
from central differences of the analytic gradient on the parameters off their bounds. A
random-effect SD that ends at 0 is accepted only if the deviance rises when it is moved
off the boundary (its derivative in the SD is 0 there by symmetry, so the check is made on
the deviance itself); otherwise the fit is restarted from that point.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ._linear_aggregate_gradient import deviance_gradient

if TYPE_CHECKING:  # pragma: no cover
    from ._linear_aggregate import _Problem

__all__ = ["GRADIENT_TOLERANCE", "fit_deviance"]

GRADIENT_TOLERANCE = 1e-4  # max |d deviance / d theta_j| x max(1, |theta_j|) at a verified optimum


def _put(theta: np.ndarray, index: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = theta.copy()
    out[index] = values
    return out


def _restricted(gradient, theta: np.ndarray, free: np.ndarray):
    """The gradient in the ``free`` parameters, the others held at ``theta``."""

    def restricted(sub: np.ndarray) -> np.ndarray:
        return np.asarray(gradient(_put(theta, free, sub))[free])

    return restricted


def _hessian(gradient, theta: np.ndarray) -> np.ndarray:
    """Central differences of the analytic gradient (step 1e-5 relative), symmetrised."""
    n = theta.size
    hess = np.empty((n, n))
    for j in range(n):
        step = 1e-5 * max(1.0, abs(theta[j]))
        up, down = theta.copy(), theta.copy()
        up[j] += step
        down[j] -= step
        hess[:, j] = (gradient(up) - gradient(down)) / (2.0 * step)
    return 0.5 * (hess + hess.T)


def _free(theta: np.ndarray, lower: np.ndarray) -> np.ndarray:
    return np.flatnonzero(theta > lower + 1e-7 * np.maximum(1.0, np.abs(theta)))


def _polish(fun, gradient, theta: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """Newton steps on the free parameters while the deviance does not rise (beyond
    rounding) and the gradient shrinks."""
    best, value = theta.copy(), fun(theta)
    for _ in range(20):
        free = _free(best, lower)
        if free.size == 0:
            break
        grad = gradient(best)[free]
        hess = _hessian(_restricted(gradient, best, free), best[free])
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            break
        candidate = _put(best, free, np.maximum(best[free] - step, lower[free]))
        new = fun(candidate)
        shrinks = np.max(np.abs(gradient(candidate)[free])) < np.max(np.abs(grad))
        if not (new <= value + 1e-12 * abs(value) and shrinks):
            break
        best, value = candidate, new
        if np.max(np.abs(step) / np.maximum(1.0, np.abs(best[free]))) < 1e-13:
            break
    return best


def fit_deviance(
    problem: _Problem, theta0: np.ndarray, scales: np.ndarray
) -> tuple[np.ndarray, bool, int]:
    """Minimise the deviance from ``theta0``; returns ``(theta, converged, iterations)``.

    ``scales`` are typical sizes of the parameters (the boundary probe moves an SD at 0 to
    1e-3 of its scale).
    """
    from scipy import optimize  # lazily: importing ipdma.models stays free of scipy

    bounds = problem.bounds()
    lower = np.array([-np.inf if b[0] is None else b[0] for b in bounds])
    fun = problem.deviance

    def gradient(values: np.ndarray) -> np.ndarray:
        return deviance_gradient(problem, values)

    theta, iterations = np.asarray(theta0, float), 0
    sd_index = [j for j, b in enumerate(bounds) if b[0] == 0.0]
    for _ in range(4):
        fit = optimize.minimize(
            fun,
            theta,
            jac=gradient,
            method="L-BFGS-B",
            bounds=bounds,
            options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 5000},
        )
        iterations += int(fit.nit)
        theta = _polish(fun, gradient, np.asarray(fit.x, float), lower)
        value = fun(theta)
        escape = None
        for j in sd_index:
            if theta[j] > 1e-7 * max(1.0, scales[j]):
                continue
            probe = theta.copy()
            probe[j] = 1e-3 * max(scales[j], 1e-8)
            if fun(probe) < value - 1e-10 * abs(value):
                escape = probe
                break
        if escape is None:
            break
        theta = escape
    else:
        return theta, False, iterations
    score = gradient(theta)
    free = _free(theta, lower)
    size = np.max(np.abs(score[free]) * np.maximum(1.0, np.abs(theta[free])), initial=0.0)
    converged = bool(size < GRADIENT_TOLERANCE) and bool(np.isfinite(fun(theta)))
    return theta, converged, iterations
