"""First derivatives of the AGHQ log-likelihood (``_aghq``), all trials at once.

For trial i, ``log Q = log|S| + log sum_k w_k exp(g_k)`` with ``g_k = h(v_k; t) + |z_k|^2/2``
on the nodes ``v_k = u_hat + S z_k``, depends on a parameter ``t_j`` (a coefficient or an
entry of ``L``; ``dL/dt_j = E_j``, 0 for a coefficient) directly and through the grid, which
moves with the conditional mode ``u_hat(t)`` and the factor ``S = R^{-T}`` of
``H(t) = L' M L + I``, ``M = sum_r w_r z_r z_r'``:

* the linear predictor at the mode moves by ``d eta_r / dt_j = f_r' J_j`` (``f_r = (x_r,
  z_r)``), ``J_j = D_j + (0, L u_j)``, ``D_j = (e_j, E_j u_hat)``, with the mode's derivative
  ``u_j = H^-1 c_j``, ``c_j = E_j' zeta - L' G D_j`` (implicit function theorem;
  ``G = sum_r w_r z_r f_r'``, ``zeta = sum_r e_r z_r`` at the mode);
* ``H_j = E_j' M L + L' M E_j + L' M_j L`` with ``M_j = sum_r w'_r (f_r' J_j) z_r z_r'`` (the
  third derivative of the log-likelihood, ``w' = m b'''``, ``_family``);
* the Cholesky factor: ``P_j = R^-1 H_j R^-T``, ``X_j = Phi(P_j)`` (lower triangle, half
  diagonal), ``dR = R X_j``, ``S_j = -S X_j'``, ``d log|S| = -tr(P_j) / 2``;
* on node k the linear predictor moves by ``f_r' (J_j + (0, B_j z_k))``,
  ``B_j = E_j S + L S_j``, and the node by ``u_j + S_j z_k``, so

      d log Q / dt_j = -tr(P_j)/2 + sbar' J_j + <Xi, B_j> - sum_k pi_k v_k' (u_j + S_j z_k)

  with the posterior node sums of ``_aghq_nodes`` (``sbar``, ``Xi``, ``zbar``, ``Z2``).

Every term is linear in ``H_j``, ``S_j`` and ``u_j``, so they are never formed per parameter
(reverse mode): with ``A = Xi' L - zbar u_hat' - Z2 S'``, ``Psi = Phi(A S)`` and
``Omega = -H^-1/2 - R^-T Psi R^-1``, ``tr(S_j A) - tr(P_j)/2 = <H_j, Omega>``, and ``u_j``
meets ``gamma = L'(zeta_bar + tau_z) - u_hat - S zbar`` through ``c_j' H^-1 gamma``, where
``tau = sum_r w'_r (z_r' L Omega L' z_r) f_r`` carries ``<M_j, L Omega L'>``. The gradient is
then ``v_j`` (``v = sbar + tau - G' L rho``, ``rho = H^-1 gamma``) for a coefficient and
``[v_z u_hat' + M L (Omega + Omega') + Xi S' + zeta rho']_st`` for the entry ``(s, t)`` of
``L``. ``Adjoint`` keeps these weights for the Hessian (``_aghq_hessian``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._aghq_nodes import _rows, trial_sums, upper

__all__ = ["Adjoint", "adjoint", "phi", "total_gradient", "upper"]


def phi(P: np.ndarray) -> np.ndarray:
    """Lower triangle of P with half its diagonal (derivative of the Cholesky factor)."""
    out = np.tril(P)
    d = np.arange(P.shape[-1])
    out[..., d, d] *= 0.5
    return out


def _t(A: np.ndarray) -> np.ndarray:
    return np.swapaxes(A, -1, -2)


def _sym(values: np.ndarray, d: int) -> np.ndarray:
    """(..., d(d+1)/2) distinct entries (``a <= b``) -> (..., d, d) symmetric."""
    a, b = upper(d)
    out = np.empty((*values.shape[:-1], d, d))
    out[..., a, b] = values
    out[..., b, a] = values
    return out


def _mv(A: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(K, a, b) x (K, b) -> (K, a)."""
    return (A @ v[:, :, None])[:, :, 0]


@dataclass(frozen=True)
class Adjoint:
    """The per-trial weights every first and second derivative term meets (docstring)."""

    At: np.ndarray  # (K, q, q) A S
    Psi: np.ndarray  # (K, q, q) Phi(A S)
    Omega_s: np.ndarray  # (K, q, q) Omega + Omega'
    quad: np.ndarray  # (n,) z_r' L Omega L' z_r
    tau: np.ndarray  # (K, p+q) sum_r w'_r quad_r f_r
    rho: np.ndarray  # (K, q) H^-1 gamma


def adjoint(data, L: np.ndarray, at, sums) -> Adjoint:
    """``Omega``, ``tau`` and ``rho`` of the module docstring."""
    u, S, Rinv, p = at.u, at.S, at.Rinv, data.n_coef
    if sums.laplace:  # one node at z = 0: A = 0
        At = Psi = np.zeros_like(S)
        Omega_s = -at.Hinv
        gamma = -u
    else:
        A = _t(sums.Xi) @ L - sums.zbar[:, :, None] * u[:, None, :] - sums.Z2 @ _t(S)
        At = A @ S
        Psi = phi(At)
        Omega = -0.5 * at.Hinv - _t(Rinv) @ Psi @ Rinv
        Omega_s = Omega + _t(Omega)
        gamma = -u - _mv(S, sums.zbar)
    a, b = upper(data.q)
    Omega_M = 0.5 * (L @ Omega_s @ L.T)
    coef = np.where(a == b, 1.0, 2.0) * Omega_M[:, a, b]  # z' Omega_M z from z_a z_b, a <= b
    quad = _rows(data.ZZS, coef, data.trial_index)
    tau = trial_sums(data.FT * (at.w1 * quad), data.starts).T
    gamma = gamma + (sums.sbar[:, p:] + tau[:, p:]) @ L
    return Adjoint(At, Psi, Omega_s, quad, tau, _mv(at.Hinv, gamma))


def total_gradient(data, L: np.ndarray, at, adj: Adjoint, sums) -> np.ndarray:
    """(K, P) exact gradient of every trial's ``log Q`` (reverse mode, module docstring)."""
    p, u = data.n_coef, at.u
    Lrho = adj.rho @ L.T
    v = sums.sbar + adj.tau - np.einsum("kaf,ka->kf", at.G, Lrho)
    X = v[:, p:, None] * u[:, None, :] + at.M @ L @ adj.Omega_s
    X += at.s[:, p:, None] * adj.rho[:, None, :]
    if not sums.laplace:
        X += sums.Xi @ _t(at.S)
    return np.concatenate([v[:, :p], X[:, data.lam_rows, data.lam_cols]], axis=1)
