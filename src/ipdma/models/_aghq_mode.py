"""The conditional modes of the AGHQ engine (``_aghq``) and the quantities at them.

For every trial at once, Newton's method with per-trial step halving maximises
``h_i(u) = sum_r log f(y_r | eta_r) - |u|^2 / 2``, ``eta_r = x_r' beta_i + z_r' L u``
(``-hess h_i = L' M L + I``, ``M = sum_r w_r z_r z_r'``); ``mode_state`` then gives the row
weights (the second, third and, for the Hessian, fourth derivatives of the cumulant times
the sizes; ``_family``), the per-trial sums the derivatives need and the Cholesky factor of
``H``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ._aghq_gradient import _sym
from ._aghq_nodes import _rows, softplus, trial_products, trial_sums

if TYPE_CHECKING:
    from ._aghq import BinomialData

__all__ = ["ModeState", "conditional_modes", "mode_state"]

_MODE_TOL = 1e-7  # last Newton step; Newton converges quadratically, the error left is ~1e-14
_MODE_MAXIT = 100


@dataclass(frozen=True)
class ModeState:
    """Quantities at the conditional modes ``u_hat`` (all trials).

    ``w``, ``w1``, ``w2``: ``m b''``, ``m b'''``, ``m b''''`` per row (``w2`` only for the
    Hessian); ``s``: ``sum_r (y_r - m_r b'(eta_r)) f_r`` (K, p+q); ``G``: ``sum_r w_r z_r f_r'``
    (K, q, p+q); ``M``: its ``z z'`` block; ``H = L'ML + I = R R'``, ``S = R^{-T}``.
    """

    u: np.ndarray
    eta: np.ndarray
    mean: np.ndarray
    w: np.ndarray
    w1: np.ndarray
    w2: np.ndarray | None
    s: np.ndarray
    G: np.ndarray
    M: np.ndarray
    H: np.ndarray
    R: np.ndarray
    Rinv: np.ndarray
    S: np.ndarray
    Hinv: np.ndarray
    logdet_R: np.ndarray


def _cumulant(data: BinomialData, eta: np.ndarray) -> np.ndarray:
    return softplus(eta) if data.family.name == "binomial" else data.family.cumulant(eta)


def _h(data: BinomialData, eta: np.ndarray, u: np.ndarray) -> np.ndarray:
    sp = _cumulant(data, eta)
    ll = data.y * eta - (sp if data.binary else data.size * sp)
    return trial_sums(ll, data.starts) - 0.5 * np.einsum("iq,iq->i", u, u)


def _solve(H: np.ndarray, g: np.ndarray) -> np.ndarray:
    if H.shape[1] == 1:
        return g / H[:, 0]
    return np.linalg.solve(H, g[..., None])[..., 0]


def conditional_modes(
    data: BinomialData, offset: np.ndarray, L: np.ndarray, ZLT: np.ndarray, u: np.ndarray
) -> np.ndarray:
    """Maximise every ``h_i(u)`` at once by Newton's method with per-trial step halving.

    ``-hess h_i = L' (sum_r w_r z_r z_r') L + I`` from the row products computed once.
    """
    g, q, starts, family = data.trial_index, data.q, data.starts, data.family
    eye = np.eye(q)
    eta = offset + _rows(ZLT, u, g)
    h = None
    for _ in range(_MODE_MAXIT):
        unit = family.unit_mean(eta, _cumulant(data, eta))
        var = family.unit_variance(unit)
        res = data.y - (unit if data.binary else data.size * unit)
        w = var if data.binary else data.size * var
        grad = trial_sums(data.ZT * res, starts).T @ L - u
        M = _sym(trial_sums(data.ZZS * w, starts).T, q)
        hess = L.T @ M @ L + eye
        step = _solve(hess, grad)
        big = np.max(np.abs(step))
        if big < _MODE_TOL:
            return u + step
        if big < 0.1:  # close to the mode of a concave h: full step
            u = u + step
            eta = offset + _rows(ZLT, u, g)
            h = None
            continue
        if h is None:
            h = _h(data, eta, u)
        t = np.ones(len(u))
        for _ in range(40):
            un = u + t[:, None] * step
            eta_n = offset + _rows(ZLT, un, g)
            hn = _h(data, eta_n, un)
            bad = hn < h - 1e-12 * (1.0 + np.abs(h))
            if not bad.any():
                break
            t[bad] *= 0.5
        u, eta, h = un, eta_n, hn
    return u


def mode_state(
    data: BinomialData, offset: np.ndarray, L: np.ndarray, ZLT: np.ndarray, u: np.ndarray,
    order: int,
) -> ModeState:  # fmt: skip
    """Row weights and per-trial sums at the modes; ``order`` 2 adds the fourth derivative."""
    family, starts, q, p = data.family, data.starts, data.q, data.n_coef
    eta = offset + _rows(ZLT, u, data.trial_index)
    cumulant = _cumulant(data, eta)
    unit = family.unit_mean(eta, cumulant)
    var = family.unit_variance(unit)
    third = family.unit_third(unit, var) if order else var
    fourth = family.unit_fourth(unit, var) if order > 1 else None
    if data.binary:
        mean, w, w1, w2 = unit, var, third, fourth
    else:
        m = data.size
        mean, w, w1 = m * unit, m * var, m * third
        w2 = None if fourth is None else m * fourth
    s = trial_sums(data.FT * (data.y - mean), starts).T
    G = trial_products(data.ZT * w, data.FT, starts)  # (K, q, F)
    M = G[:, :, p:]
    H = L.T @ M @ L + np.eye(q)
    R = np.linalg.cholesky(H)
    Rinv = np.linalg.inv(R)
    S = Rinv.transpose(0, 2, 1)  # R^{-T}, S S' = H^{-1}
    logdet_R = np.sum(np.log(np.diagonal(R, axis1=1, axis2=2)), axis=1)
    return ModeState(u, eta, mean, w, w1, w2, s, G, M, H, R, Rinv, S, S @ Rinv, logdet_R)
