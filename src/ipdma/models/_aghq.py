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
third derivative of the log-likelihood enters here; ``_aghq_gradient``). The per-row
log-density comes from the data's family (``_family``: binomial/logit or Poisson/log with an
offset). Without those terms the Laplace gradient would be that of a different objective.

Speed: every trial and every node is handled in one array operation (``_aghq_nodes``); the
conditional modes of all trials are found by one batched Newton iteration; products of the
columns that do not depend on the parameters are computed once per data set.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ._aghq_gradient import coefficient_information, total_gradient
from ._aghq_nodes import NodeSums, node_part, softplus, trial_sums
from ._family import BINOMIAL, GLMFamily

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
    ``family`` gives the per-row log-density and its derivatives (binomial or Poisson,
    ``_family``); ``offset`` is a fixed part of the linear predictor (Poisson: log exposure).
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
    family: GLMFamily = BINOMIAL
    offset: np.ndarray | None = None

    @property
    def ntrials(self) -> int:
        return len(self.starts)

    @property
    def q(self) -> int:
        return self.Z.shape[1]

    @property
    def log_choose(self) -> float:
        """The log-density's constant: log binomial coefficients (0 for 0/1 outcomes) or
        ``-sum log y!`` (Poisson)."""
        return self.family.log_constant(self.y, self.size)

    @cached_property
    def binary(self) -> bool:
        """The sizes need not multiply anything: 0/1 outcomes, or Poisson (no size)."""
        return self.family.name == "poisson" or bool(np.all(self.size == 1.0))

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
    method needs it only where it refreshes its Hessian), or given when it was computed
    elsewhere (``given_information``: the sites of the federated protocol send theirs).
    """

    loglik: np.ndarray
    gradient: np.ndarray | None
    modes: np.ndarray
    lower: np.ndarray
    curvature: tuple | None = None  # inputs of ``information``
    given_information: np.ndarray | None = None  # (K, p, p), computed elsewhere

    @cached_property
    def information(self) -> np.ndarray | None:
        if self.given_information is not None:
            return self.given_information
        return None if self.curvature is None else coefficient_information(*self.curvature)


def _rows(vT: np.ndarray, u: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``sum_a vT[a, r] u[g_r, a]`` for every row r."""
    out = vT[0] * u[:, 0][g]
    for a in range(1, vT.shape[0]):
        out += vT[a] * u[:, a][g]
    return out


def _moments(data: BinomialData, eta: np.ndarray):
    """Per row: cumulant ``b``, mean ``m b'``, weight ``m b''`` (``_family``)."""
    family = data.family
    cumulant = softplus(eta) if family.name == "binomial" else family.cumulant(eta)
    unit = family.unit_mean(eta, cumulant)
    var = family.unit_variance(unit)
    if data.binary:
        return cumulant, unit, var, unit, var
    return cumulant, data.size * unit, data.size * var, unit, var


def _h(data: BinomialData, eta: np.ndarray, u: np.ndarray) -> np.ndarray:
    sp = softplus(eta) if data.family.name == "binomial" else data.family.cumulant(eta)
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
    g, q, starts = data.trial_index, data.q, data.starts
    eye = np.eye(q)
    eta = offset + _rows(ZLT, u, g)
    h = None
    for _ in range(_MODE_MAXIT):
        _, mean, w, _, _ = _moments(data, eta)
        res = data.y - mean
        grad = trial_sums(data.ZT * res, starts).T @ L - u
        M = trial_sums(data.ZZT * w, starts).T.reshape(-1, q, q)
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


def _offset(data: BinomialData, coef: np.ndarray) -> np.ndarray:
    """``x_r' beta_i`` (plus the data's fixed offset): shared coefficients by one product,
    trial-local ones per slot."""
    ps, g = data.n_shared, data.trial_index
    shared = coef[:, :ps]
    if len(coef) and np.all(shared == shared[0]):
        out = shared[0] @ data.XT[:ps] if ps else np.zeros(len(g))
        for s in range(ps, coef.shape[1]):
            out += data.XT[s] * coef[:, s][g]
    else:
        out = np.einsum("jr,jr->r", data.XT, coef.T[:, g])
    return out if data.offset is None else out + data.offset


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
    sp0, mean0, w0, unit0, var0 = _moments(data, eta0)
    w1 = data.family.unit_third(unit0, var0)  # dW/deta
    if not data.binary:
        w1 = data.size * w1
    M = trial_sums(data.ZZT * w0, starts).T.reshape(-1, q, q)
    H = L.T @ M @ L + np.eye(q)
    R = np.linalg.cholesky(H)
    Rinv = np.linalg.inv(R)
    S = Rinv.transpose(0, 2, 1)  # R^{-T}, S S' = H^{-1}
    logdet_R = np.sum(np.log(np.diagonal(R, axis1=1, axis2=2)), axis=1)

    laplace = len(nodes) == 1 and not np.any(nodes)
    K, n = data.ntrials, len(data.y)
    if laplace:  # the only node is the mode itself
        ll0 = data.y * eta0 - (sp0 if data.binary else data.size * sp0)
        loglik = trial_sums(ll0, starts) - 0.5 * np.einsum("iq,iq->i", u_hat, u_hat) - logdet_R
        if not gradient:
            return Evaluation(loglik, None, u_hat, L)
        e = data.y - mean0
        sums = NodeSums(e, e * u_hat.T[:, g], np.zeros((K, q)), np.zeros((K, q, q)))
    else:
        loglik = np.empty(K)
        parts = []
        bounds = np.r_[starts, n]
        for i0, i1 in _chunks(bounds, len(nodes)):
            rows = slice(int(bounds[i0]), int(bounds[i1]))
            logq, part = node_part(
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
    grad, C, Hinv = total_gradient(
        data, L, u_hat, mean0, w0, w1, M, H, R, Rinv, sums, laplace=laplace
    )
    return Evaluation(loglik, grad, u_hat, L, (data, w0, C, Hinv))
