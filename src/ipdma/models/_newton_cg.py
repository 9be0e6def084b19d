"""Trust-region Newton-CG for stratified residual variances (from 8 trials up).

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

With ``hessian`` (``_linear._minimize``) the whole Hessian is known in O(K) form at each
iterate (an ``ArrowHessian``: the exact ratio block, and the ``theta`` columns by differences
of the analytic gradient, one evaluation per ``theta``): CG then multiplies by it without
evaluating the deviance, and is preconditioned by its exact inverse where it is positive
definite (the first CG step is the Newton step; otherwise the ``theta`` block's absolute
eigenvalues and the ratio block or the formula above). Every ``theta`` is scaled by its own
curvature, so the trust region means the same in every direction. A step is taken when it
achieves more than 1% of the decrease the model predicts; the iteration stops when the
Newton decrement ``g'H^{-1}g / 2`` is rounding (``_FLAT``), taken from the last Hessian
after a step the model predicted well (no new Hessian is built to find nothing to gain).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["ArrowHessian", "newton_cg_minimize"]

_FLAT = 1e-14  # relative deviance gain of a Newton step that is rounding noise
_DEFINITE = 1e-8  # smallest curvature of the theta block, relative to its largest, to invert


@dataclass(frozen=True)
class ArrowHessian:
    """``H = [[T, C'], [C, diag(d) - W W']]``: a dense block ``T`` of the first ``n_dense``
    parameters, their cross block ``C`` with the rest, and a diagonal-minus-low-rank block;
    products and solves cost O(len(d))."""

    dense: np.ndarray  # (n_dense, n_dense)
    cross: np.ndarray  # (R, n_dense)
    d: np.ndarray  # (R,)
    W: np.ndarray  # (R, r)

    def matvec(self, v: np.ndarray) -> np.ndarray:
        nd = self.dense.shape[0]
        vt, vr = v[:nd], v[nd:]
        out = np.empty_like(v)
        out[:nd] = self.dense @ vt + self.cross.T @ vr
        out[nd:] = self.cross @ vt + self.d * vr - self.W @ (self.W.T @ vr)
        return out

    def inverse(self) -> Callable[[np.ndarray], np.ndarray] | None:
        """``r -> H^{-1} r`` by block elimination (Woodbury for the ratio block, then the
        Schur complement of ``T``), or None unless H is positive definite."""
        from ._satterthwaite_hessian import woodbury_solver

        out = woodbury_solver(self.d, self.W)
        if out is None:
            return None
        solve_r = out[0]
        nd = self.dense.shape[0]
        Y = solve_r(self.cross)  # (R, n_dense)
        schur = self.dense - self.cross.T @ Y
        ev, vec = np.linalg.eigh((schur + schur.T) / 2)
        if nd and not ev[0] > _DEFINITE * max(float(ev[-1]), 0.0):
            return None  # indefinite or a direction without curvature (not identified)
        schur_inv = (vec / ev) @ vec.T

        def apply(r: np.ndarray) -> np.ndarray:
            yr = solve_r(r[nd:])
            xt = schur_inv @ (r[:nd] - self.cross.T @ yr)
            out = np.empty_like(r)
            out[:nd] = xt
            out[nd:] = yr - Y @ xt
            return out

        return apply

    def block_preconditioner(
        self, fallback: Callable[[np.ndarray], np.ndarray]
    ) -> Callable[[np.ndarray], np.ndarray]:
        """Where H is indefinite: the dense block by its absolute eigenvalues (floored at
        1e-3 of the largest), the ratio block by its inverse if positive definite, else
        ``fallback``; cross terms ignored."""
        from ._satterthwaite_hessian import woodbury_solver

        nd = self.dense.shape[0]
        if nd:
            ev, vec = np.linalg.eigh((self.dense + self.dense.T) / 2)
            mag = np.abs(ev)
            mag = np.maximum(mag, 1e-3 * max(float(mag.max()), 1e-300))
            dense_inv = (vec / mag) @ vec.T
        else:
            dense_inv = np.zeros((0, 0))
        out = woodbury_solver(self.d, self.W)
        solve_r = None if out is None else out[0]

        def apply(r: np.ndarray) -> np.ndarray:
            res = fallback(r) if solve_r is None else r.copy()
            res[:nd] = dense_inv @ r[:nd]
            if solve_r is not None:
                res[nd:] = solve_r(r[nd:])
            return res

        return apply


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
    hessian: Callable[[np.ndarray, np.ndarray], tuple[ArrowHessian | None, int]] | None = None,
) -> tuple[np.ndarray, float, int]:
    """Minimise ``fun`` (value and gradient); ``weights``: ``sqrt(n_i / N)`` of the trials
    whose ratios are the parameters after the first ``n_dense``.

    ``hessian(z, g)``, if given, returns the Hessian at z (or None: Hessian products by
    differences of the gradient, the Sherman-Morrison preconditioner) and the number of
    evaluations it took.

    Returns the minimiser, the minimum and the number of function evaluations.
    """
    z = np.asarray(z0, dtype=float).copy()
    n = len(z)
    default = _preconditioner(np.asarray(weights, dtype=float), n_dense)
    f, g = fun(z)
    nfev = 1
    radius = None  # in the preconditioner's norm; first: twice the preconditioned step's
    # at a rejected step z, g and the preconditioner stay, so CG repeats the same directions
    # until the (smaller) trust radius cuts it: their Hessian products are kept and reused
    products: list[np.ndarray] = []
    precondition = None
    arrow: ArrowHessian | None = None
    previous: Callable[[np.ndarray], np.ndarray] | None = None  # the last exact H^{-1}
    exact: Callable[[np.ndarray], np.ndarray] | None = None
    for _ in range(max_iter):
        if not np.isfinite(f) or np.max(np.abs(g), initial=0.0) < gtol:
            break
        gnorm = float(np.linalg.norm(g))
        tol = min(0.5, np.sqrt(gnorm)) * gnorm
        # after a step the quadratic model predicted well, the last Hessian's Newton
        # decrement g'H^{-1}g / 2 tells whether a new one could still gain anything
        if (
            precondition is None
            and previous is not None
            and 0 <= 0.5 * float(g @ previous(g)) <= _FLAT * max(1.0, abs(f))
        ):
            break
        if precondition is None:
            arrow = None
            if hessian is not None:
                arrow, used = hessian(z, g)
                nfev += used
            exact = None if arrow is None else arrow.inverse()
            precondition = exact or (
                default if arrow is None else arrow.block_preconditioner(default)
            )
        p, Hp = np.zeros(n), np.zeros(n)
        r = g.copy()
        y = precondition(r)
        d = -y
        ry = float(r @ y)
        if radius is None:
            radius = max(1.0, float(np.sqrt(ry)))
        # |p|_M^2, p'M d and |d|_M^2 in the norm of M (the preconditioner's inverse), by the
        # recurrences of preconditioned Steihaug CG (Conn, Gould & Toint 2000, Trust-Region
        # Methods, algorithm 7.5.1): no product with M is needed
        pp, pd, dd = 0.0, 0.0, ry
        for k in range(2 * n + 2):
            if arrow is not None:
                Hd = arrow.matvec(d)
            elif k < len(products):
                Hd = products[k]
            else:
                h = 1e-7 / float(np.linalg.norm(d))
                _, g_h = fun(z + h * d)
                nfev += 1
                Hd = (g_h - g) / h
                products.append(Hd)
            dHd = float(d @ Hd)
            if not np.isfinite(dHd) or dHd <= 0:  # negative curvature: to the boundary
                tau = _to_boundary(pp, pd, dd, radius)
                p, Hp = p + tau * d, Hp + tau * Hd
                pp = pp + 2 * tau * pd + tau * tau * dd
                break
            alpha = ry / dHd
            pp_new = pp + 2 * alpha * pd + alpha * alpha * dd
            if pp_new >= radius * radius:
                tau = _to_boundary(pp, pd, dd, radius)
                p, Hp = p + tau * d, Hp + tau * Hd
                pp = pp + 2 * tau * pd + tau * tau * dd
                break
            p, Hp, pp = p + alpha * d, Hp + alpha * Hd, pp_new
            r = r + alpha * Hd
            if np.linalg.norm(r) < tol:
                break
            y = precondition(r)
            ry_new = float(r @ y)
            beta = ry_new / ry
            pd = beta * (pd + alpha * dd)
            dd = ry_new + beta * beta * dd
            d = -y + beta * d
            ry = ry_new
        predicted = -float(g @ p + 0.5 * p @ Hp)
        if 0 <= predicted <= _FLAT * max(1.0, abs(f)) and float(np.sqrt(max(pp, 0.0))) < radius:
            break  # the Newton step would gain less than rounding: at the optimum
        f_new, g_new = fun(z + p)
        nfev += 1
        step = float(np.sqrt(max(pp, 0.0)))
        ratio = (f - f_new) / predicted if predicted > 0 else -1.0
        if not np.isfinite(f_new) or ratio < 0.25:
            radius = 0.25 * step
        elif ratio > 0.75 and step >= 0.99 * radius:
            radius = 3.0 * radius
        if np.isfinite(f_new) and f_new <= f and ratio > 0.01:
            improvement = f - f_new
            z, f, g = z + p, f_new, g_new
            products, precondition = [], None
            previous = exact if 0.5 < ratio < 2.0 else None
            if improvement <= 1e-14 * max(1.0, abs(f)) and float(np.linalg.norm(p)) < 1e-10:
                break
        elif radius < 1e-12:
            break
    return z, f, nfev


def _to_boundary(pp: float, pd: float, dd: float, radius: float) -> float:
    """tau >= 0 with |p + tau d|_M = radius, from |p|_M^2, p'M d and |d|_M^2."""
    c = pp - radius * radius
    return (-pd + np.sqrt(max(pd * pd - dd * c, 0.0))) / dd
