"""Trust-region Newton minimisation with an exact Hessian, for a few parameters.

Each step minimises the quadratic model ``g'p + p'Hp / 2`` within ``||p|| <= Delta``
(Moré & Sorensen 1983, SIAM J Sci Stat Comput 4:553; Nocedal & Wright 2006, Numerical
Optimization, algorithm 4.3): with ``H = V W V'``, ``p(lam) = -V (V'g / (W + lam))`` and
``lam >= max(0, -min W)`` the root of ``||p(lam)|| = Delta`` (the Newton step itself when H is
positive definite and the step fits; the "hard case", ``V'g`` orthogonal to the most negative
curvature, adds that eigenvector). The radius shrinks after poor agreement between model and
deviance (ratio below 1/4) and doubles after a good full-length step (ratio above 3/4);
steps that do not lower the value are not taken. Indefinite Hessians (near the boundary of
a variance parameter the deviance is concave in it) are handled by the model itself, without
the eigenvalue flipping of a line-search Newton method.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["trust_newton_minimize"]

_ACCEPT = 1e-4  # smallest ratio of actual to predicted decrease for a step to be taken
_FLAT = 1e-13  # relative change of the value that is rounding noise


def _subproblem(g: np.ndarray, hess: np.ndarray, radius: float) -> np.ndarray:
    """argmin of ``g'p + p'Hp / 2`` subject to ``||p|| <= radius``."""
    w, V = np.linalg.eigh(hess)
    gt = V.T @ g
    if w[0] > 0:
        p = -gt / w
        if np.linalg.norm(p) <= radius:
            return V @ p
    lo = max(0.0, -w[0])
    scale = max(1.0, float(np.max(np.abs(w))))
    # ||p(lam)|| falls from +inf (or the hard-case value) at lo to 0: bracket, then bisect
    # on the secular equation 1/||p|| = 1/radius with Newton's help (a few steps at n <= 8)
    mask = np.abs(gt) > 1e-14 * max(1.0, float(np.max(np.abs(gt))))

    def norm(lam: float) -> float:
        return float(np.linalg.norm(gt[mask] / (w[mask] + lam)))

    floor = lo + 1e-12 * scale
    if norm(floor) <= radius:  # hard case: fill up along the most negative curvature
        p = np.where(mask, -gt / np.where(mask, w + lo, 1.0), 0.0)
        extra = radius**2 - float(p @ p)
        p[0] += np.sqrt(max(extra, 0.0))
        return V @ p
    hi = lo + float(np.linalg.norm(gt)) / radius + scale
    lam = hi
    for _ in range(100):
        lam = min(max(lam, floor), hi)
        d = w[mask] + lam
        q = gt[mask] / d
        size = float(np.linalg.norm(q))
        if abs(size - radius) <= 1e-10 * radius:
            break
        if size > radius:
            lo = lam
        else:
            hi = lam
        # Newton on phi(lam) = 1/size - 1/radius (Nocedal & Wright, algorithm 4.3)
        dsize = -float(np.sum(q * q / d)) / size
        step = (1 / size - 1 / radius) / (dsize / size**2)
        lam_next = lam + step
        lam = lam_next if floor < lam_next < hi and lam_next > lo else (lo + hi) / 2
        if hi - lo <= 1e-15 * max(1.0, hi):
            break
    return V @ (-gt / (w + lam))


def trust_newton_minimize(
    fun: Callable[[np.ndarray], tuple[float, np.ndarray]],
    hessian: Callable[[np.ndarray], np.ndarray],
    z0: np.ndarray,
    *,
    gtol: float = 1e-8,
    max_iter: int = 200,
    keep_sign: np.ndarray | None = None,
) -> tuple[np.ndarray, float, int]:
    """Minimise ``fun`` (value and gradient; ``hessian(z)`` the exact Hessian at a point
    ``fun`` was last called at) from ``z0``.

    ``keep_sign`` marks components that may approach but not cross 0 in one step (at most
    90% of the way, or exactly to 0 from within 1e-3): for an even function of them (the
    diagonal of a Cholesky factor) a crossing only visits the mirror image.

    Returns the minimiser, the minimum and the number of function evaluations. Stops when
    the largest gradient component is below ``gtol`` or no step improves the value.
    """
    z = np.asarray(z0, dtype=float).copy()
    f, g = fun(z)
    nfev = 1
    radius = 0.5
    hess = None
    for _ in range(max_iter):
        if not np.isfinite(f) or np.max(np.abs(g)) < gtol:
            break
        if hess is None:
            hess = hessian(z)
            if not np.all(np.isfinite(hess)):
                break
        # the region is an ellipsoid: component j measured in units of max(0.5, |z_j|)
        # (a relative step for large components, an absolute one near 0)
        unit = np.maximum(0.5, np.abs(z))
        p = unit * _subproblem(unit * g, hess * np.outer(unit, unit), radius)
        if keep_sign is not None:
            crossing = keep_sign & (z != 0) & (np.sign(z + p) != np.sign(z))
            if crossing.any():
                # 90% of the way to 0; all the way (exactly 0) once within 1e-3 of it
                room = np.where(np.abs(z) <= 1e-3, 1.0, 0.9) * np.abs(z)
                ratio = float(np.max(np.abs(p[crossing]) / room[crossing]))
                if ratio > 1:
                    p = p / ratio
        predicted = -float(g @ p + 0.5 * p @ hess @ p)
        z_new = z + p
        f_new, g_new = fun(z_new)
        nfev += 1
        size = float(np.linalg.norm(p / unit))
        actual = f - f_new if np.isfinite(f_new) else -np.inf
        rho = actual / predicted if predicted > 0 else -np.inf
        # at the optimum the value is flat to rounding: accept a step that lowers the
        # gradient (the exact gradient still locates the optimum there)
        flat = (
            np.isfinite(f_new)
            and abs(f_new - f) <= _FLAT * max(1.0, abs(f))
            and np.max(np.abs(g_new)) < np.max(np.abs(g))
        )
        if rho < 0.25:
            radius = 0.25 * size
        elif rho > 0.75 and size >= 0.99 * radius:
            radius = 2 * radius
        if rho > _ACCEPT or flat:
            z, f, g, hess = z_new, f_new, g_new, None
            if actual <= 1e-14 * max(1.0, abs(f)) and float(np.max(np.abs(p))) < 1e-10:
                break
        elif radius < 1e-12 * max(1.0, float(np.linalg.norm(z))):
            break
    return z, f, nfev
