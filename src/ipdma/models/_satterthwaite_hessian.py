"""Analytic Hessian of the REML/ML deviance in the log residual-variance ratios.

Satterthwaite's df need the Hessian of ``-2 log L`` in the variance parameters
``v = (theta, sigma, log rho_i)``. With stratified residual variances there is one
``log rho_i`` per trial; differencing the gradient in each costs one O(K) gradient per
parameter, O(K^2) in all. The ``log rho`` block has a closed form instead (Harville 1977,
J Am Stat Assoc 72:320, the second derivatives of the REML likelihood)::

    d2(-2 log L) / dphi_a dphi_b = tr(P V_ab) - tr(P V_a P V_b)
                                   + 2 y'P V_a P V_b P y - y'P V_ab P y

for REML, and for ML with ``V^{-1}`` in place of ``P`` in the two trace terms,
with ``V = sigma^2 V0``, ``V0_i = rho_i I + Z_i D Z_i'``, ``V_a = V_aa = sigma^2 rho_a E_a``
(``E_a`` the identity on trial a's rows) and ``P`` the REML projection (``V^{-1}`` for ML).
Writing ``P0 = sigma^2 P`` and ``r = P0 y = V0^{-1} (y - X beta)``::

    H_ab = delta_ab g_a - rho_a rho_b ||P0_ab||_F^2 + 2 rho_a rho_b r_a' P0_ab r_b / sigma^2

where ``g_a = rho_a (tr P0_aa - |r_a|^2 / sigma^2)`` is the gradient. For ``a != b``,
``P0_ab = -V0_a^{-1} X_a H^{-1} X_b' V0_b^{-1}`` and ``H^{-1}`` restricted to two trials'
columns is ``F_a C F_b'`` (``C`` the inverse Schur complement on the global columns,
``F_a = [-A_a^{-1} B_a; I]``), so the off-diagonal part is minus a low-rank Gram matrix::

    H_ab = -q_a' Cm q_b,   q_a = rho_a [vec(F_a' G_a F_a), F_a' X_a' V0_a^{-2} e_a],
    Cm = blockdiag(C (x) C, 2 C / sigma^2),   G_a = X_a' V0_a^{-2} X_a

(``Cm`` is positive semi-definite): the ``log rho`` block is a diagonal minus a PSD matrix
of rank ``pg^2 + pg``, built and inverted in O(K). Powers of ``V0_a^{-1}`` come from the
trial's cross-products: ``V0^{-k} = rho^{-k} (I - Z W_k Z')`` with ``W_1 = Lambda M^{-1}
Lambda' / rho`` and ``W_{k+1} = W_k + W_1 - W_k Z'Z W_1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._linear_criterion import Criterion

__all__ = [
    "RhoBlock",
    "profiled_rho_hessian",
    "profiled_rho_solver",
    "rho_block",
    "woodbury_solver",
]


@dataclass(frozen=True)
class RhoBlock:
    """The ``log rho`` block of the Hessian, ``diag(d) - Q Cm Q'`` (trials in ``rho_index``)."""

    d: np.ndarray  # (R,)
    Q: np.ndarray  # (R, r)
    Cm: np.ndarray  # (r, r), positive semi-definite
    sigma_cross: np.ndarray  # (R,) d2 / dsigma dlog rho_i

    def dense(self) -> np.ndarray:
        return np.diag(self.d) - self.Q @ self.Cm @ self.Q.T

    def low_rank(self) -> np.ndarray:
        """W with ``Q Cm Q' = W W'``."""
        ev, vec = np.linalg.eigh(self.Cm)
        return self.Q @ (vec * np.sqrt(np.maximum(ev, 0.0)))


def woodbury_solver(d: np.ndarray, W: np.ndarray):
    """``X -> (diag(d) - W W')^{-1} X`` in O(len(d)), or None unless the matrix is positive
    definite (``d > 0`` and ``I - W' diag(d)^{-1} W`` positive definite: the inertia of a
    Schur complement, Haynsworth 1968). Also returns ``tr((diag(d) - W W')^{-1})``."""
    if not np.all(d > 0):
        return None
    Dinv = 1 / d
    DW = Dinv[:, None] * W
    cap = np.eye(W.shape[1]) - W.T @ DW
    cap_ev = np.linalg.eigvalsh(cap)
    if not np.all(cap_ev > 1e-12 * max(1.0, float(np.max(np.abs(cap_ev))))):
        return None
    cap_inv = np.linalg.inv(cap)

    def solve(X: np.ndarray) -> np.ndarray:
        DX = Dinv[:, None] * X if X.ndim == 2 else Dinv * X
        return DX + DW @ (cap_inv @ (DW.T @ X))

    return solve, float(Dinv.sum() + ((DW @ cap_inv) * DW).sum())


def _trace_of_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """tr(a_k b_k) for stacks of matrices (numpy's einsum loops are slow at K = 1,000)."""
    return (a * np.swapaxes(b, -1, -2)).sum(axis=(-2, -1))


def _quadratic(v: np.ndarray, a: np.ndarray) -> np.ndarray:
    """v_k' a_k v_k for stacks of vectors and matrices."""
    return ((a @ v[:, :, None])[:, :, 0] * v).sum(axis=1)


def _sym(a: np.ndarray) -> np.ndarray:
    return (a + np.swapaxes(a, -1, -2)) / 2


def rho_block(crit: Criterion, core: dict, sigma: float) -> RhoBlock:
    """The Hessian of the unprofiled deviance (REML or ML) in ``log rho_i``, i in rho_index."""
    s, m, pg = crit.s, crit.s.m, crit.s.pg
    sx = m + pg
    rho = 1 / core["irho"][:, 0, 0]
    irho = core["irho"]
    A = s.ZtZ
    W1 = core["L"] @ core["Minv"] @ core["L"].T * irho  # Lambda M^{-1} Lambda' / rho
    W1A = W1 @ A
    W2 = W1 + W1 - W1A @ W1
    W3 = W2 + W1 - W2 @ A @ W1
    ZtU = s.ZtU
    ZtUt = np.swapaxes(ZtU, 1, 2)
    U2 = (s.UtU - ZtUt @ _sym(W2) @ ZtU) * irho**2  # U' V0^{-2} U
    U3 = (s.UtU - ZtUt @ _sym(W3) @ ZtU) * irho**3  # U' V0^{-3} U
    tr_v1 = (s.n - _trace_of_product(W1, A)) / rho
    tr_v2 = (s.n - _trace_of_product(W2, A)) / rho**2
    w = crit.weights(core)  # U_i w_i = y_i - X_i beta
    G = U2[:, :sx, :sx]
    a = (U2[:, :sx, :] @ w[:, :, None])[:, :, 0]  # X' V0^{-2} e
    e3 = _quadratic(w, U3)  # e' V0^{-3} e
    e2 = _quadratic(w, U2)  # |r|^2
    C = core["Cinv"]
    K = crit.K
    F = np.zeros((K, sx, pg))
    F[:, m:, :] = np.eye(pg)
    if m:
        F[:, :m, :] = -core["AinvB"][:, :, :pg]
    Hii = F @ C @ np.swapaxes(F, 1, 2)  # H^{-1} on the trial's [local, global] columns
    if m:
        Hii[:, :m, :m] += core["Ainv"]
    # the trace terms use P (REML) or V^{-1} (ML); the quadratic forms in y use P for both
    # (beta at its GLS value minimises the quadratic form, so y'Py is its profiled value)
    Ht, Ct = (Hii, C) if crit.reml else (np.zeros_like(Hii), np.zeros_like(C))
    HG = Ht @ G
    tr_p = tr_v1 - np.einsum("kaa->k", HG)
    grad = rho * (tr_p - e2 / sigma**2)
    X3 = U3[:, :sx, :sx]
    p_norm = tr_v2 - 2 * _trace_of_product(Ht, X3) + _trace_of_product(HG, HG)
    r_quad = e3 - _quadratic(a, Hii)
    diag_h = grad - rho**2 * p_norm + 2 * rho**2 * r_quad / sigma**2

    Ft = np.swapaxes(F, 1, 2)
    G_hat = Ft @ G @ F  # (K, pg, pg)
    a_hat = (Ft @ a[:, :, None])[:, :, 0]
    Q = rho[:, None] * np.concatenate([G_hat.reshape(K, pg * pg), a_hat], axis=1)
    r = pg * pg + pg
    Cm = np.zeros((r, r))
    Cm[: pg * pg, : pg * pg] = np.kron(Ct, Ct)
    Cm[pg * pg :, pg * pg :] = 2 * C / sigma**2
    idx = crit.rho_index
    Q = Q[idx]
    d = diag_h[idx] + ((Q @ Cm) * Q).sum(axis=1)
    return RhoBlock(d=d, Q=Q, Cm=Cm, sigma_cross=(2 * rho * e2 / sigma**3)[idx])


def _profiled(crit: Criterion, x: np.ndarray) -> tuple[RhoBlock, np.ndarray]:
    core = crit.core(x)
    sigma = float(np.sqrt(core["r2"] / crit.dof))
    block = rho_block(crit, core, sigma)
    return block, block.sigma_cross / np.sqrt(4 * crit.dof / sigma**2)


def profiled_rho_hessian(crit: Criterion, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(d, W)`` with ``diag(d) - W W'`` the Hessian of the *profiled* deviance (``sigma`` at
    its optimum ``r2 / dof``) in the ``log rho`` parameters. Profiling subtracts
    ``h h' / H_ss`` (``h`` the ``sigma``-``log rho`` cross derivatives, ``H_ss = 4 dof /
    sigma^2`` at the optimum), one more low-rank column."""
    block, h = _profiled(crit, x)
    return block.d, np.concatenate([block.low_rank(), h[:, None]], axis=1)


def profiled_rho_solver(crit: Criterion, x: np.ndarray):
    """``r -> H^{-1} r`` for ``profiled_rho_hessian``, or None if it is not positive
    definite."""
    out = woodbury_solver(*profiled_rho_hessian(crit, x))
    return None if out is None else out[0]
