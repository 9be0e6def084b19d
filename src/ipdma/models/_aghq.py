"""Adaptive Gauss-Hermite quadrature for logistic mixed models, all trials in one batch.

Model (trial i, row r of that trial)::

    y_r ~ Binomial(m_r, p_r),  logit p_r = x_r' beta_i + z_r' L u_i,  u_i ~ N(0, I_q)

so the random effects are ``b_i = L u_i ~ N(0, L L')`` with ``L`` lower triangular and
block diagonal (the spherical parametrisation of lme4, Bates et al. 2015, J Stat Softw 67).
``beta_i`` holds the shared coefficients and the trial's own (trial-local) ones.

The marginal likelihood of trial i, ``int exp(h_i(u)) phi(u) du`` with
``h_i(u) = sum_r log f(y_r | u) - |u|^2 / 2`` (the ``phi`` normalising constant is folded in),
is approximated by the adaptive product rule of Liu & Pierce (1994) and Pinheiro & Bates
(1995): with the conditional mode ``u_hat`` and ``H = -hess h(u_hat) = R R'`` (Cholesky),

    log Q_i = -log|R| + log sum_k w_k exp(h_i(u_hat + R^{-T} z_k) + |z_k|^2 / 2)

where ``(z_k, w_k)`` is the q-fold product of the n-point Gauss-Hermite rule for the standard
normal (weights summing to 1). One node (``z = 0``) is the Laplace approximation; this is the
quantity lme4's ``glmer`` maximises for ``nAGQ = 1``.

The gradient returned is the exact total derivative of ``log Q_i`` with respect to every
coefficient and every entry of ``L``, including the dependence of the grid on the parameters
through ``u_hat`` (implicit function theorem) and through the Cholesky factor ``R`` (the
third derivative of the binomial log-likelihood enters here; ``_aghq_gradient``). Without
those terms the Laplace gradient would be that of a different objective.

Speed: every trial and every node is handled in one array operation. On the grid the linear
predictor is ``eta_rk = eta_r(u_hat) + a_r' z_k`` with ``a_r = S_i' L' z_r`` (``S = R^{-T}``),
one matrix product; the linear part of the log-likelihood, ``sum_r y_r eta_rk``, is summed in
closed form, so only the softplus ``log(1 + e^eta)`` and the probabilities are evaluated per
row and node (with ``exp`` and ``log1p``, the fastest elementwise functions numpy has), and
the node sums the gradient needs reduce to per-row sums (``sum_k pi_ik p_rk`` and
``sum_k pi_ik p_rk z_k``) followed by small per-trial products.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.special import gammaln

from ._aghq_gradient import coefficient_information, total_gradient

__all__ = ["BinomialData", "Evaluation", "evaluate", "hermite_grid"]

_MODE_TOL = 1e-7  # last Newton step; Newton converges quadratically, the error left is ~1e-14
_MODE_MAXIT = 100


def hermite_grid(nagq: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Product Gauss-Hermite rule for the standard normal in ``dim`` dimensions.

    Returns ``nodes`` (nagq**dim, dim) and ``log_weights`` (nagq**dim,), weights summing to 1.
    """
    if nagq < 1:
        raise ValueError("nagq must be >= 1")
    x, w = np.polynomial.hermite_e.hermegauss(nagq)
    logw = np.log(w / w.sum())
    mesh = np.meshgrid(*([x] * dim), indexing="ij")
    nodes = np.stack([m.ravel() for m in mesh], axis=1)
    wmesh = np.meshgrid(*([logw] * dim), indexing="ij")
    log_weights = np.sum([m.ravel() for m in wmesh], axis=0)
    return nodes, np.atleast_1d(log_weights)


@dataclass(frozen=True)
class BinomialData:
    """Rows sorted by trial; ``X`` holds the shared columns first, then trial-local slots.

    ``X[:, n_shared + s]`` is the s-th trial-local column of the row's trial (zero when that
    trial has fewer local columns). ``lam_rows, lam_cols`` list the free entries of ``L``.
    Products of the columns that do not depend on the parameters are computed once
    (``cached_property``) and reused by every evaluation.
    """

    y: np.ndarray
    size: np.ndarray
    X: np.ndarray
    Z: np.ndarray
    starts: np.ndarray
    trial_index: np.ndarray
    n_shared: int
    lam_rows: np.ndarray
    lam_cols: np.ndarray

    @property
    def ntrials(self) -> int:
        return len(self.starts)

    @property
    def q(self) -> int:
        return self.Z.shape[1]

    @property
    def log_choose(self) -> float:
        """Sum of log binomial coefficients (0 for 0/1 outcomes)."""
        s, y = self.size, self.y
        return float(np.sum(gammaln(s + 1) - gammaln(y + 1) - gammaln(s - y + 1)))

    @cached_property
    def binary(self) -> bool:
        """All binomial sizes are 1 (0/1 outcomes): the sizes need not multiply anything."""
        return bool(np.all(self.size == 1.0))

    # Row quantities are kept column-major ((columns, rows), contiguous along the rows), so
    # every product and every per-trial sum runs over long contiguous vectors.
    @cached_property
    def XT(self) -> np.ndarray:
        return np.ascontiguousarray(self.X.T)

    @cached_property
    def ZT(self) -> np.ndarray:
        return np.ascontiguousarray(self.Z.T)

    @cached_property
    def ZZT(self) -> np.ndarray:
        """(q*q, n) row products ``z_r z_r'`` (flattened)."""
        return (self.ZT[:, None, :] * self.ZT[None, :, :]).reshape(-1, len(self.y))

    @cached_property
    def weighted_features(self) -> np.ndarray:
        """(q*p, n): ``z x'`` per row (summed with the weights ``w``)."""
        ZT, XT, n = self.ZT, self.XT, len(self.y)
        return (ZT[:, None, :] * XT[None, :, :]).reshape(-1, n)

    @cached_property
    def square_features(self) -> np.ndarray:
        """(p*p, n): ``x x'`` per row."""
        XT, n = self.XT, len(self.y)
        return (XT[:, None, :] * XT[None, :, :]).reshape(-1, n)

    @cached_property
    def third_features(self) -> np.ndarray:
        """(q*q*(p+q), n): ``z z' (x', z')`` per row (third-derivative sums)."""
        XZ = np.concatenate([self.XT, self.ZT], axis=0)
        return (self.ZZT[:, None, :] * XZ[None, :, :]).reshape(-1, len(self.y))

    def lower(self, lam: np.ndarray) -> np.ndarray:
        """The q x q matrix ``L`` from its free entries."""
        out = np.zeros((self.q, self.q))
        out[self.lam_rows, self.lam_cols] = lam
        return out


@dataclass(frozen=True)
class Evaluation:
    """Per-trial log-likelihood, per-trial gradient (coefficients then ``L`` entries), modes.

    ``information``: (K, p, p) approximate minus-Hessian in the coefficients
    (``_aghq_gradient.coefficient_information``), computed when first asked for (Newton's
    method needs it only where it refreshes its Hessian).
    """

    loglik: np.ndarray
    gradient: np.ndarray | None
    modes: np.ndarray
    lower: np.ndarray
    curvature: tuple | None = None  # inputs of ``information``

    @cached_property
    def information(self) -> np.ndarray | None:
        return None if self.curvature is None else coefficient_information(*self.curvature)


@dataclass(frozen=True)
class NodeSums:
    """What the gradient needs from the quadrature sums (see ``_node_part``)."""

    e: np.ndarray  # (n,) sum_k pi_ik (y_r - m_r p_rk)
    E: np.ndarray  # (q, n) sum_k pi_ik (y_r - m_r p_rk) U_ik
    gbar: np.ndarray  # (K, q) sum_k pi_ik grad h_i(U_ik)
    Gam: np.ndarray  # (K, q, q) sum_k pi_ik grad h_i(U_ik) z_k'


def _sum(arr: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per-trial sums over the rows (last axis): (..., n) -> (..., K)."""
    return np.add.reduceat(arr, starts, axis=-1)


_EXP_SAFE = 700.0  # exp(eta) is finite below this


def _softplus(eta: np.ndarray) -> np.ndarray:
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


def _rows(vT: np.ndarray, u: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``sum_a vT[a, r] u[g_r, a]`` for every row r."""
    out = vT[0] * u[:, 0][g]
    for a in range(1, vT.shape[0]):
        out += vT[a] * u[:, a][g]
    return out


def _h(data: BinomialData, eta: np.ndarray, u: np.ndarray) -> np.ndarray:
    sp = _softplus(eta)
    ll = data.y * eta - (sp if data.binary else data.size * sp)
    return _sum(ll, data.starts) - 0.5 * np.einsum("iq,iq->i", u, u)


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
    g, q, starts = data.trial_index, data.q, data.starts
    eye = np.eye(q)
    eta = offset + _rows(ZLT, u, g)
    h = None
    for _ in range(_MODE_MAXIT):
        sp = _softplus(eta)
        p = np.exp(eta - sp)
        w = p * (1.0 - p) if data.binary else data.size * p * (1.0 - p)
        res = data.y - (p if data.binary else data.size * p)
        grad = _sum(data.ZT * res, starts).T @ L - u
        M = _sum(data.ZZT * w, starts).T.reshape(-1, q, q)
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


_CELLS = 4_000_000  # rows x nodes handled at once (memory bound for many nodes)
_REUSED = 1_000_000  # node x row work arrays up to this size are kept for the next call
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


def _chunks(bounds: np.ndarray, nodes: int) -> list[tuple[int, int]]:
    """Consecutive trial ranges whose rows x nodes stay under ``_CELLS``."""
    out, first = [], 0
    K = len(bounds) - 1
    for i in range(1, K + 1):
        if (bounds[i] - bounds[first]) * nodes > _CELLS and i - 1 > first:
            out.append((first, i - 1))
            first = i - 1
    out.append((first, K))
    return out


def _node_part(data, rows, trials, ZLT, u_hat, S, eta0, nodes, log_weights, *, gradient):
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
    fast = np.max(eta) < _EXP_SAFE
    if fast:  # exp(eta) is kept for the probabilities: p = e / (1 + e)
        expeta = np.exp(eta, out=eta)
        sp = np.log1p(expeta, out=work2)
    else:
        sp = _softplus(eta)
    # sum_r ll_rk = sum_r y_r eta0_r + (sum_r y_r a_r)' z_k - sum_r m_r softplus(eta_rk)
    lin = _sum(y * eta0, starts)[:, None] + _sum(AT * y, starts).T @ nodes.T
    U = u[:, None, :] + np.einsum("iab,kb->ika", St, nodes)
    a = (
        log_weights
        + lin
        - _sum(sp if data.binary else sp * size, starts).T
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
    if fast:
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
    gbar = _sum(ZLr * e, starts).T - u - np.einsum("iab,ib->ia", St, zbar)
    Gam = (
        _sum((ZLr[:, None, :] * c[None, :, :]).reshape(q * q, -1), starts).T.reshape(-1, q, q)
        - u[:, :, None] * zbar[:, None, :]
        - St @ (pi @ zz).reshape(-1, q, q)
    )
    return logq, NodeSums(e, E, gbar, Gam)


def _offset(data: BinomialData, coef: np.ndarray) -> np.ndarray:
    """``x_r' beta_i``: shared coefficients by one product, trial-local ones per slot."""
    ps, g = data.n_shared, data.trial_index
    shared = coef[:, :ps]
    if len(coef) and np.all(shared == shared[0]):
        out = shared[0] @ data.XT[:ps] if ps else np.zeros(len(g))
        for s in range(ps, coef.shape[1]):
            out += data.XT[s] * coef[:, s][g]
        return out
    return np.einsum("jr,jr->r", data.XT, coef.T[:, g])


def evaluate(
    data: BinomialData,
    coef: np.ndarray,
    lam: np.ndarray,
    modes: np.ndarray,
    nodes: np.ndarray,
    log_weights: np.ndarray,
    *,
    gradient: bool = True,
) -> Evaluation:
    """Log-likelihood (per trial, without the binomial constant) and its exact gradient.

    Parameters
    ----------
    coef
        (K, p) coefficients per trial: shared ones repeated, local slots per trial.
    lam
        Free entries of ``L``.
    modes
        (K, q) starting values for the conditional modes (warm start).
    """
    g, starts, q = data.trial_index, data.starts, data.q
    L = data.lower(lam)
    ZLT = L.T @ data.ZT  # (q, n): rows of Z L
    offset = _offset(data, coef)
    u_hat = conditional_modes(data, offset, L, ZLT, modes)

    # quantities at the mode
    eta0 = offset + _rows(ZLT, u_hat, g)
    sp0 = _softplus(eta0)
    p0 = np.exp(eta0 - sp0)
    w0 = p0 * (1.0 - p0) if data.binary else data.size * p0 * (1.0 - p0)
    M = _sum(data.ZZT * w0, starts).T.reshape(-1, q, q)
    H = L.T @ M @ L + np.eye(q)
    R = np.linalg.cholesky(H)
    Rinv = np.linalg.inv(R)
    S = Rinv.transpose(0, 2, 1)  # R^{-T}, S S' = H^{-1}
    logdet_R = np.sum(np.log(np.diagonal(R, axis1=1, axis2=2)), axis=1)

    laplace = len(nodes) == 1 and not np.any(nodes)
    K, n = data.ntrials, len(data.y)
    if laplace:  # the only node is the mode itself
        ll0 = data.y * eta0 - (sp0 if data.binary else data.size * sp0)
        loglik = _sum(ll0, starts) - 0.5 * np.einsum("iq,iq->i", u_hat, u_hat) - logdet_R
        if not gradient:
            return Evaluation(loglik, None, u_hat, L)
        e = data.y - (p0 if data.binary else data.size * p0)
        sums = NodeSums(e, e * u_hat.T[:, g], np.zeros((K, q)), np.zeros((K, q, q)))
    else:
        loglik = np.empty(K)
        parts = []
        bounds = np.r_[starts, n]
        for i0, i1 in _chunks(bounds, len(nodes)):
            rows = slice(int(bounds[i0]), int(bounds[i1]))
            logq, part = _node_part(
                data, rows, slice(i0, i1), ZLT, u_hat, S, eta0, nodes, log_weights,
                gradient=gradient,
            )  # fmt: skip
            loglik[i0:i1] = logq - logdet_R[i0:i1]
            parts.append(part)
        if not gradient:
            return Evaluation(loglik, None, u_hat, L)
        sums = parts[0]
        if len(parts) > 1:
            sums = NodeSums(
                np.concatenate([s.e for s in parts]),
                np.concatenate([s.E for s in parts], axis=1),
                np.concatenate([s.gbar for s in parts]),
                np.concatenate([s.Gam for s in parts]),
            )
    grad, C, Hinv = total_gradient(data, L, u_hat, p0, w0, M, H, R, Rinv, sums, laplace=laplace)
    return Evaluation(loglik, grad, u_hat, L, (data, w0, C, Hinv))
