"""Analytic gradient of the IPD + aggregate-data (RE)ML deviance (:mod:`._linear_aggregate`).

With ``rt = V^-1 r`` (r the GLS residual), ``C = X'V^-1X`` and ``V_phi = dV/dphi``
(Harville 1977; the standard score of the (restricted) likelihood)::

    dD/dphi = tr(V^-1 V_phi) - rt' V_phi rt  [ - tr(C^-1 X'V^-1 V_phi V^-1 X)  for REML ]

For a residual variance ``s_i`` V_phi is the identity on trial i's block; for the random
slopes' covariance G, ``dD = tr(M dG)`` with
``M = sum_i Z_i'V_i^-1 Z_i - (Z_i'rt_i)(Z_i'rt_i)' [- Q_i C^-1 Q_i']`` (``Q_i = Z_i'V_i^-1
X_i``) plus the AD rows' terms in the treatment entry, and ``dD/dL = 2 M L`` for G = L L'.
Per trial everything comes from the cross-products of ``[W y]`` through
``V^-1 = (I - U B^-1 U') / s`` and
``V^-2 = (I - 2 U B^-1 U' + U B^-1 U'U B^-1 U') / s^2`` with ``U = Z L``, ``B = s I + U'U``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from ._linear_aggregate import _Problem

__all__ = ["deviance_gradient"]


def deviance_gradient(problem: _Problem, theta: np.ndarray) -> np.ndarray:
    """d deviance / d theta (theta: residual SDs, then the G factor's free entries)."""
    residual, factor = problem.split(theta)
    _, xvx, xvy, _, tau2 = problem.parts(theta)
    cinv = np.linalg.inv(xvx)
    beta = cinv @ xvy
    k, w, p = problem.k_ipd, problem.width, problem.p
    rnd = problem.random
    q = len(rnd)
    m_matrix = np.zeros((q, q))
    grad_s = np.zeros(k)
    if k:
        raw = problem.cross
        s = residual[:, None, None]
        zc = raw[:, rnd, :]  # Z'[W y]
        uc = np.swapaxes(np.broadcast_to(factor, (k, q, q)), 1, 2) @ zc  # U'[W y]
        uu = uc[:, :, rnd] @ factor  # U'U
        binv = np.linalg.inv(residual[:, None, None] * np.eye(q) + uu)
        ub = np.swapaxes(uc, 1, 2) @ binv  # [W y]'U B^-1
        v1 = (raw - ub @ uc) / s  # [W y]' V^-1 [W y]
        v2 = (raw - 2.0 * ub @ uc + ub @ uu @ np.swapaxes(ub, 1, 2)) / s**2
        trace_v = (problem.nobs - np.einsum("kab,kba->k", binv, uu)) / residual
        local = np.empty((k, w + 1))  # c = [-beta_local, 1]: r_i = [W y] c
        local[:, 0] = -beta[:k]
        local[:, 1:w] = -beta[k:]
        local[:, w] = 1.0
        rvr2 = np.einsum("ka,kab,kb->k", local, v2, local)
        grad_s = trace_v - rvr2
        zr = np.einsum("kab,kb->ka", v1[:, rnd, :], local)  # Z' V^-1 r
        m_matrix = v1[:, rnd][:, :, rnd].sum(axis=0) - np.einsum("ka,kb->ab", zr, zr)
        if problem.reml:
            index = np.empty((k, w), dtype=int)  # global columns of local [1, x, T]
            index[:, 0] = np.arange(k)
            index[:, 1:] = np.arange(k, p)
            cloc = cinv[index[:, :, None], index[:, None, :]]  # (k, w, w)
            grad_s -= np.einsum("kab,kba->k", cloc, v2[:, :w, :w])
            qm = v1[:, rnd, :w]  # Z'V^-1 X_i (local columns)
            m_matrix -= np.einsum("kaw,kwv,kbv->ab", qm, cloc, qm)
    if len(problem.ad_estimate) and problem.treat_random:
        total = problem.ad_variance + tau2
        rt = (problem.ad_estimate - beta[-1]) / total
        term = float(np.sum(1.0 / total - rt**2))
        if problem.reml:
            term -= float(cinv[-1, -1] * np.sum(1.0 / total**2))
        m_matrix[-1, -1] += term
    grad_l = 2.0 * m_matrix @ factor
    grad_g = grad_l[np.tril_indices(q)] if problem.correlated else np.diag(grad_l).copy()
    if problem.n_sigma == 0:
        grad_sigma = np.zeros(0)
    elif problem.stratified:
        grad_sigma = grad_s * 2.0 * theta[: problem.n_sigma]
    else:
        grad_sigma = np.array([grad_s.sum() * 2.0 * theta[0]])
    return np.concatenate([grad_sigma, grad_g])
