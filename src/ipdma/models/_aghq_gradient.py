"""First derivatives of the AGHQ log-likelihood (``_aghq``), all trials at once.

For trial i, ``log Q = log|S| + log sum_k w_k exp(g_k)`` with ``g_k = h(v_k; t) + |z_k|^2/2``
on the nodes ``v_k = u_hat + S z_k``, depends on a parameter ``t_j`` (a coefficient or an
entry of ``L``; ``dL/dt_j = E_j``, 0 for a coefficient) directly and through the grid, which
moves with the conditional mode ``u_hat(t)`` and the factor ``S = R^{-T}`` of
``H(t) = L' M L + I``, ``M = sum_r w_r z_r z_r'``:

* the linear predictor at the mode moves by ``d eta_r / dt_j = f_r' J_j`` (``f_r = (x_r,
  z_r)``), ``J_j = (e_j, E_j u_hat + L u_j)`` with ``u_j = du_hat/dt_j = H^-1 c_j`` and
  ``c_j = E_j' zeta - L' G D_j`` (implicit function theorem; ``G = sum_r w_r z_r f_r'``,
  ``D_j = (e_j, E_j u_hat)``, ``zeta = sum_r e_r z_r``);
* ``H_j = E_j' M L + L' M E_j + L' M_j L`` with ``M_j = sum_r w'_r (f_r' J_j) z_r z_r'`` (the
  third derivative of the log-likelihood, ``w' = m b'''``, ``_family``);
* the Cholesky factor: ``P_j = R^-1 H_j R^-T``, ``X_j = Phi(P_j)`` (lower triangle, half
  diagonal), ``dR = R X_j``, ``S_j = -S X_j'``, ``d log|S| = -tr(P_j) / 2``;
* on node k the linear predictor moves by ``f_r' (J_j + (0, B_j z_k))``,
  ``B_j = E_j S + L S_j``, and the node by ``u_j + S_j z_k``, so

      d log Q / dt_j = -tr(P_j)/2 + sbar' J_j + <Xi, B_j> - sum_k pi_k v_k' (u_j + S_j z_k)

  with the posterior node sums of ``_aghq_nodes`` (``sbar``, ``Xi``, ``zbar``, ``Z2``).

``FirstOrder`` keeps these pieces for the Hessian (``_aghq_hessian``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from ._aghq_nodes import trial_sums

__all__ = ["FirstOrder", "first_order", "phi", "total_gradient", "upper"]


@cache
def upper(d: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the upper triangle (``a <= b``) of a d x d matrix."""
    return np.triu_indices(d)


def phi(P: np.ndarray) -> np.ndarray:
    """Lower triangle of P with half its diagonal (derivative of the Cholesky factor)."""
    out = np.tril(P)
    d = np.arange(P.shape[-1])
    out[..., d, d] *= 0.5
    return out


def _t(A: np.ndarray) -> np.ndarray:
    return np.swapaxes(A, -1, -2)


@dataclass(frozen=True)
class FirstOrder:
    """First derivatives of the grid with respect to the P parameters, per trial."""

    ud: np.ndarray  # (K, P, q) du_hat/dt_j
    J: np.ndarray  # (K, P, p+q) d eta_r(u_hat) / dt_j = f_r' J_j
    eta_d: np.ndarray  # (P, n) the same per row
    Mj: np.ndarray  # (K, P, q, q) dM/dt_j
    EtM: np.ndarray  # (K, P, q, q) E_j' M
    Pj: np.ndarray  # (K, P, q, q) R^-1 H_j R^-T
    Xj: np.ndarray  # (K, P, q, q) Phi(P_j) = R^-1 dR/dt_j
    Sj: np.ndarray  # (K, P, q, q) dS/dt_j
    B: np.ndarray  # (K, P, q, q) E_j S + L S_j
    dlogS: np.ndarray  # (K, P) d log|S| / dt_j


def first_order(data, L: np.ndarray, at) -> FirstOrder:
    """The derivatives of the mode, of ``H`` and of its Cholesky factor (module docstring)."""
    E = data.unit_lower
    p, q, starts = data.n_coef, data.q, data.starts
    K, P, n = data.ntrials, E.shape[0], len(data.y)
    D = np.zeros((K, P, p + q))
    D[:, np.arange(p), np.arange(p)] = 1.0
    D[:, :, p:] = np.einsum("jab,kb->kja", E, at.u)
    zeta = at.s[:, p:]
    c = np.einsum("jba,kb->kja", E, zeta) - np.einsum("kaf,kjf->kja", at.G, D) @ L
    ud = c @ at.Hinv
    J = D
    J[:, :, p:] += ud @ L.T
    eta_d = np.zeros((P, n))
    eta_d[:p] = data.XT
    g = data.trial_index
    for a in range(q):
        eta_d += data.ZT[a] * np.ascontiguousarray(J[:, :, p + a].T)[:, g]
    q2 = q * (q + 1) // 2
    Mj_sym = trial_sums((eta_d[:, None, :] * (data.ZZS * at.w1)[None]).reshape(P * q2, n), starts)
    Mj = _sym(Mj_sym.T.reshape(K, P, q2), q)
    EtM = np.einsum("jba,kbc->kjac", E, at.M)
    EtML = EtM @ L
    Hj = EtML + _t(EtML) + L.T @ Mj @ L
    Pj = at.Rinv[:, None] @ Hj @ at.S[:, None]
    Xj = phi(Pj)
    Sj = -(at.S[:, None] @ _t(Xj))
    B = np.einsum("jab,kbc->kjac", E, at.S) + L @ Sj
    dlogS = -0.5 * np.trace(Pj, axis1=2, axis2=3)
    return FirstOrder(ud, J, eta_d, Mj, EtM, Pj, Xj, Sj, B, dlogS)


def _sym(values: np.ndarray, d: int) -> np.ndarray:
    """(..., d(d+1)/2) distinct entries (``a <= b``) -> (..., d, d) symmetric."""
    a, b = upper(d)
    out = np.empty((*values.shape[:-1], d, d))
    out[..., a, b] = values
    out[..., b, a] = values
    return out


def total_gradient(data, at, first: FirstOrder, sums) -> np.ndarray:
    """(K, P) exact gradient of every trial's ``log Q``."""
    u, S = at.u, at.S
    grad = first.dlogS + np.einsum("kf,kjf->kj", sums.sbar, first.J)
    grad -= np.einsum("ka,kja->kj", u, first.ud)
    if not sums.laplace:
        Szbar = np.einsum("kab,kb->ka", S, sums.zbar)
        grad += np.einsum("kab,kjab->kj", sums.Xi, first.B)
        grad -= np.einsum("ka,kjab,kb->kj", u, first.Sj, sums.zbar)
        grad -= np.einsum("ka,kja->kj", Szbar, first.ud)
        grad -= np.einsum("kab,kjac,kcb->kj", S, first.Sj, sums.Z2)
    return grad
