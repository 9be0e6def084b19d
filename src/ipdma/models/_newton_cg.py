"""Trust-region Newton-CG for stratified residual variances with many trials.

The parameters are the covariance factor ``theta`` (a few, shared by all trials) and one log
residual-variance ratio ``l_i`` per trial (nlme's varIdent). Trial i's ratio enters only its
own cross-products and the few shared quantities (the residual scale, profiled out, and the
fixed effects), so minus the Hessian is a diagonal plus a low-rank matrix plus the ``theta``
couplings. Each Newton step solves ``H p = -g`` by preconditioned conjugate gradients with
Hessian-vector products from forward differences of the analytic gradient (one gradient
evaluation each, O(K) work), stopped at the trust radius or at negative curvature
(Steihaug). No K x K matrix is formed: BFGS costs O(K^2) per iteration and needs O(K)
iterations to learn the curvature (Nocedal & Wright 2006, Numerical Optimization,
algorithms 4.1 and 7.2).

Preconditioner: the profiled deviance of the variance ratios alone is, to first order,
``sum_i n_i (l_i + s) + rss_i exp(-l_i - s)`` minimised over the common scale ``s``, whose
curvature in ``l`` is ``diag(n) - n n' / N``; in the scaled coordinates ``sqrt(n_i / 2) l_i``
of ``_linear._scales`` this is ``2 (I - w w')`` with ``w_i = sqrt(n_i / N)``, inverted in O(K)
by the Sherman-Morrison formula. ``theta`` is left unpreconditioned (unit scale).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["newton_cg_minimize"]


def _preconditioner(weights: np.ndarray, n_dense: int) -> Callable[[np.ndarray], np.ndarray]:
    w = weights
    ww = float(w @ w)

    def apply(r: np.ndarray) -> np.ndarray:
        out = r.copy()
        rl = r[n_dense:]
        out[n_dense:] = 0.5 * (rl + w * (w @ rl) / (1.0 - ww))
        return out

    return apply


def newton_cg_minimize(
    fun: Callable[[np.ndarray], tuple[float, np.ndarray]],
    z0: np.ndarray,
    n_dense: int,
    weights: np.ndarray,
    *,
    gtol: float = 1e-9,
    max_iter: int = 500,
) -> tuple[np.ndarray, float, int]:
    """Minimise ``fun`` (value and gradient); ``weights``: ``sqrt(n_i / N)`` of the trials
    whose ratios are the parameters after the first ``n_dense``.

    Returns the minimiser, the minimum and the number of function evaluations.
    """
    z = np.asarray(z0, dtype=float).copy()
    n = len(z)
    precondition = _preconditioner(np.asarray(weights, dtype=float), n_dense)
    f, g = fun(z)
    nfev = 1
    radius = max(1.0, float(np.linalg.norm(z)))
    for _ in range(max_iter):
        if not np.isfinite(f) or np.max(np.abs(g), initial=0.0) < gtol:
            break
        gnorm = float(np.linalg.norm(g))
        tol = min(0.5, np.sqrt(gnorm)) * gnorm
        p, Hp = np.zeros(n), np.zeros(n)
        r = g.copy()
        y = precondition(r)
        d = -y
        ry = float(r @ y)
        for _ in range(2 * n + 2):
            h = 1e-7 / float(np.linalg.norm(d))
            _, g_h = fun(z + h * d)
            nfev += 1
            Hd = (g_h - g) / h
            dHd = float(d @ Hd)
            if not np.isfinite(dHd) or dHd <= 0:  # negative curvature: to the boundary
                tau = _to_boundary(p, d, radius)
                p, Hp = p + tau * d, Hp + tau * Hd
                break
            alpha = ry / dHd
            if np.linalg.norm(p + alpha * d) >= radius:
                tau = _to_boundary(p, d, radius)
                p, Hp = p + tau * d, Hp + tau * Hd
                break
            p, Hp = p + alpha * d, Hp + alpha * Hd
            r = r + alpha * Hd
            if np.linalg.norm(r) < tol:
                break
            y = precondition(r)
            ry_new = float(r @ y)
            d = -y + (ry_new / ry) * d
            ry = ry_new
        predicted = -float(g @ p + 0.5 * p @ Hp)
        f_new, g_new = fun(z + p)
        nfev += 1
        step = float(np.linalg.norm(p))
        ratio = (f - f_new) / predicted if predicted > 0 else -1.0
        if not np.isfinite(f_new) or ratio < 0.25:
            radius = 0.25 * step
        elif ratio > 0.75 and step >= 0.99 * radius:
            radius = 2.0 * radius
        if np.isfinite(f_new) and f_new <= f and ratio > 0.1:
            improvement = f - f_new
            z, f, g = z + p, f_new, g_new
            if improvement <= 1e-14 * max(1.0, abs(f)) and step < 1e-10:
                break
        elif radius < 1e-12:
            break
    return z, f, nfev


def _to_boundary(p: np.ndarray, d: np.ndarray, radius: float) -> float:
    """tau >= 0 with |p + tau d| = radius."""
    a, b, c = float(d @ d), 2.0 * float(p @ d), float(p @ p) - radius * radius
    return (-b + np.sqrt(max(b * b - 4 * a * c, 0.0))) / (2 * a)
