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

The result is checked against central differences of the log-likelihood
(``tests/models/test_aghq_hessian.py``).
"""

from __future__ import annotations

import numpy as np

from ._aghq_gradient import FirstOrder, _t, phi, upper
from ._aghq_nodes import trial_sums

__all__ = ["total_hessian"]


def _frob(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """(K, P, P): ``<A_i, B_j>`` (sum of the elementwise products) for stacks (K, P, ...)."""
    K, P = A.shape[:2]
    return A.reshape(K, P, -1) @ B.reshape(K, B.shape[1], -1).transpose(0, 2, 1)


def _rows_quadratic(data, Omega: np.ndarray) -> np.ndarray:
    """``z_r' Omega_i z_r`` per row for symmetric (K, q, q) ``Omega``."""
    a, b = upper(data.q)
    coef = np.where(a == b, 1.0, 2.0) * Omega[:, a, b]  # (K, q2)
    return np.einsum("cr,rc->r", data.ZZS, coef[data.trial_index])


def total_hessian(data, L: np.ndarray, at, first: FirstOrder, sums, nodes) -> np.ndarray:
    """(K, P, P) exact Hessian of every trial's ``log Q`` (module docstring).

    The second derivatives of ``u_hat``, ``H`` and ``S`` are never formed: every place they
    enter is linear in them, so they are contracted with the per-trial weights they meet
    (``Omega`` for ``H_ij``, ``rho`` for the right-hand side of ``u_ij``), which reduces the
    sums over rows to one weighted sum of ``eta_ri eta_rj`` per pair of parameters.
    """
    E = data.unit_lower
    p = data.n_coef
    S, Rinv, Hinv, M, u = at.S, at.Rinv, at.Hinv, at.M, at.u
    ud, J, Pj, Xj, Sj, B = first.ud, first.J, first.Pj, first.Xj, first.Sj, first.B
    g, starts = data.trial_index, data.starts
    K, P = ud.shape[:2]
    zeta_bar = sums.sbar[:, p:]

    # weights of H_ij: the log-determinant and the factor S_ij on the nodes, tr(S_ij A)
    A = _t(sums.Xi) @ L - sums.zbar[:, :, None] * u[:, None, :] - sums.Z2 @ _t(S)
    At = A @ S
    Psi = phi(At)
    Omega = -0.5 * Hinv - _t(Rinv) @ Psi @ Rinv
    Omega_s = Omega + _t(Omega)
    Omega_M = 0.5 * (L @ Omega_s @ L.T)
    quad = _rows_quadratic(data, Omega_M)  # z_r' Omega_M z_r
    tau = trial_sums(data.ZT * (at.w1 * quad), starts).T  # dhat_ij . tau from M_ij
    # weights of u_ij = H^-1 rhs_ij
    gamma = -u - np.einsum("kab,kb->ka", S, sums.zbar) + (zeta_bar + tau) @ L
    rho = np.einsum("kab,kb->ka", Hinv, gamma)
    Lrho = rho @ L.T
    kappa = zeta_bar + tau - np.einsum("kab,kb->ka", M @ L, rho)

    # one weighted sum over rows of eta_ri eta_rj
    W0 = sums.W[0]
    zLrho = np.einsum("ar,ra->r", data.ZT, Lrho[g])
    omega = at.w2 * quad - at.w1 * zLrho - W0
    i, j = upper(P)
    pair = trial_sums(first.eta_d[i] * first.eta_d[j] * omega, starts).T
    hess = np.empty((K, P, P))
    hess[:, i, j] = pair
    hess[:, j, i] = pair

    zeta_d = -(J @ _t(at.G))  # total d zeta / dt_j
    Z1 = zeta_d @ _t(np.einsum("jab,kb->kja", E, rho))  # zeta_i . (E_j rho)
    N1 = np.einsum("jba,kb->kja", E, kappa) @ _t(ud)  # (E_i' kappa) . u_j
    G1 = _frob(first.Mj @ (L @ Omega_s)[:, None], np.broadcast_to(E, (K, *E.shape)))
    G0 = _frob(M[:, None] @ E[None] @ Omega_s[:, None], np.broadcast_to(E, (K, *E.shape)))
    sym = Z1 + N1 + G1
    hess += sym + _t(sym) + G0
    hess += 0.5 * _frob(Pj, Pj) - ud @ _t(ud)
    if not sums.laplace:
        hess += _frob(Xj, _t(Xj) @ At[:, None])
        hess += _frob(_t(Xj) @ Psi[:, None] + Psi[:, None] @ Xj, Pj)
        V1, UB = _node_weight_terms(data, first, sums.W)
        EXi = np.einsum("iba,kbc->kiac", E, sums.Xi)  # E_i' Xi
        Szb = np.einsum("kjab,kb->kja", Sj, sums.zbar)
        sym = _frob(EXi, Sj) - _frob(V1, B) - ud @ _t(Szb)
        hess += sym + _t(sym) - _frob(B, UB) - _frob(Sj, Sj @ sums.Z2[:, None])
        hess += _score_covariance(data, at, first, sums, nodes)
    return 0.5 * (hess + _t(hess))


def _node_weight_terms(data, first: FirstOrder, W: np.ndarray):
    """``V1_i = sum_r eta_ri z_r W1_r'`` (K,P,q,q) and ``UB_j = sum_r z_r z_r' B_j W2_r``
    contracted as ``[a, b] = sum_cd U2[a,b,c,d] B_j[c,d]`` with
    ``U2[a,b,c,d] = sum_r z_ra z_rc W2_r[b,d]`` (``W1``, ``W2``: node moments of the weights)."""
    q, starts, n = data.q, data.starts, W.shape[1]
    K, P = first.B.shape[:2]
    W1, W2 = W[1 : 1 + q], W[1 + q :]
    zw = (data.ZT[:, None, :] * W1[None]).reshape(q * q, n)
    V1 = trial_sums((first.eta_d[:, None, :] * zw[None]).reshape(-1, n), starts)
    V1 = V1.T.reshape(K, P, q, q)
    q2 = W2.shape[0]
    U = trial_sums((data.ZZS[:, None, :] * W2[None]).reshape(q2 * q2, n), starts)
    U = U.T.reshape(K, q2, q2)
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
