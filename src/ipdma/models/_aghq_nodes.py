"""Quadrature sums of the AGHQ engine (``_aghq``) for a block of consecutive trials.

On the adaptive grid of trial i, ``v_ik = u_i + S_i z_k`` (``S = R^{-T}``), the linear
predictor is ``eta_rk = eta_r(u_hat) + a_r' z_k`` with ``a_r = S_i' L' z_r``: one matrix
product for all rows and nodes. The linear part of the log-likelihood, ``sum_r y_r eta_rk``,
is summed in closed form, so only the cumulant (softplus ``log(1 + e^eta)``, or ``e^eta``
for Poisson, ``_family``) and the means are evaluated per row and node (``exp`` and
``log1p``, numpy's fastest elementwise functions, in reused work arrays).

With the posterior node weights ``pi_ik`` (softmax of the log integrand over the nodes),
the derivatives need (``_aghq_gradient``, ``_aghq_hessian``):

* gradient: ``sbar = sum_k pi_k s_k`` with ``s_k = sum_r e_rk f_r`` (``e_rk = y_r - m_r
  b'(eta_rk)``, ``f_r = (x_r, z_r)``), ``Xi = sum_k pi_k zeta_k z_k'`` (``zeta_k``: the z part
  of ``s_k``), ``zbar = sum_k pi_k z_k`` and ``Z2 = sum_k pi_k z_k z_k'``; the node sums are
  taken per row first (``sum_k pi_ik e_rk``, ``sum_k pi_ik e_rk z_k``), then per trial;
* Hessian: ``s_k`` per node (the covariance of the node scores over the posterior) and
  the row moments ``sum_k pi_ik w_rk (1, z_k, z_k z_k')`` of the weights ``w = m b''``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache

import numpy as np

__all__ = [
    "NodeSums",
    "laplace_sums",
    "node_sums",
    "softplus",
    "trial_products",
    "trial_sums",
    "upper",
]


@cache
def upper(d: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the upper triangle (``a <= b``) of a d x d matrix."""
    return np.triu_indices(d)


@dataclass(frozen=True)
class NodeSums:
    """What the log-likelihood and its derivatives need from the quadrature (see above).

    ``W`` (1 + q + q(q+1)/2, n): per row ``sum_k pi_ik w_rk (1, z_k, z_ka z_kb (a <= b))``.
    """

    laplace: bool
    logq: np.ndarray  # (K,) log sum_k w_k exp(g_ik), without -log|R|
    sbar: np.ndarray | None = None  # (K, p+q)
    Xi: np.ndarray | None = None  # (K, q, q)
    zbar: np.ndarray | None = None  # (K, q)
    Z2: np.ndarray | None = None  # (K, q, q)
    pi: np.ndarray | None = None  # (K, N) posterior node weights (Hessian)
    s_nodes: np.ndarray | None = None  # (K, N, p+q) (Hessian)
    W: np.ndarray | None = None  # (1 + q + q2, n) row moments of the weights (Hessian)

    @staticmethod
    def concatenate(parts: list[NodeSums]) -> NodeSums:
        def cat(name: str, axis: int = 0):
            first = getattr(parts[0], name)
            if first is None:
                return None
            return np.concatenate([getattr(s, name) for s in parts], axis=axis)

        return NodeSums(
            False, cat("logq"), cat("sbar"), cat("Xi"), cat("zbar"), cat("Z2"), cat("pi"),
            cat("s_nodes"), cat("W", axis=1),
        )  # fmt: skip


def trial_sums(arr: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per-trial sums over the rows (last axis): (..., n) -> (..., K)."""
    return np.add.reduceat(arr, starts, axis=-1)


def trial_products(A: np.ndarray, B: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per-trial sums over the rows of the outer products: ``(a, n), (b, n) -> (K, a, b)``
    with ``out[i] = A[:, rows_i] @ B[:, rows_i]'``.

    One matrix product per trial instead of ``trial_sums`` of the (a * b, n) row products:
    that array (tens of rows by thousands) costs more to form and to reduce than the
    products themselves (a 12-parameter Hessian of 27 trials, 1,900 rows: 0.07 ms against
    0.4 ms or more); the loop runs over trials, each step a BLAS call on contiguous columns.
    """
    bounds = np.append(starts, A.shape[1])  # (np.r_ costs more than the products here)
    out = np.empty((len(starts), A.shape[0], B.shape[0]))
    for i in range(len(starts)):
        np.matmul(A[:, bounds[i] : bounds[i + 1]], B[:, bounds[i] : bounds[i + 1]].T, out=out[i])
    return out


def _rows(vT: np.ndarray, u: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``sum_a vT[a, r] u[g_r, a]`` for every row r."""
    out = vT[0] * u[:, 0][g]
    for a in range(1, vT.shape[0]):
        out += vT[a] * u[:, a][g]
    return out


_EXP_SAFE = 700.0  # exp(eta) is finite below this
_BLOCK = 16  # rows whose (1 + e^eta) are multiplied before one log is taken
_PRODUCT_SAFE = 40.0  # below this eta a product of _BLOCK factors 1 + e^eta < e^660 is finite


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


def _workspace(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three (nodes, rows) work arrays, reused between calls of this thread: a fresh array
    of a few MB costs more in page faults than the arithmetic done in it."""
    if shape[0] * shape[1] > _REUSED:
        return np.empty(shape), np.empty(shape), np.empty(shape)
    cache = getattr(_work, "arrays", None)
    if cache is None or len(cache) > 8:
        cache = _work.arrays = {}
    if shape not in cache:
        cache[shape] = (np.empty(shape), np.empty(shape), np.empty(shape))
    return cache[shape]


_BLAS_SERIAL = 200_000  # m * n * k of a product OpenBLAS runs on one thread (< 262,144)


def _product(A: np.ndarray, B: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``A @ B`` for a short ``A`` and a long ``B``, in column blocks small enough for
    OpenBLAS to run each on one thread: on a shared machine its threads spin waiting for
    a free core and cost several times the arithmetic (measured 0.8 ms instead of 0.09)."""
    if out is None:
        out = np.empty((A.shape[0], B.shape[1]))
    width = max(1, _BLAS_SERIAL // max(1, A.shape[0] * A.shape[1]))
    for start in range(0, B.shape[1], width):
        np.matmul(A, B[:, start : start + width], out=out[:, start : start + width])
    return out


def _with_ones(nodes: np.ndarray) -> np.ndarray:
    """(N, 1 + q): a column of ones, then the nodes."""
    return np.concatenate([np.ones((len(nodes), 1)), nodes], axis=1)


def _square_moments(pi: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """(K, q, q): ``sum_k pi_ik z_k z_k'``."""
    q = nodes.shape[1]
    zz = (nodes[:, :, None] * nodes[:, None, :]).reshape(len(nodes), -1)
    return (pi @ zz).reshape(-1, q, q)


def laplace_sums(data, at, order: int) -> NodeSums:
    """The one-node rule at the mode (``z = 0``, ``pi = 1``): the Laplace approximation."""
    ll = data.y * at.eta - (
        _cumulant(data, at.eta) if data.binary else data.size * _cumulant(data, at.eta)
    )
    logq = trial_sums(ll, data.starts) - 0.5 * np.einsum("iq,iq->i", at.u, at.u)
    if order == 0:
        return NodeSums(True, logq)
    K, q = at.u.shape
    zero_q, zero_qq = np.zeros((K, q)), np.zeros((K, q, q))
    if order == 1:
        return NodeSums(True, logq, at.s, zero_qq, zero_q, zero_qq)
    W = np.zeros((1 + q + q * (q + 1) // 2, len(data.y)))
    W[0] = at.w
    return NodeSums(
        True, logq, at.s, zero_qq, zero_q, zero_qq, np.ones((K, 1)), at.s[:, None, :], W
    )


def _row_blocks(data, i0: int, i1: int) -> tuple[np.ndarray, np.ndarray]:
    """Consecutive rows of trials ``i0:i1`` in blocks of at most ``_BLOCK`` within a trial
    (first row of every block, relative to the first row of trial ``i0``), and the first
    block of every trial. Computed once per data set and range of trials."""
    cache = data.__dict__.setdefault("_row_blocks", {})  # frozen dataclass: like _scales
    if (i0, i1) not in cache:
        counts = data.counts[i0:i1]
        per_trial = -(-counts // _BLOCK)  # blocks per trial (ceil)
        trial_of_block = np.repeat(np.arange(len(counts)), per_trial)
        block_starts = np.r_[0, np.cumsum(per_trial)[:-1]]
        rank = np.arange(per_trial.sum()) - block_starts[trial_of_block]
        first_row = np.r_[0, np.cumsum(counts)[:-1]]
        blocks = first_row[trial_of_block] + _BLOCK * rank
        cache[(i0, i1)] = (blocks.astype(np.intp), block_starts.astype(np.intp))
    return cache[(i0, i1)]


def _cumulant(data, eta: np.ndarray) -> np.ndarray:
    return softplus(eta) if data.family.name == "binomial" else data.family.cumulant(eta)


def node_sums(data, trials: slice, ZLT, at, nodes, log_weights, order: int) -> NodeSums:
    """log Q (without -log|R|) and the derivatives' node sums for consecutive trials.

    Arrays over rows and nodes are (nodes, rows), in three reused work arrays.
    """
    i0, i1 = trials.start, trials.stop
    r0 = int(data.starts[i0])
    r1 = int(data.starts[i1]) if i1 < data.ntrials else len(data.y)
    rows = slice(r0, r1)
    y, eta0 = data.y[rows], at.eta[rows]
    size = None if data.binary else data.size[rows]
    starts = data.starts[i0:i1] - r0
    g = data.trial_index[rows] - i0
    u, S = at.u[i0:i1], at.S[i0:i1]
    q, N, n = u.shape[1], len(nodes), r1 - r0
    ZLr = ZLT[:, rows]
    AT = np.empty((q + 1, n))  # (eta0_r, a_r) with a_r = S_i' (L' z_r), rows contiguous
    AT[0] = eta0
    for b in range(q):
        AT[1 + b] = ZLr[0] * S[:, 0, b][g]
        for c in range(1, q):
            AT[1 + b] += ZLr[c] * S[:, c, b][g]
    work, work2, work3 = _workspace((N, n))
    eta = np.matmul(_with_ones(nodes), AT, out=work)  # eta0_r + a_r' z_k
    poisson = data.family.name == "poisson"
    # the largest eta, bounded without a pass over the (nodes, rows) array
    reach = np.abs(AT[1:]).T @ np.max(np.abs(nodes), axis=0) if q else np.zeros(n)
    largest = np.max(eta0 + reach, initial=-np.inf)
    overflow = False
    if poisson:  # cumulant and mean are both exp(eta)
        sp = prob = np.exp(eta, out=eta)
        sp_sum = trial_sums(sp if size is None else sp * size, starts)
    elif largest < _EXP_SAFE:  # p = e / (1 + e), softplus = log(1 + e)
        expeta = np.exp(eta, out=eta)
        one_plus = np.add(expeta, 1.0, out=work2)
        if size is None and largest < _PRODUCT_SAFE:
            # sum_r log(1 + e_r) = sum over blocks of log(prod_r (1 + e_r)): 1/16 the logs
            blocks, block_starts = _row_blocks(data, i0, i1)
            product = np.multiply.reduceat(one_plus, blocks, axis=1)
            sp_sum = trial_sums(np.log(product, out=product), block_starts)
        else:
            sp = np.log(one_plus, out=work3)
            sp_sum = trial_sums(sp if size is None else sp * size, starts)
    else:
        sp, overflow = softplus(eta), True
        sp_sum = trial_sums(sp if size is None else sp * size, starts)
    # sum_r ll_rk = sum_r y_r eta0_r + (sum_r y_r a_r)' z_k - sum_r m_r softplus(eta_rk)
    lin = trial_sums(AT * y, starts).T @ _with_ones(nodes).T
    V = u[:, None, :] + nodes @ np.swapaxes(S, 1, 2)  # (trials, N, q): u + S z_k
    a = (
        log_weights
        + lin
        - sp_sum.T
        - 0.5 * np.sum(V * V, axis=2)
        + 0.5 * np.sum(nodes * nodes, axis=1)
    )
    amax = a.max(axis=1, keepdims=True)
    wk = np.exp(a - amax)
    total = wk.sum(axis=1, keepdims=True)
    logq = amax[:, 0] + np.log(total[:, 0])
    if order == 0:
        return NodeSums(False, logq)
    pi = wk / total  # posterior weights of the nodes, (trials, N)
    if poisson:
        pass
    elif overflow:  # p = exp(eta - softplus)
        np.subtract(eta, sp, out=eta)
        prob = np.exp(eta, out=eta)
    else:
        prob = np.divide(expeta, one_plus, out=expeta)
    pi_rows = np.repeat(np.ascontiguousarray(pi.T), data.counts[i0:i1], axis=1)  # pi_ik per row
    zbar = pi @ nodes
    Z2 = _square_moments(pi, nodes)
    K = i1 - i0
    if order == 1:
        # per row: sum_k pi_ik p_rk (1, z_k), then the trial sums of the gradient
        B = np.multiply(prob, pi_rows, out=work3)
        onez = _product(_with_ones(nodes).T, B)
        pbar, pz = (onez[0], onez[1:]) if size is None else (size * onez[0], size * onez[1:])
        FT, ZT = data.FT[:, rows], data.ZT[:, rows]
        e = y - pbar
        c = y * np.repeat(zbar.T, data.counts[i0:i1], axis=1) - pz  # sum_k pi_ik e_rk z_k
        sbar = trial_sums(FT * e, starts).T
        Xi = trial_sums((ZT[:, None, :] * c[None, :, :]).reshape(q * q, n), starts).T
        return NodeSums(False, logq, sbar, Xi.reshape(K, q, q), zbar, Z2)
    # the weights' row moments: w_rk = m_r p_rk (1 - p_rk) (binomial) or m_r e^eta
    weight = np.multiply(prob, pi_rows, out=work3)
    if not poisson:
        np.multiply(weight, prob, out=pi_rows)
        np.subtract(weight, pi_rows, out=weight)
    qa, qb = upper(q)
    psi = np.concatenate([np.ones((N, 1)), nodes, nodes[:, qa] * nodes[:, qb]], axis=1)
    W = _product(psi.T, weight)
    if size is not None:
        W *= size
    # per-node scores s_k = sum_r (y_r - m_r p_rk) f_r, once per distinct feature row
    features, index, _ = data.distinct_features
    mf = data.FT[features, rows] if size is None else data.FT[features, rows] * size
    sums = trial_products(prob, np.ascontiguousarray(mf), starts)  # (K, N, distinct)
    s_nodes = data.sum_yf[i0:i1, None, :] - sums[:, :, index]
    sbar = np.einsum("kn,knf->kf", pi, s_nodes)
    Xi = np.einsum("kn,kna,nb->kab", pi, s_nodes[..., data.n_coef :], nodes)
    return NodeSums(False, logq, sbar, Xi, zbar, Z2, pi, s_nodes, W)
