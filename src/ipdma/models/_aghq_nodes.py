"""Quadrature sums of the AGHQ engine (``_aghq``) for a block of consecutive trials.

On the adaptive grid of trial i, ``U_ik = u_i + S_i z_k`` (``S = R^{-T}``), the linear
predictor is ``eta_rk = eta_r(u_hat) + a_r' z_k`` with ``a_r = S_i' L' z_r``: one matrix
product for all rows and nodes. The linear part of the log-likelihood, ``sum_r y_r eta_rk``,
is summed in closed form, so only the cumulant (softplus ``log(1 + e^eta)``, or ``e^eta`` for
Poisson, ``_family``) and the means are evaluated per row and node (``exp`` and ``log1p``, numpy's fastest elementwise functions,
in reused work arrays), and the node sums the gradient needs reduce to per-row sums
(``sum_k pi_ik p_rk`` and ``sum_k pi_ik p_rk z_k``) followed by small per-trial products.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

__all__ = ["NodeSums", "node_part", "softplus", "trial_sums"]


@dataclass(frozen=True)
class NodeSums:
    """What the gradient needs from the quadrature sums (see ``_node_part``)."""

    e: np.ndarray  # (n,) sum_k pi_ik (y_r - m_r p_rk)
    E: np.ndarray  # (q, n) sum_k pi_ik (y_r - m_r p_rk) U_ik
    gbar: np.ndarray  # (K, q) sum_k pi_ik grad h_i(U_ik)
    Gam: np.ndarray  # (K, q, q) sum_k pi_ik grad h_i(U_ik) z_k'


def trial_sums(arr: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per-trial sums over the rows (last axis): (..., n) -> (..., K)."""
    return np.add.reduceat(arr, starts, axis=-1)


_EXP_SAFE = 700.0  # exp(eta) is finite below this


def softplus(eta: np.ndarray) -> np.ndarray:
    """``log(1 + exp(eta))``: ``log1p(exp(eta))`` when no ``eta`` is near overflow (exact
    to rounding: ``exp`` underflows to 0 where softplus is below 1e-300), else the
    overflow-free ``max(eta, 0) + log1p(exp(-|eta|))``."""
    if eta.size and np.max(eta) < _EXP_SAFE:
        out = np.exp(eta)
        return np.log1p(out, out=out)
    out = np.abs(eta)
    np.negative(out, out=out)
    np.exp(out, out=out)
    np.log1p(out, out=out)
    out += np.maximum(eta, 0.0)
    return out


_REUSED = 250_000  # node x row work arrays up to this size (2 MB) are kept for the next call
_work = threading.local()


def _workspace(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Two (nodes, rows) work arrays, reused between calls of this thread: a fresh array
    of a few MB costs more in page faults than the arithmetic done in it."""
    if shape[0] * shape[1] > _REUSED:
        return np.empty(shape), np.empty(shape)
    cache = getattr(_work, "arrays", None)
    if cache is None or len(cache) > 8:
        cache = _work.arrays = {}
    if shape not in cache:
        cache[shape] = (np.empty(shape), np.empty(shape))
    return cache[shape]


def node_part(data, rows, trials, ZLT, u_hat, S, eta0, nodes, log_weights, *, gradient):
    """log Q (without -log|R|) and the gradient's node sums for consecutive trials.

    On the grid ``U_ik = u_i + S_i z_k``: ``eta_rk = eta0_r + a_r' z_k``, ``a_r = S_i' (L'z_r)``.
    Arrays over rows and nodes are (nodes, rows).
    """
    y, size, eta0 = data.y[rows], data.size[rows], eta0[rows]
    starts = data.starts[trials] - rows.start
    g = data.trial_index[rows] - trials.start
    u, St = u_hat[trials], S[trials]
    q = u.shape[1]
    ZLr = ZLT[:, rows]
    Sg = St[g]  # (rows, q, q)
    AT = np.empty((q, len(y)))  # a_r = S_i' (L' z_r), rows contiguous
    for b in range(q):
        AT[b] = ZLr[0] * Sg[:, 0, b]
        for c in range(1, q):
            AT[b] += ZLr[c] * Sg[:, c, b]
    work, work2 = _workspace((len(nodes), len(y)))
    eta = np.matmul(nodes, AT, out=work)
    eta += eta0
    poisson = data.family.name == "poisson"
    fast = poisson or np.max(eta) < _EXP_SAFE
    if poisson:  # cumulant and mean are both exp(eta)
        sp = expeta = np.exp(eta, out=eta)
    elif fast:  # exp(eta) is kept for the probabilities: p = e / (1 + e)
        expeta = np.exp(eta, out=eta)
        sp = np.log1p(expeta, out=work2)
    else:
        sp = softplus(eta)
    # sum_r ll_rk = sum_r y_r eta0_r + (sum_r y_r a_r)' z_k - sum_r m_r softplus(eta_rk)
    lin = trial_sums(y * eta0, starts)[:, None] + trial_sums(AT * y, starts).T @ nodes.T
    U = u[:, None, :] + np.einsum("iab,kb->ika", St, nodes)
    a = (
        log_weights
        + lin
        - trial_sums(sp if data.binary else sp * size, starts).T
        - 0.5 * np.einsum("ikq,ikq->ik", U, U)
        + 0.5 * np.einsum("kq,kq->k", nodes, nodes)
    )
    amax = a.max(axis=1, keepdims=True)
    wk = np.exp(a - amax)
    total = wk.sum(axis=1, keepdims=True)
    logq = amax[:, 0] + np.log(total[:, 0])
    if not gradient:
        return logq, None
    pi = wk / total  # posterior weights of the nodes, (trials, N)
    # p_rk weighted by pi in place: B_rk = pi_ik p_rk
    if poisson:
        B = expeta
    elif fast:
        np.add(expeta, 1.0, out=sp)
        B = np.divide(expeta, sp, out=expeta)
    else:
        np.subtract(eta, sp, out=eta)
        B = np.exp(eta, out=eta)
    B *= np.repeat(np.ascontiguousarray(pi.T), np.diff(np.r_[starts, len(y)]), axis=1)
    zbar = pi @ nodes  # (trials, q)
    Bz = nodes.T @ B  # (q, rows): sum_k pi_ik p_rk z_k
    if data.binary:
        e = y - B.sum(axis=0)
        c = y * zbar.T[:, g] - Bz  # sum_k pi_ik res_rk z_k
    else:
        e = y - size * B.sum(axis=0)
        c = y * zbar.T[:, g] - size * Bz
    E = e * u.T[:, g] + np.einsum("rba,ar->br", Sg, c)
    zz = (nodes[:, :, None] * nodes[:, None, :]).reshape(len(nodes), -1)
    gbar = trial_sums(ZLr * e, starts).T - u - np.einsum("iab,ib->ia", St, zbar)
    Gam = (
        trial_sums((ZLr[:, None, :] * c[None, :, :]).reshape(q * q, -1), starts).T.reshape(-1, q, q)
        - u[:, :, None] * zbar[:, None, :]
        - St @ (pi @ zz).reshape(-1, q, q)
    )
    return logq, NodeSums(e, E, gbar, Gam)
