"""The exact total gradient of the AGHQ log-likelihood (``_aghq``), all trials at once.

For trial i, ``log Q_i`` depends on a parameter ``t`` (a coefficient or an entry of ``L``)
directly and through the grid, which moves with the conditional mode ``u_hat(t)`` and the
Cholesky factor ``R(t)`` of ``H(t) = L' (sum_r w_r z_r z_r') L + I``:

* direct part, grid held fixed: ``sum_r x_r e_r`` (coefficients) and ``sum_r z_r E_r'``
  (entries of ``L``), with the posterior node averages ``e``, ``E`` of ``_aghq._node_part``;
* mode: ``du/dt = H^-1 c_t`` with ``c_t = d grad h / dt`` (implicit function theorem);
* Cholesky factor: ``dH/dt`` includes the third derivative of the log-likelihood
  (``w' = m b'''(eta)``, ``_family``) along ``du/dt``; ``dR = R Phi(R^-1 dH R^-T)`` (``Phi``: lower triangle,
  half diagonal), ``d log|R| = tr(H^-1 dH) / 2``, and ``S = R^-T`` moves by ``-S dR' S``.

The sums over rows use row products of the columns computed once per data set
(``BinomialData.weighted_features``, ``third_features``), rotated by ``L`` per evaluation.
``coefficient_information``: minus the Hessian of ``h(u_hat(beta), beta)`` in the
coefficients, ``X'WX - C H^-1 C'`` (``C = X'W Z L``), the curvature Newton's method uses inside
its iterations (the log-determinant's curvature, O(1/n_i) relative, is left out).
"""

from __future__ import annotations

import numpy as np

__all__ = ["coefficient_information", "total_gradient"]


def _sum(arr: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per-trial sums over the rows (last axis): (..., n) -> (..., K)."""
    return np.add.reduceat(arr, starts, axis=-1)


def _phi(P: np.ndarray) -> np.ndarray:
    """Lower triangle of P with half its diagonal (derivative of the Cholesky factor)."""
    out = np.tril(P)
    d = np.arange(P.shape[-1])
    out[..., d, d] *= 0.5
    return out


def total_gradient(data, L, u, mean0, w0, w1, M, H, R, Rinv, sums, *, laplace: bool):
    """Per-trial gradient (K, p + n_lambda), and ``C = sum_r w_r x_r (L'z_r)'`` and ``H^-1``
    for ``coefficient_information``."""
    XT, ZT, starts = data.XT, data.ZT, data.starts
    p, n = XT.shape
    q, K = data.q, len(u)
    d_coef = _sum(XT * sums.e, starts).T  # grid held fixed
    d_L = _sum((ZT[:, None, :] * sums.E[None, :, :]).reshape(q * q, n), starts)
    d_L = d_L.T.reshape(K, q, q)

    r0 = data.y - mean0  # w1: dW/deta, the third derivative (``_family``)
    ZWX = _sum(data.weighted_features * w0, starts).T.reshape(K, q, p)
    Zres = _sum(ZT * r0, starts).T
    T = _sum(data.third_features * w1, starts).T.reshape(K, q, q, p + q)
    TL = np.einsum("sa,istj,tb->iabj", L, T, L)  # sum w' (Lz)(Lz)' (x', z')
    TX, TZ = TL[..., :p], TL[..., p:]
    TV = TZ @ L  # sum w' v v' v_t
    Hinv = np.swapaxes(Rinv, 1, 2) @ Rinv
    C = np.swapaxes(ZWX, 1, 2) @ L  # (K, p, q): sum w x v'

    s_idx, t_idx = data.lam_rows, data.lam_cols
    nl = len(s_idx)
    c = np.empty((K, p + nl, q))
    dH = np.empty((K, p + nl, q, q))
    c[:, :p] = -C
    dH[:, :p] = np.moveaxis(TX, 3, 1)
    LtM = L.T @ M  # L' M (= (M L)')
    ut = u[:, t_idx]  # (K, nl)
    c[:, p:] = -np.swapaxes(LtM[:, :, s_idx], 1, 2) * ut[:, :, None]
    c[:, p + np.arange(nl), t_idx] += Zres[:, s_idx]
    A = np.zeros((K, nl, q, q))  # dL' M L for dL = e_s e_t'
    A[:, np.arange(nl), t_idx, :] = np.swapaxes(LtM, 1, 2)[:, s_idx, :]
    dH[:, p:] = A + np.swapaxes(A, 2, 3) + np.moveaxis(TZ[..., s_idx], 3, 1) * ut[:, :, None, None]
    du = c @ Hinv  # (K, p + nl, q): du/dt
    dH += np.einsum("iabt,ijt->ijab", TV, du)
    direct = np.concatenate([d_coef, d_L[:, s_idx, t_idx]], axis=1)
    grad = direct - 0.5 * np.einsum("iab,ijba->ij", Hinv, dH)
    if not laplace:
        S = np.swapaxes(Rinv, 1, 2)
        P = Rinv[:, None] @ dH @ S[:, None]
        dR = R[:, None] @ _phi(P)
        dS = -(S[:, None] @ np.swapaxes(dR, 2, 3) @ S[:, None])
        grad += np.einsum("iq,ijq->ij", sums.gbar, du) + np.einsum("ijab,iab->ij", dS, sums.Gam)
    return grad, C, Hinv


def coefficient_information(data, w0: np.ndarray, C: np.ndarray, Hinv: np.ndarray) -> np.ndarray:
    """(K, p, p) minus the Hessian of ``h(u_hat(beta), beta)`` in the coefficients."""
    K, p = C.shape[:2]
    XWX = _sum(data.square_features * w0, data.starts).T.reshape(K, p, p)
    return XWX - C @ Hinv @ np.swapaxes(C, 1, 2)
