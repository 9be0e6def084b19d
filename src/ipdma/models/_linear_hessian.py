"""Profiled REML/ML deviance of the linear mixed model with a common residual variance:
value, analytic gradient and analytic Hessian in ``theta``, in one pass.

Notation as in ``_linear_criterion`` (``V0 = I + Z D Z'``, ``D = Lambda Lambda'``, ``P`` the
REML projection, ``c = dof / r2``). ``theta_k`` is entry ``(a_k, b_k)`` of ``Lambda``, so
``dD_k = e_a lambda_k' + lambda_k e_a'`` (``lambda_k`` column ``b_k`` of ``Lambda``) and
``d2D_kl = [b_k = b_l] (e_a_k e_a_l' + e_a_l e_a_k')``. With ``V_k = Z dD_k Z'`` (Harville 1977,
J Am Stat Assoc 72:320; Bates et al. 2015, J Stat Softw 67(1), section 3)::

    d dev / d theta_k = tr(P V_k) - c y'P V_k P y
    d2 dev / d theta_k d theta_l = tr(P V_kl) - tr(P V_k P V_l)
                                   + c (2 y'P V_k P V_l P y - y'P V_kl P y)
                                   - (c^2 / dof) (y'P V_k P y)(y'P V_l P y)

(ML: ``V0^{-1}`` in place of ``P`` in the two trace terms). Every term is a sum over trials
of small matrices: ``Z'PZ`` is block diagonal minus low rank, ``blockdiag(N_i) - G C G'``,
with ``N_i = Z_i'V0_i^{-1}Z_i - W_i A_i^{-1} W_i'`` (``W_i`` the ``Z_i'V0_i^{-1}`` products
with trial i's local fixed columns, ``A_i`` their Schur block), ``G_i`` the same products
with the global columns after eliminating the local ones and ``C`` the inverse Schur
complement on the global columns; ``u_i = Z_i'V0_i^{-1}(y_i - X_i beta)`` is trial i's part
of ``Z'P y``. Hence, with ``Gam_k = sum_i G_i' dD_k G_i`` and ``a_k = sum_i G_i' dD_k u_i``::

    tr(P V_k P V_l)   = Phi(N, N) - 2 Phi(N, G C G') + tr(C Gam_k C Gam_l)
    y'P V_k P V_l P y = Phi(N, u u') - a_k' C a_l

where ``Phi(X, Y)_kl = sum_i tr(X_i dD_k Y_i dD_l) = vec(dD_k)' M vec(dD_l)`` with the
``q^2 x q^2`` matrix ``M[(r,s),(t,p)] = sum_i X_i[p,r] Y_i[s,t]``: one Kronecker sum over
trials (a single matrix product) for all pairs ``k, l``. A Newton step costs O(K) small
matrix products whatever the number of participants. The unprofiled deviance (``sigma`` not
profiled, lmerTest's Satterthwaite df) has the same pieces with ``c = 1 / sigma^2`` and no
last term. ``tests/models/test_linear_hessian.py`` checks all of it against central
differences of the analytic gradient.
"""

from __future__ import annotations

import math
import weakref

import numpy as np

from ._linear_criterion import Criterion, _inv_logdet

__all__ = ["CommonDeviance", "common_deviance", "unprofiled_hessian"]

_LOG2PI = math.log(2 * math.pi)


def _small_inverse(C: np.ndarray) -> tuple[np.ndarray, float]:
    """Inverse and log determinant of one small symmetric positive definite matrix (raises
    ValueError or LinAlgError if it is not)."""
    k = C.shape[0]
    if k == 0:
        return C, 0.0
    if k == 1:
        return 1.0 / C, math.log(C[0, 0])
    if k == 2:
        a, b, d = float(C[0, 0]), float(C[0, 1]), float(C[1, 1])
        det = a * d - b * b
        return np.array([[d, -b], [-b, a]]) / det, math.log(det)
    inv, log_det = _inv_logdet(C[None])
    return inv[0], log_det


def _stack_inverse(M: np.ndarray) -> tuple[np.ndarray, float]:
    """Inverses of a stack of symmetric positive definite matrices, sum of log determinants."""
    if M.shape[-1] == 2:
        det = M[:, 0, 0] * M[:, 1, 1] - M[:, 0, 1] * M[:, 1, 0]
        inv = M[:, ::-1, ::-1] * _SIGN2
        inv /= det[:, None, None]
        return inv, float(np.log(det).sum())
    return _inv_logdet(M)


_SIGN2 = np.array([[1.0, -1.0], [-1.0, 1.0]])


class CommonDeviance:
    """The profiled (or unprofiled) deviance of a common-residual model, with its analytic
    gradient and Hessian in theta (module docstring). ``crit`` supplies the statistics.

    Per trial, ``Omega_i = [Z U]'[Z U]`` becomes ``[Z U]'V0_i^{-1}[Z U] = Omega_i - P_i'
    M_i^{-1} P_i`` (``P_i = Lambda'[Z'Z Z'U]``); sweeping out the trial's local fixed
    columns leaves ``N_i``, ``G_i``, the global Schur blocks and ``Z_i'V0_i^{-1}`` times the
    outcome with the local columns eliminated."""

    def __init__(self, crit: Criterion) -> None:
        assert not crit.stratified
        s = crit.s
        q, m, pg = crit.q, s.m, s.pg
        self.q, self.m, self.pg, self.K = q, m, pg, crit.K
        self.reml, self.dof = crit.reml, crit.dof
        cross = np.empty((crit.K, q + m + pg + 1, q + m + pg + 1))
        cross[:, :q, :q] = s.ZtZ
        cross[:, :q, q:] = s.ZtU
        cross[:, q:, :q] = np.swapaxes(s.ZtU, 1, 2)
        cross[:, q:, q:] = s.UtU
        if m:  # unused local slots: a unit diagonal keeps their block invertible
            cross[:, q : q + m, q : q + m] += s.pad
        self.cross = cross
        self.ones = np.ones(crit.K)
        self.ZtW = np.ascontiguousarray(cross[:, :q, :])
        self.flat = crit.rows * q + crit.cols
        self.rows, self.cols = crit.rows, crit.cols
        nt = self.nt = crit.n_theta
        self.eye = np.eye(q)
        self.same = 2.0 * (crit.cols[:, None] == crit.cols[None, :])
        self.arange = np.arange(nt)
        self.aa = np.ix_(crit.rows, crit.rows)
        self._memo: dict = {}
        self._best: tuple | None = None

    def _phi(self, Xf: np.ndarray, Yf: np.ndarray) -> np.ndarray:
        """The (q^2, q^2) matrix ``M`` with ``vec(A)' M vec(B) = sum_i tr(X_i A Y_i B)`` for
        stacks ``Xf``, ``Yf`` of q x q matrices flattened to (K, q^2)."""
        q = self.q
        T = (Xf.T @ Yf).reshape(q, q, q, q)  # T[p, r, s, t] = sum_i X_i[p, r] Y_i[s, t]
        return T.transpose(1, 2, 3, 0).reshape(q * q, q * q)

    def __call__(self, x: np.ndarray, order: int = 2, sigma: float | None = None):
        """``(deviance, gradient, Hessian, quad, r2)`` at theta ``x`` up to ``order`` (None
        above it; ``quad_k = y'P V_k P y`` with the Hessian), or None where the deviance is
        not finite. With ``sigma``: the unprofiled deviance's theta derivatives (quadratic
        forms weighted by ``1 / sigma^2``) and ``r2`` in place of the deviance.

        The last few evaluations are remembered (the checks after the optimizer ask again
        for its last point); the arrays returned are read-only."""
        x = np.asarray(x, dtype=float)
        key = (x.tobytes(), sigma)
        hit = self._memo.get(key)
        if hit is None and self._best is not None and self._best[0] == key:
            hit = self._best[1]
        if hit is not None and hit[0] >= order:
            return hit[1]
        out = self._evaluate(x, order, sigma)
        if out is not None:
            for value in out:
                if isinstance(value, np.ndarray):
                    value.flags.writeable = False
        if len(self._memo) >= 4:
            del self._memo[next(iter(self._memo))]
        self._memo[key] = (order, out)
        lowest = out is not None and sigma is None and order == 2
        if lowest and (self._best is None or out[0] < self._best[1][1][0]):
            self._best = (key, (order, out))  # and the lowest deviance evaluated
        return out

    def _evaluate(self, x: np.ndarray, order: int, sigma: float | None):
        q, m, pg, nt = self.q, self.m, self.pg, self.nt
        L = np.zeros((q, q))
        L.ravel()[self.flat] = x
        P = L.T @ self.ZtW  # Lambda'[Z'Z Z'U] per trial
        M = P[:, :, :q] @ L
        M += self.eye
        try:
            Minv, log_det = _stack_inverse(M)
            W = self.cross - np.swapaxes(P, 1, 2) @ (Minv @ P)  # [Z U]'V0^{-1}[Z U]
            if m == 1:  # sweep out the local column
                a = W[:, q, q]
                log_det_a = float(np.log(a).sum())
                W -= W[:, :, q : q + 1] * (W[:, q : q + 1, :] / a[:, None, None])
            elif m:
                Ainv, log_det_a = _stack_inverse(W[:, q : q + m, q : q + m])
                W -= W[:, :, q : q + m] @ (Ainv @ W[:, q : q + m, :])
            else:
                log_det_a = 0.0
            total = (self.ones @ W.reshape(self.K, -1)).reshape(W.shape[1:])  # sum over trials
            Cf = total[q + m :, q + m :]
            C, log_det_c = _small_inverse(Cf[:pg, :pg])
        except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):
            return None
        beta_g = C @ Cf[:pg, pg]
        r2 = max(float(Cf[pg, pg] - Cf[pg, :pg] @ beta_g), 1e-300)
        if sigma is None:
            dev = log_det + self.dof * (1 + _LOG2PI + math.log(r2 / self.dof))
            if self.reml:
                dev += log_det_a + log_det_c
            c = self.dof / r2
        else:
            dev, c = r2, 1.0 / (sigma * sigma)
        if not math.isfinite(dev):
            return None
        if order == 0:
            return dev, None, None, None, r2
        N = W[:, :q, :q]  # blocks of Z'PZ = blockdiag(N_i) - G C G'
        G = W[:, :q, q + m : q + m + pg]
        u = W[:, :q, -1] - G @ beta_g  # Z_i'V0_i^{-1}(y_i - X_i beta)
        GC = G @ C
        GCG = GC @ np.swapaxes(G, 1, 2)
        psi = total[:q, :q] - (self.ones @ GCG.reshape(self.K, -1)).reshape(q, q)
        if not self.reml:  # ML's trace terms use V0^{-1}: Z'V0^{-1}Z before the sweep
            Q = self.cross[:, :q, :q] - np.swapaxes(P[:, :, :q], 1, 2) @ (Minv @ P[:, :, :q])
            psi_tr = Q.sum(0)
        else:
            psi_tr = psi
        uu = u.T @ u
        core = psi_tr - c * uu
        grad = 2 * (core @ L).ravel()[self.flat]
        if order == 1:
            return dev, grad, None, None, r2
        # dD_k = e_a lambda_k' + lambda_k e_a' as rows vec(dD_k)
        Lc = L[:, self.cols].T
        dD = np.zeros((nt, q, q))
        dD[self.arange, self.rows, :] = Lc
        dD[self.arange, :, self.rows] += Lc
        DD = dD.reshape(nt, q * q)
        K, qq = self.K, q * q
        Y = 2 * GCG if self.reml else np.zeros_like(GCG)  # Y_i = 2c u_i u_i' - N_i + 2 G_i C G_i'
        if self.reml:
            Y -= N
        Y += (2 * c) * (u[:, :, None] * u[:, None, :])
        hess = DD @ self._phi(N.reshape(K, qq), Y.reshape(K, qq)) @ DD.T
        if not self.reml:  # ML's trace term: - Phi(Z'V0^{-1}Z, Z'V0^{-1}Z)
            Qf = Q.reshape(K, qq)
            hess -= DD @ self._phi(Qf, Qf) @ DD.T
        hess += self.same * core[self.aa]
        quad = DD @ uu.ravel()  # y'P V_k P y
        if pg:
            Gf = G.reshape(K, q * pg)
            Gu = (Gf.T @ u).reshape(q, pg, q).transpose(0, 2, 1).reshape(qq, pg)
            a = DD @ Gu  # a_k = sum_i G_i' dD_k u_i
            hess -= (2 * c) * (a @ C @ a.T)
            if self.reml:  # Gam_k = sum_i G_i' dD_k G_i
                GG = (Gf.T @ Gf).reshape(q, pg, q, pg).transpose(0, 2, 1, 3)
                Gam = (DD @ GG.reshape(qq, pg * pg)).reshape(nt, pg, pg)
                hess -= (C @ Gam).reshape(nt, -1) @ (Gam @ C).reshape(nt, -1).T
        if sigma is None:
            hess -= (c * c / self.dof) * np.outer(quad, quad)
        return dev, grad, (hess + hess.T) / 2, quad, r2


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def common_deviance(crit: Criterion) -> CommonDeviance:
    """The criterion's ``CommonDeviance`` (built once per criterion)."""
    out = _CACHE.get(crit)
    if out is None:
        out = _CACHE[crit] = CommonDeviance(crit)
    return out


def unprofiled_hessian(crit: Criterion, x: np.ndarray, sigma: float) -> np.ndarray:
    """Hessian of -2 log L (REML or ML, beta at its GLS value) in ``v = (theta, sigma)``
    (lmerTest's variance parameters), analytic; common residual variance::

        d2 / dtheta_k dtheta_l = tr(P V_kl) - tr(P V_k P V_l)
                                 + (2 y'P V_k P V_l P y - y'P V_kl P y) / sigma^2
        d2 / dtheta_k dsigma   = 2 y'P V_k P y / sigma^3
        d2 / dsigma^2          = -2 dof / sigma^2 + 6 r2 / sigma^4

    At the profiled ``sigma^2 = r2 / dof`` the theta block is the profiled deviance's
    Hessian plus ``(dof / r2^2) quad quad'`` (the term profiling removes), so the optimizer's
    last evaluation is reused."""
    evaluate = common_deviance(crit)
    out = evaluate(x)
    if out is None:
        raise np.linalg.LinAlgError("the deviance is not finite at the optimum")
    _, _, h_profiled, quad, r2 = out
    nt = crit.n_theta
    s2 = sigma * sigma
    c = crit.dof / r2
    if abs(c * s2 - 1) <= 1e-10:
        h_theta = h_profiled + (c * c / crit.dof) * np.outer(quad, quad)
    else:  # sigma away from its profiled value: the theta block at this sigma
        direct = evaluate(x, 2, sigma)
        if direct is None:
            raise np.linalg.LinAlgError("the deviance is not finite at the optimum")
        h_theta = direct[2]
    h = np.empty((nt + 1, nt + 1))
    h[:nt, :nt] = h_theta
    h[:nt, nt] = h[nt, :nt] = 2 * quad / (s2 * sigma)
    h[nt, nt] = -2 * crit.dof / s2 + 6 * r2 / (s2 * s2)
    return h
