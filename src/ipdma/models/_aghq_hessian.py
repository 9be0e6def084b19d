"""The exact Hessian of the AGHQ log-likelihood (``_aghq``), all trials at once.

Differentiating ``log Q = log|S| + log sum_k w_k exp(g_k)`` twice (notation of
``_aghq_gradient``; ``pi_k`` the posterior node weights)::

    d2 log Q / dt_i dt_j = d2 log|S| + sum_k pi_k g_k,ij + sum_k pi_k (g_k,i - gbar_i)(g_k,j - gbar_j)

* second derivatives of the mode, from differentiating ``grad_u h(u_hat(t); t) = 0`` twice:
  ``H u_ij = E_j' zeta_i + E_i' zeta_j - L' T_ij - L' M (E_i u_j + E_j u_i)`` with the total
  ``zeta_j = -G J_j`` and ``T_ij = sum_r w'_r (f_r'J_i)(f_r'J_j) z_r``; the linear predictor
  at the mode then moves by ``z_r' d_ij``, ``d_ij = E_i u_j + E_j u_i + L u_ij``;
* ``M_ij = sum_r [w''_r (f_r'J_i)(f_r'J_j) + w'_r z_r'd_ij] z_r z_r'`` (``w'' = m b''''``),
  ``H_ij = Y_ij + Y_ij' + L' M_ij L`` with ``Y_ij = E_j' M E_i + E_j' M_i L + E_i' M_j L``;
* the Cholesky factor: ``Q_ij = R^-1 H_ij R^-T - X_i P_j - P_j X_i'``,
  ``S_ij = S (X_i' X_j' - Phi(Q_ij)')``, ``d2 log|S| = -tr(R^-1 H_ij R^-T)/2 + tr(P_i P_j)/2``;
* on node k: ``g_k,ij = -sum_r w_rk (f_r'J_ki)(f_r'J_kj) + zeta_k'(d_ij + C_ij z_k)
  - v_k,i'v_k,j - v_k'v_k,ij`` with ``J_kj = J_j + (0, B_j z_k)``, ``C_ij = E_i S_j + E_j S_i
  + L S_ij``, ``v_k,j = u_j + S_j z_k``, ``v_k,ij = u_ij + S_ij z_k``. The weighted sums over
  nodes and rows reduce to the row moments ``sum_k pi_k w_rk (1, z_k, z_k z_k')``
  (``NodeSums.W``); the covariance term needs the node scores ``s_k`` themselves.

The second derivatives of ``u_hat``, ``H`` and ``S`` are never formed: each enters linearly,
so it is contracted with the weights of the gradient (``_aghq_gradient.Adjoint``:
``Omega`` for ``H_ij``, ``rho`` for the right-hand side of ``u_ij``), which reduces the sums
over rows to one weighted sum of ``(f_r'J_i)(f_r'J_j)`` per pair of parameters. The result
is checked against central differences of the log-likelihood
(``tests/models/test_aghq_derivatives.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._aghq_gradient import Adjoint, _mv, _sym, _t, phi, upper
from ._aghq_nodes import _rows, trial_products

__all__ = ["FirstOrder", "first_order", "total_hessian"]


@dataclass(frozen=True)
class FirstOrder:
    """First derivatives of the grid with respect to the P parameters, per trial
    (``_aghq_gradient`` docstring)."""

    ud: np.ndarray  # (K, P, q) du_hat/dt_j
    J: np.ndarray  # (K, P, p+q) d eta_r(u_hat) / dt_j = f_r' J_j
    eta_d: np.ndarray  # (P, n) the same per row
    Mj: np.ndarray  # (K, P, q, q) dM/dt_j
    Pj: np.ndarray  # (K, P, q, q) R^-1 H_j R^-T
    Xj: np.ndarray  # (K, P, q, q) Phi(P_j) = R^-1 dR/dt_j
    Sj: np.ndarray  # (K, P, q, q) dS/dt_j
    B: np.ndarray  # (K, P, q, q) E_j S + L S_j


def first_order(data, L: np.ndarray, at, *, laplace: bool = False) -> FirstOrder:
    """The derivatives of the mode, of ``H`` and of its Cholesky factor, per parameter
    (``laplace``: without those of the factor, ``Xj``, ``Sj``, ``B``, which are then ``Pj``)."""
    E = data.unit_lower
    p, q, starts = data.n_coef, data.q, data.starts
    K, P, n = data.ntrials, E.shape[0], len(data.y)
    J = np.zeros((K, P, p + q))
    J[:, np.arange(p), np.arange(p)] = 1.0
    J[:, :, p:] = np.einsum("jab,kb->kja", E, at.u)  # D_j
    c = np.einsum("jba,kb->kja", E, at.s[:, p:]) - (J @ _t(at.G)) @ L
    ud = c @ at.Hinv
    J[:, :, p:] += ud @ L.T
    eta_d = np.zeros((P, n))
    eta_d[:p] = data.XT
    for a in range(q):  # rows are sorted by trial: repeat each trial's value over its rows
        eta_d += data.ZT[a] * np.repeat(J[:, :, p + a].T, data.counts, axis=1)
    Mj = _sym(trial_products(eta_d, data.ZZS * at.w1, starts), q)
    EtML = np.einsum("jba,kbc->kjac", E, at.M) @ L
    Hj = EtML + _t(EtML) + L.T @ Mj @ L
    Pj = at.Rinv[:, None] @ Hj @ at.S[:, None]
    if laplace:  # no nodes off the mode: the factor's derivatives are not needed
        return FirstOrder(ud, J, eta_d, Mj, Pj, Pj, Pj, Pj)
    Xj = phi(Pj)
    Sj = -(at.S[:, None] @ _t(Xj))
    B = np.einsum("jab,kbc->kjac", E, at.S) + L @ Sj
    return FirstOrder(ud, J, eta_d, Mj, Pj, Xj, Sj, B)


def _frob(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """(K, P, P): ``<A_i, B_j>`` (sum of the elementwise products) for stacks (K, P, ...)."""
    K, P = A.shape[:2]
    return A.reshape(K, P, -1) @ B.reshape(K, B.shape[1], -1).transpose(0, 2, 1)


def total_hessian(
    data, L: np.ndarray, at, adj: Adjoint, sums, nodes
) -> tuple[np.ndarray, np.ndarray]:
    """(K, P, P) exact Hessian of every trial's ``log Q`` (module docstring), and (K, P, q)
    the derivatives of the conditional modes ``du_hat/dt_j`` (a by-product)."""
    E = data.unit_lower
    p = data.n_coef
    M = at.M
    first = first_order(data, L, at, laplace=sums.laplace)
    ud, J, Pj, Xj, Sj, B = first.ud, first.J, first.Pj, first.Xj, first.Sj, first.B
    K = ud.shape[0]
    E_k = np.broadcast_to(E, (K, *E.shape))
    rho, Omega_s = adj.rho, adj.Omega_s
    kappa = sums.sbar[:, p:] + adj.tau[:, p:] - _mv(M @ L, rho)

    # one weighted sum over rows of eta_ri eta_rj: -sum_k pi_k w_rk, the w'' part of M_ij
    # (weight z' L Omega L' z) and the w' part of the right-hand side of u_ij (-z' L rho)
    zLrho = _rows(data.ZT, rho @ L.T, data.trial_index)  # z_r' L rho_i
    omega = at.w2 * adj.quad - at.w1 * zLrho - sums.W[0]
    hess = trial_products(first.eta_d * omega, first.eta_d, data.starts)

    zeta_d = -(J @ _t(at.G))  # total derivative of zeta at the mode
    Z1 = zeta_d @ _t(np.einsum("jab,kb->kja", E, rho))  # zeta_i . (E_j rho)
    N1 = np.einsum("jba,kb->kja", E, kappa) @ _t(ud)  # (E_i' kappa) . u_j
    G1 = _frob(first.Mj @ (L @ Omega_s)[:, None], E_k)  # <E_j' M_i L, Omega_s>
    G0 = _frob(M[:, None] @ E[None] @ Omega_s[:, None], E_k)  # <E_j' M E_i, Omega_s>
    sym = Z1 + N1 + G1
    hess += sym + _t(sym) + G0
    hess += 0.5 * _frob(Pj, Pj) - ud @ _t(ud)
    if not sums.laplace:
        At, Psi = adj.At, adj.Psi
        hess += _frob(Xj, _t(Xj) @ At[:, None])
        hess += _frob(_t(Xj) @ Psi[:, None] + Psi[:, None] @ Xj, Pj)
        V1, UB = _node_weight_terms(data, first, sums.W)
        EXi = np.einsum("iba,kbc->kiac", E, sums.Xi)  # E_i' Xi
        Szb = np.einsum("kjab,kb->kja", Sj, sums.zbar)
        sym = _frob(EXi, Sj) - _frob(V1, B) - ud @ _t(Szb)
        hess += sym + _t(sym) - _frob(B, UB) - _frob(Sj, Sj @ sums.Z2[:, None])
        hess += _score_covariance(data, at, first, sums, nodes)
    return 0.5 * (hess + _t(hess)), ud


def _node_weight_terms(data, first: FirstOrder, W: np.ndarray):
    """``V1_i = sum_r eta_ri z_r W1_r'`` (K,P,q,q) and ``UB_j = sum_r z_r z_r' B_j W2_r``
    contracted as ``[a, b] = sum_cd U2[a,b,c,d] B_j[c,d]`` with
    ``U2[a,b,c,d] = sum_r z_ra z_rc W2_r[b,d]`` (``W1``, ``W2``: node moments of the weights)."""
    q, starts, n = data.q, data.starts, W.shape[1]
    K, P = first.B.shape[:2]
    W1, W2 = W[1 : 1 + q], W[1 + q :]
    zw = (data.ZT[:, None, :] * W1[None]).reshape(q * q, n)
    V1 = trial_products(first.eta_d, zw, starts).reshape(K, P, q, q)
    q2 = W2.shape[0]
    U = trial_products(data.ZZS, W2, starts)
    index = np.empty((q, q), dtype=np.intp)
    a, b = upper(q)
    index[a, b] = index[b, a] = np.arange(q2)
    U2 = U[:, index[:, None, :, None], index[None, :, None, :]]  # [a,b,c,d]: z_a z_c W2_bd
    return V1, np.einsum("kabcd,kjcd->kjab", U2, first.B)


def _score_covariance(data, at, first: FirstOrder, sums, nodes) -> np.ndarray:
    """``sum_k pi_k (g_k,i - gbar_i)(g_k,j - gbar_j)`` from the node scores ``s_k``."""
    p = data.n_coef
    s = sums.s_nodes
    V = at.u[:, None, :] + nodes @ _t(at.S)  # (K, N, q) nodes v_k = u + S z_k
    Bz = np.einsum("kjab,nb->knja", first.B, nodes)  # B_j z_k
    Sz = np.einsum("kjab,nb->knja", first.Sj, nodes)  # S_j z_k
    g = s @ _t(first.J)
    g += np.einsum("kna,knja->knj", s[..., p:], Bz)
    g -= V @ _t(first.ud)
    g -= np.einsum("kna,knja->knj", V, Sz)
    pi = sums.pi
    g -= np.einsum("kn,knj->kj", pi, g)[:, None, :]
    return _t(g * pi[:, :, None]) @ g
