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

import math
from collections.abc import Callable

import numpy as np

__all__ = ["trust_newton_minimize"]

_ACCEPT = 1e-4  # smallest ratio of actual to predicted decrease for a step to be taken
_FLAT = 1e-13  # relative change of the value that is rounding noise


def _eigh(hess: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix; 2 x 2 in closed form
    (a Jacobi rotation, Golub & Van Loan 2013, section 8.5.2), larger ones by LAPACK."""
    if hess.shape[0] != 2:
        return np.linalg.eigh(hess)
    a, b, d = float(hess[0, 0]), float(hess[0, 1]), float(hess[1, 1])
    angle = 0.5 * math.atan2(2 * b, a - d)
    cs, sn = math.cos(angle), math.sin(angle)
    big = a * cs * cs + 2 * b * cs * sn + d * sn * sn  # along (cs, sn)
    small = a * sn * sn - 2 * b * cs * sn + d * cs * cs  # along (-sn, cs)
    return np.array([small, big]), np.array([[-sn, cs], [cs, sn]])


def _subproblem2(g: np.ndarray, hess: np.ndarray, radius: float) -> np.ndarray:
    """``_subproblem`` for two parameters on Python floats (the same steps)."""
    g0, g1 = float(g[0]), float(g[1])
    a, b, d = float(hess[0, 0]), float(hess[0, 1]), float(hess[1, 1])
    det = a * d - b * b
    if a > 0 and det > 0:  # positive definite: the Newton step, if it fits
        p0, p1 = (b * g1 - d * g0) / det, (b * g0 - a * g1) / det
        if math.hypot(p0, p1) <= radius:
            return np.array([p0, p1])
    angle = 0.5 * math.atan2(2 * b, a - d)
    cs, sn = math.cos(angle), math.sin(angle)
    w0 = a * sn * sn - 2 * b * cs * sn + d * cs * cs  # along (-sn, cs), the smaller
    w1 = a * cs * cs + 2 * b * cs * sn + d * sn * sn  # along (cs, sn)
    t0, t1 = -sn * g0 + cs * g1, cs * g0 + sn * g1  # V'g
    lo = max(0.0, -w0)
    scale = max(1.0, abs(w0), abs(w1))
    tiny = 1e-14 * max(1.0, abs(t0), abs(t1))
    m0, m1 = abs(t0) > tiny, abs(t1) > tiny
    floor = lo + 1e-12 * scale

    def size(lam: float) -> float:
        return math.hypot(t0 / (w0 + lam) if m0 else 0.0, t1 / (w1 + lam) if m1 else 0.0)

    if size(floor) <= radius:  # hard case: fill up along the most negative curvature
        q1 = -t1 / (w1 + lo) if m1 else 0.0
        q0 = (-t0 / (w0 + lo) if m0 else 0.0) + math.sqrt(max(radius**2 - q1 * q1, 0.0))
        return np.array([-sn * q0 + cs * q1, cs * q0 + sn * q1])
    hi = lo + math.hypot(t0, t1) / radius + scale
    lam = hi
    for _ in range(100):
        lam = min(max(lam, floor), hi)
        e0, e1 = (t0 / (w0 + lam) if m0 else 0.0), (t1 / (w1 + lam) if m1 else 0.0)
        norm = math.hypot(e0, e1)
        if abs(norm - radius) <= 1e-10 * radius:
            break
        if norm > radius:
            lo = lam
        else:
            hi = lam
        slope = -(e0 * e0 / (w0 + lam) + e1 * e1 / (w1 + lam)) / norm
        lam_next = lam + (1 / norm - 1 / radius) / (slope / norm**2)
        lam = lam_next if floor < lam_next < hi and lam_next > lo else (lo + hi) / 2
        if hi - lo <= 1e-15 * max(1.0, hi):
            break
    q0, q1 = -t0 / (w0 + lam), -t1 / (w1 + lam)
    return np.array([-sn * q0 + cs * q1, cs * q0 + sn * q1])


def _subproblem(g: np.ndarray, hess: np.ndarray, radius: float) -> np.ndarray:
    """argmin of ``g'p + p'Hp / 2`` subject to ``||p|| <= radius``."""
    if len(g) == 2:
        return _subproblem2(g, hess, radius)
    w, V = _eigh(hess)
    gt = V.T @ g
    if w[0] > 0:
        p = -gt / w
        if math.sqrt(float(p @ p)) <= radius:
            return V @ p
    lo = max(0.0, -float(w[0]))
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
    fun: Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray | None]],
    z0: np.ndarray,
    *,
    gtol: float = 1e-8,
    max_iter: int = 200,
    keep_sign: np.ndarray | None = None,
) -> tuple[np.ndarray, float, int]:
    """Minimise ``fun`` (value, gradient and exact Hessian; the Hessian may be None where the
    value is not finite) from ``z0``.

    ``keep_sign`` marks components that may approach but not cross 0 in one step (at most
    90% of the way, or exactly to 0 from within 1e-3): for an even function of them (the
    diagonal of a Cholesky factor) a crossing only visits the mirror image. The region is
    an ellipsoid: component j is measured in units of ``max(0.5, |z_j|)`` (a relative step
    for large components, an absolute one near 0), radius 0.5 at the start.

    Returns the minimiser, the minimum and the number of function evaluations. Stops when
    the largest gradient component is below ``gtol`` or no step improves the value.
    """
    z = np.asarray(z0, dtype=float).copy()
    f, g, hess = fun(z)
    nfev = 1
    radius = 0.5
    keep = np.flatnonzero(keep_sign) if keep_sign is not None else np.zeros(0, np.intp)
    for _ in range(max_iter):
        gmax = max(map(abs, g.tolist()))
        if not math.isfinite(f) or gmax < gtol or hess is None or not np.isfinite(hess).all():
            break
        unit = np.maximum(0.5, np.abs(z))
        p = unit * _subproblem(unit * g, hess * np.outer(unit, unit), radius)
        for j in keep.tolist():
            if z[j] != 0 and (z[j] + p[j]) * z[j] < 0:
                # 90% of the way to 0; all the way (exactly 0) once within 1e-3 of it
                room = (1.0 if abs(z[j]) <= 1e-3 else 0.9) * abs(z[j])
                p = p * (room / abs(p[j]))
        predicted = -float(g @ p + 0.5 * (p @ hess @ p))
        z_new = z + p
        f_new, g_new, hess_new = fun(z_new)
        nfev += 1
        scaled = p / unit
        size = math.sqrt(float(scaled @ scaled))
        actual = f - f_new if math.isfinite(f_new) else -math.inf
        rho = actual / predicted if predicted > 0 else -math.inf
        # at the optimum the value is flat to rounding: accept a step that lowers the
        # gradient (the exact gradient still locates the optimum there)
        flat = (
            math.isfinite(f_new)
            and abs(f_new - f) <= _FLAT * max(1.0, abs(f))
            and max(map(abs, g_new.tolist())) < gmax
        )
        if rho < 0.25:
            radius = 0.25 * size
        elif rho > 0.75 and size >= 0.99 * radius:
            radius = 2 * radius
        if rho > _ACCEPT or flat:
            z, f, g, hess = z_new, f_new, g_new, hess_new
            if actual <= 1e-14 * max(1.0, abs(f)) and max(map(abs, p.tolist())) < 1e-10:
                break
        elif radius < 1e-12 * max(1.0, math.sqrt(float(z @ z))):
            break
    return z, f, nfev
