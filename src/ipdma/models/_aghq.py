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
third derivative of the log-likelihood enters here). The per-row log-density comes from the
data's family (``_family``: binomial/logit or Poisson/log with an offset). Without those terms the
Laplace gradient would be that of a different objective.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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

    def lower(self, lam: np.ndarray) -> np.ndarray:
        """The q x q matrix ``L`` from its free entries."""
        out = np.zeros((self.q, self.q))
        out[self.lam_rows, self.lam_cols] = lam
        return out


@dataclass(frozen=True)
class Evaluation:
    """Per-trial log-likelihood, per-trial gradient (coefficients then ``L`` entries), modes."""

    loglik: np.ndarray
    gradient: np.ndarray | None
    modes: np.ndarray
    lower: np.ndarray
    information: np.ndarray | None = None  # (K, p, p) approximate minus-Hessian, coefficients


def _sum(arr: np.ndarray, starts: np.ndarray) -> np.ndarray:
    return np.add.reduceat(arr, starts, axis=0)


def _h(data: BinomialData, eta: np.ndarray, u: np.ndarray) -> np.ndarray:
    ll = data.family.loglik(data.y, data.size, eta)
    return _sum(ll, data.starts) - 0.5 * np.einsum("iq,iq->i", u, u)


def conditional_modes(
    data: BinomialData, offset: np.ndarray, ZL: np.ndarray, u: np.ndarray
) -> np.ndarray:
    """Maximise every ``h_i(u)`` at once by Newton's method with per-trial step halving."""
    g = data.trial_index
    eye = np.eye(data.q)
    eta = offset + np.einsum("rq,rq->r", ZL, u[g])
    h = None
    for _ in range(_MODE_MAXIT):
        w = data.family.weight(data.size, eta)
        grad = _sum(ZL * (data.y - data.family.mean(data.size, eta))[:, None], data.starts) - u
        hess = _sum(w[:, None, None] * ZL[:, :, None] * ZL[:, None, :], data.starts) + eye
        step = np.linalg.solve(hess, grad[..., None])[..., 0]
        if np.max(np.abs(step)) < _MODE_TOL:
            return u + step
        if np.max(np.abs(step)) < 0.1:  # close to the mode of a concave h: full step
            u = u + step
            eta = offset + np.einsum("rq,rq->r", ZL, u[g])
            h = None
            continue
        if h is None:
            h = _h(data, eta, u)
        t = np.ones(len(u))
        for _ in range(40):
            un = u + t[:, None] * step
            eta_n = offset + np.einsum("rq,rq->r", ZL, un[g])
            hn = _h(data, eta_n, un)
            bad = hn < h - 1e-12 * (1.0 + np.abs(h))
            if not bad.any():
                break
            t[bad] *= 0.5
        u, eta, h = un, eta_n, hn
    return u


def _phi(P: np.ndarray) -> np.ndarray:
    """Lower triangle of P with half its diagonal (derivative of the Cholesky factor)."""
    out = np.tril(P)
    d = np.arange(P.shape[-1])
    out[..., d, d] *= 0.5
    return out


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


def _node_part(
    data, rows, trials, offset, ZL, u_hat, S, eta0, p0, nodes, log_weights, *, laplace, gradient
):
    """Quadrature sums for a block of consecutive trials (rows ``rows``)."""
    y, size = data.y[rows], data.size[rows]
    starts = data.starts[trials] - rows.start
    g = data.trial_index[rows] - trials.start
    ZLr = ZL[rows]
    u = u_hat[trials]
    # the grid: U[i, k] = u_hat_i + S_i z_k (the mode itself for the Laplace approximation)
    U = u[:, None, :] if laplace else u[:, None, :] + np.einsum("iab,kb->ika", S[trials], nodes)
    Ur = U[g]  # (rows, N, q)
    eta = eta0[rows, None] if laplace else offset[rows, None] + np.einsum("rq,rkq->rk", ZLr, Ur)
    ll = data.family.loglik(y[:, None], size[:, None], eta)
    a = (
        log_weights
        + _sum(ll, starts)
        - 0.5 * np.einsum("ikq,ikq->ik", U, U)
        + 0.5 * np.einsum("kq,kq->k", nodes, nodes)
    )
    amax = a.max(axis=1, keepdims=True)
    wk = np.exp(a - amax)
    total = wk.sum(axis=1, keepdims=True)
    logq = amax[:, 0] + np.log(total[:, 0])
    if not gradient:
        return (logq,)
    pi = wk / total  # posterior weights of the nodes
    res = y[:, None] - (p0[rows, None] if laplace else data.family.mean(size[:, None], eta))
    if laplace:  # at the mode the gradient of h vanishes and the only node is z = 0
        e = res[:, 0]
        return logq, e, e[:, None] * Ur[:, 0, :], 0.0, 0.0
    pir = pi[g]
    e = np.einsum("rk,rk->r", pir, res)
    E = np.einsum("rk,rkq->rq", pir * res, Ur)
    gk = _sum(ZLr[:, None, :] * res[:, :, None], starts) - U
    gbar = np.einsum("ik,ikq->iq", pi, gk)
    Gam = np.einsum("ik,ika,kb->iab", pi, gk, nodes)
    return logq, e, E, gbar, Gam


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
    X, Z, y, size = data.X, data.Z, data.y, data.size
    L = data.lower(lam)
    ZL = Z @ L
    offset = np.einsum("rj,rj->r", X, coef[g])
    if data.offset is not None:
        offset = offset + data.offset
    u_hat = conditional_modes(data, offset, ZL, modes)

    # quantities at the mode
    eta0 = offset + np.einsum("rq,rq->r", ZL, u_hat[g])
    p0 = data.family.mean(size, eta0)  # expected counts m p (binomial) or mu (Poisson)
    w0 = data.family.weight(size, eta0)
    H = _sum(w0[:, None, None] * ZL[:, :, None] * ZL[:, None, :], starts) + np.eye(q)
    R = np.linalg.cholesky(H)
    S = np.linalg.inv(R).transpose(0, 2, 1)  # R^{-T}, S S' = H^{-1}
    logdet_R = np.sum(np.log(np.diagonal(R, axis1=1, axis2=2)), axis=1)

    laplace = len(nodes) == 1 and not np.any(nodes)
    K, n = data.ntrials, len(y)
    loglik = np.empty(K)
    e, E = np.empty(n), np.empty((n, q))
    gbar, Gam = np.zeros((K, q)), np.zeros((K, q, q))
    bounds = np.r_[starts, n]
    for i0, i1 in _chunks(bounds, len(nodes)):
        rows = slice(int(bounds[i0]), int(bounds[i1]))
        part = _node_part(
            data,
            rows,
            slice(i0, i1),
            offset,
            ZL,
            u_hat,
            S,
            eta0,
            p0,
            nodes,
            log_weights,
            laplace=laplace,
            gradient=gradient,
        )
        loglik[i0:i1] = part[0] - logdet_R[i0:i1]
        if gradient:
            e[rows], E[rows], gbar[i0:i1], Gam[i0:i1] = part[1:]
    if not gradient:
        return Evaluation(loglik, None, u_hat, L)
    d_coef = _sum(X * e[:, None], starts)  # (K, p): direct derivatives, grid held fixed
    d_L = _sum(Z[:, :, None] * E[:, None, :], starts)  # (K, q, q): d/dL_st

    # implicit derivatives of the mode and of H
    r0 = y - p0
    w1 = data.family.weight_slope(size, eta0)  # dW/deta
    M = _sum(w0[:, None, None] * Z[:, :, None] * Z[:, None, :], starts)
    ZWX = _sum((w0[:, None] * Z)[:, :, None] * X[:, None, :], starts)  # (K, q, p)
    Zres = _sum(Z * r0[:, None], starts)
    vv = w1[:, None, None] * ZL[:, :, None] * ZL[:, None, :]
    TX = _sum(vv[..., None] * X[:, None, None, :], starts)  # (K, q, q, p)
    TZ = _sum(vv[..., None] * Z[:, None, None, :], starts)  # (K, q, q, q)
    TV = TZ @ L  # (K, q, q, q): sum W' v v' v_t
    Hinv = np.linalg.inv(H)
    # minus the Hessian of h(u_hat(coef), coef) in the coefficients (exact for h; the
    # log-determinant's curvature, O(1/n_i) relative, is left out): X'WX - C H^-1 C'
    XWX = _sum((w0[:, None] * X)[:, :, None] * X[:, None, :], starts)
    C = np.einsum("isj,st->ijt", ZWX, L)  # sum w x v'
    information = XWX - np.einsum("ijt,itu,iku->ijk", C, Hinv, C)

    p = X.shape[1]
    nl = len(lam)
    K = data.ntrials
    c = np.empty((K, p + nl, q))
    dH = np.empty((K, p + nl, q, q))
    c[:, :p] = -np.einsum("st,isj->ijt", L, ZWX)
    dH[:, :p] = np.moveaxis(TX, 3, 1)
    LtM = np.einsum("st,isv->itv", L, M)  # L' M
    for j, (s, t) in enumerate(zip(data.lam_rows, data.lam_cols, strict=True)):
        cj = -LtM[:, :, s] * u_hat[:, t : t + 1]
        cj[:, t] += Zres[:, s]
        c[:, p + j] = cj
        dL = np.zeros((q, q))
        dL[s, t] = 1.0
        MLd = np.einsum("iab,bc->iac", M, L)
        dH[:, p + j] = (
            np.einsum("ba,ibc->iac", dL, MLd)
            + np.einsum("iab,bc->iac", LtM, dL)
            + TZ[..., s] * u_hat[:, t, None, None]
        )
    du = np.einsum("iab,ijb->ija", Hinv, c)
    dH += np.einsum("iabt,ijt->ijab", TV, du)
    direct = np.concatenate([d_coef, d_L[:, data.lam_rows, data.lam_cols]], axis=1)
    grad = direct - 0.5 * np.einsum("iab,ijba->ij", Hinv, dH)
    if not laplace:
        Rinv = np.linalg.inv(R)
        P = np.einsum("iab,ijbc,idc->ijad", Rinv, dH, Rinv)
        dR = np.einsum("iab,ijbc->ijac", R, _phi(P))
        dS = -np.einsum("iab,ijcb,icd->ijad", S, dR, S)
        grad += np.einsum("iq,ijq->ij", gbar, du) + np.einsum("ijab,iab->ij", dS, Gam)
    return Evaluation(loglik, grad, u_hat, L, information)
