"""Damped Newton minimisation for few parameters, with an analytic gradient.

The Hessian is the forward difference of the analytic gradient (n extra gradient calls),
updated by the BFGS formula after full steps in regions of positive curvature and
recomputed otherwise; negative-curvature directions are flipped (the modified Newton step
``-V |W|^{-1} V' g`` with eigen-decomposition ``H = V W V'``), no component moves by more
than ``max(0.5, |z_j|)`` in one step, and the step is halved until the Armijo condition
holds. With 2-3 variance parameters this converges in a handful of iterations, far fewer
evaluations than BFGS from an identity Hessian needs (Nocedal & Wright 2006, Numerical
Optimization, sections 3.4, 6.1 and 8.1).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["newton_minimize"]

_ARMIJO = 1e-4
_FLAT = 1e-13  # relative change of the value that is rounding noise


def newton_minimize(
    fun: Callable[[np.ndarray], tuple[float, np.ndarray]],
    z0: np.ndarray,
    *,
    gtol: float = 1e-8,
    max_iter: int = 100,
    keep_sign: np.ndarray | None = None,
    hessian: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, float, int]:
    """Minimise ``fun`` (returning value and gradient) from ``z0``.

    ``keep_sign`` marks components that may approach but not cross 0 in one step (at most
    90% of the way, or exactly to 0 from within 1e-3): for an even function of them (the
    diagonal of a Cholesky factor) a crossing only visits the mirror image.

    ``hessian(z)``, if given, is the exact Hessian at a point ``fun`` was last called at; it
    is taken at every iterate instead of the finite-difference and BFGS approximations.

    Returns the minimiser, the minimum and the number of function evaluations. Stops when
    the largest gradient component is below ``gtol`` or no step improves the value.
    """
    z = np.asarray(z0, dtype=float).copy()
    n = len(z)
    f, g = fun(z)
    nfev = 1
    hess = None
    for _ in range(max_iter):
        if not np.isfinite(f) or np.max(np.abs(g)) < gtol:
            break
        if hess is None and hessian is not None:
            hess = hessian(z)
        elif hess is None:
            hess = np.empty((n, n))
            for j in range(n):
                step = 1e-6 * max(1.0, abs(z[j]))
                e = np.zeros(n)
                e[j] = step
                hess[:, j] = (fun(z + e)[1] - g) / step
            nfev += n
            hess = (hess + hess.T) / 2
        if not np.all(np.isfinite(hess)):
            w, direction = None, -g
        else:
            w, V = np.linalg.eigh(hess)
            floor = 1e-8 * max(1.0, float(np.max(np.abs(w))))
            direction = -V @ ((V.T @ g) / np.maximum(np.abs(w), floor))
        # trust cap: no component moves by more than max(0.5, |z_j|) in one step (far from
        # the optimum the deviance is not quadratic and a full Newton step overshoots)
        ratio = float(np.max(np.abs(direction) / np.maximum(0.5, np.abs(z))))
        if keep_sign is not None:
            crossing = keep_sign & (z != 0) & (np.sign(z + direction) != np.sign(z))
            if crossing.any():
                # 90% of the way to 0; all the way (exactly 0) once within 1e-3 of it
                room = np.where(np.abs(z) <= 1e-3, 1.0, 0.9) * np.abs(z)
                ratio = max(ratio, float(np.max(np.abs(direction[crossing]) / room[crossing])))
        if ratio > 1:
            direction = direction / ratio
        slope = float(g @ direction)
        if slope >= 0:  # not a descent direction (numerical trouble): steepest descent
            direction, slope = -g, -float(g @ g)
        t = 1.0
        while True:
            z_new = z + t * direction
            f_new, g_new = fun(z_new)
            nfev += 1
            if np.isfinite(f_new) and f_new <= f + _ARMIJO * t * slope:
                break
            # at the optimum the value is flat to rounding: accept a full step that lowers
            # the gradient (the exact gradient still locates the optimum there)
            if (
                t == 1.0
                and np.isfinite(f_new)
                and abs(f_new - f) <= _FLAT * max(1.0, abs(f))
                and np.max(np.abs(g_new)) < np.max(np.abs(g))
            ):
                break
            t *= 0.5
            if t < 1e-12:
                return z, f, nfev
        improvement = f - f_new
        # BFGS update of the finite-difference Hessian while the step was a full one in a
        # region of positive curvature; otherwise recompute it at the new point
        s_step, y = z_new - z, g_new - g
        sy = float(s_step @ y)
        hs = hess @ s_step if hess is not None else None
        shs = float(s_step @ hs) if hs is not None else 0.0
        if hessian is None and t == 1.0 and sy > 0 and shs > 0 and w is not None and np.all(w > 0):
            hess = hess + np.outer(y, y) / sy - np.outer(hs, hs) / shs
        else:
            hess = None
        z, f, g = z_new, f_new, g_new
        if improvement <= 1e-14 * max(1.0, abs(f)) and np.max(np.abs(t * direction)) < 1e-10:
            break
    return z, f, nfev
