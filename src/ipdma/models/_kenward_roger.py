"""Kenward-Roger small-sample inference for linear mixed models (REML).

Kenward & Roger (1997, Biometrics 53:983), as R's pbkrtest computes it (``vcovAdj``,
``get_Lb_ddf``; Halekoh & Hojsgaard 2014, J Stat Softw 59(9)) and lmerTest reports it with
``ddf = "Kenward-Roger"``. With the marginal covariance of trial i written linearly in the
covariance parameters gamma (each random-effect variance and covariance, and the residual
variance, or one residual variance per trial when they are stratified)::

    Sigma_i = sum_r gamma_r G_ri,   G = z_a z_b' + z_b z_a' (or z_a z_a'), or I
    Phi     = (X' Sigma^-1 X)^-1                          (the usual covariance of beta)
    P_r     = -X' Sigma^-1 G_r Sigma^-1 X
    Q_rs    =  X' Sigma^-1 G_r Sigma^-1 G_s Sigma^-1 X
    I_rs    =  tr(S G_r S G_s) - 2 tr(Phi Q_rs) + tr(Phi P_r Phi P_s),   S = Sigma^-1
    W       =  2 I^-1                                      (expected information, REML)
    Phi_A   =  Phi + 2 Phi [sum_rs W_rs (Q_rs - P_r Phi P_s)] Phi

The adjusted covariance Phi_A gives the standard errors; the denominator df of a single
coefficient j follow KR's F approximation with l = 1 (a_r = (Phi P_r Phi)_jj / Phi_jj,
A = sum_rs W_rs a_r a_s, B = 3.5 A, c1 = -1/7, c2 = 2/7, c3 = 4/7)::

    rho = ((1 - A) / (1 - c2 B))^2 (1 + c1 B) / (1 - c3 B),   df = 4 + 3 / (rho - 1)

Every quantity is a sum over trials of products of the per-trial cross-products of [X Z]
(Sigma_i^-1 = (I - Z_i K_i Z_i') / s_i^2 by the Woodbury identity, with a square-root factor
of the random-effect covariance, so singular fits are fine): no n x n matrix is formed and the
cost grows with the number of trials, not of participants.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._formula import ModelDesign

__all__ = ["KenwardRoger", "kenward_roger"]

_CONDITION_TOL = 1e-10  # pbkrtest: below this smallest |eigenvalue| the information is pinv'ed


@dataclass(frozen=True)
class KenwardRoger:
    """Adjusted covariance of the fixed effects and the KR denominator df per coefficient."""

    vcov: pd.DataFrame
    se: pd.Series
    df: pd.Series


@dataclass(frozen=True)
class _TrialProducts:
    xsx: np.ndarray  # X'SX      (p, p)
    xsz: np.ndarray  # X'SZ      (p, q)
    zsz: np.ndarray  # Z'SZ      (q, q)
    xs2x: np.ndarray  # X'S^2X   (p, p)
    xs2z: np.ndarray  # X'S^2Z   (p, q)
    zs2z: np.ndarray  # Z'S^2Z   (q, q)
    xs3x: np.ndarray  # X'S^3X   (p, p)
    trace_s2: float  # tr(S^2)


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return vectors * np.sqrt(np.clip(values, 0, None))


def _products(x: np.ndarray, z: np.ndarray, factor: np.ndarray, s2: float) -> _TrialProducts:
    """Cross-products of one trial under Sigma = Z D Z' + s2 I, D = factor factor'."""
    p, q = x.shape[1], z.shape[1]
    w = np.hstack([x, z])
    c = w.T @ w
    ztz = c[p:, p:]
    inner = s2 * np.eye(q) + factor.T @ ztz @ factor
    k = factor @ np.linalg.solve(inner, factor.T)  # (q, q)
    # S W = W F / s2 with F = I - J K J'C (J selects Z's columns of W)
    f = np.eye(p + q)
    f[p:, :] -= k @ c[p:, :]
    cf = c @ f / s2
    cf2 = cf @ f / s2
    cf3 = cf2 @ f / s2
    kz = k @ ztz
    trace_s2 = (x.shape[0] - 2 * np.trace(kz) + np.trace(kz @ kz)) / s2**2
    return _TrialProducts(
        xsx=cf[:p, :p],
        xsz=cf[:p, p:],
        zsz=cf[p:, p:],
        xs2x=cf2[:p, :p],
        xs2z=cf2[:p, p:],
        zs2z=cf2[p:, p:],
        xs3x=cf3[:p, :p],
        trace_s2=float(trace_s2),
    )


def _parameters(design: ModelDesign, stratified: bool) -> list[tuple]:
    """Covariance parameters as pbkrtest orders them: per random-effect block the lower
    triangle of its covariance, then the residual variance(s)."""
    params: list[tuple] = []
    for re_block in design.re_blocks:
        block = [int(i) for i in re_block]
        for j, b in enumerate(block):
            for a in block[j:]:
                params.append(("z", int(a), int(b)))
    if stratified:
        params += [("res", k) for k in range(design.ngroups)]
    else:
        params.append(("res", None))
    return params


def _outer_terms(param: tuple) -> list[tuple[int, int]]:
    _, a, b = param
    return [(a, a)] if a == b else [(a, b), (b, a)]


def _shared_trials(r: tuple, s: tuple, n_trials: int) -> range | tuple[int, ...]:
    """Trials whose covariance both parameters touch (a trial's own residual variance
    touches only that trial)."""
    own = {p[1] for p in (r, s) if p[0] == "res" and p[1] is not None}
    if not own:
        return range(n_trials)
    return tuple(own) if len(own) == 1 else ()


def _p_term(param: tuple, t: _TrialProducts) -> np.ndarray:
    if param[0] == "res":
        return -t.xs2x
    out = np.zeros_like(t.xsx)
    for u, v in _outer_terms(param):
        out -= np.outer(t.xsz[:, u], t.xsz[:, v])
    return out


def _q_term(r: tuple, s: tuple, t: _TrialProducts) -> np.ndarray:
    if r[0] == "res" and s[0] == "res":
        return t.xs3x
    out = np.zeros_like(t.xsx)
    if r[0] == "res":
        for w, x in _outer_terms(s):
            out += np.outer(t.xs2z[:, w], t.xsz[:, x])
        return out
    if s[0] == "res":
        for u, v in _outer_terms(r):
            out += np.outer(t.xsz[:, u], t.xs2z[:, v])
        return out
    for u, v in _outer_terms(r):
        for w, x in _outer_terms(s):
            out += t.zsz[v, w] * np.outer(t.xsz[:, u], t.xsz[:, x])
    return out


def _trace_term(r: tuple, s: tuple, t: _TrialProducts) -> float:
    if r[0] == "res" and s[0] == "res":
        return t.trace_s2
    if r[0] == "res" or s[0] == "res":
        other = s if r[0] == "res" else r
        return float(sum(t.zs2z[v, u] for u, v in _outer_terms(other)))
    return float(
        sum(t.zsz[v, w] * t.zsz[x, u] for u, v in _outer_terms(r) for w, x in _outer_terms(s))
    )


def kenward_roger(
    design: ModelDesign,
    covariance: np.ndarray,
    residual_variance: np.ndarray,
    *,
    stratified: bool = False,
) -> KenwardRoger:
    """Kenward-Roger adjusted covariance and df at the REML estimates.

    Parameters
    ----------
    design
        The model's design (rows sorted by trial).
    covariance
        The random-effect covariance matrix D (q x q, on the outcome's scale), in the order
        of ``design.random_names`` (zero outside its blocks).
    residual_variance
        The residual variance of each trial (all equal for a common residual variance).
    stratified
        One residual variance parameter per trial (else one common parameter).
    """
    from threadpoolctl import threadpool_limits  # imported here: most fits never need it

    # small matrices only: threaded BLAS adds overhead and contends with other processes
    with threadpool_limits(1):
        return _kenward_roger(design, covariance, residual_variance, stratified)


def _kenward_roger(
    design: ModelDesign, covariance: np.ndarray, residual_variance: np.ndarray, stratified: bool
) -> KenwardRoger:
    x_all, z_all = design.X, design.Z
    residual_variance = np.asarray(residual_variance, dtype=float)
    factor = _sqrt_psd(covariance)
    trials = [
        _products(x_all[sl], z_all[sl], factor, float(residual_variance[k]))
        for k, sl in enumerate(design.group_slices)
    ]
    params = _parameters(design, stratified)
    n, n_trials = len(params), len(trials)
    phi = np.linalg.inv(sum(t.xsx for t in trials))
    phi = (phi + phi.T) / 2
    p_mats = np.array([
        sum((_p_term(param, trials[k]) for k in _shared_trials(param, param, n_trials)),
            np.zeros_like(phi))
        for param in params
    ])  # fmt: skip
    q_mats = np.zeros((n, n, *phi.shape))
    traces = np.zeros((n, n))
    for i, r in enumerate(params):
        for j in range(i, n):
            shared = _shared_trials(r, params[j], n_trials)
            if not shared:  # two trials' own residual variances: Q_rs = 0, no trace term
                continue
            for k in shared:
                q_mats[i, j] += _q_term(r, params[j], trials[k])
                traces[i, j] += _trace_term(r, params[j], trials[k])
            q_mats[j, i] = q_mats[i, j].T
            traces[j, i] = traces[i, j]
    dim = phi.shape[0]
    phi_p = phi @ p_mats  # (n, p, p): Phi P_r
    flat_q = q_mats.reshape(n * n, dim * dim)
    info = (
        traces
        - 2 * (flat_q @ phi.ravel()).reshape(n, n)
        + phi_p.reshape(n, -1) @ phi_p.transpose(0, 2, 1).reshape(n, -1).T
    )
    eigen = np.linalg.eigvalsh(info)
    w = 2 * (
        np.linalg.inv(info) if np.min(np.abs(eigen)) > _CONDITION_TOL else np.linalg.pinv(info)
    )
    # U = sum_rs W_rs (Q_rs - P_r Phi P_s)
    weighted_p = np.tensordot(w, p_mats, axes=(1, 0))  # sum_s W_rs P_s
    p_phi = (p_mats @ phi).transpose(1, 0, 2).reshape(dim, n * dim)
    u = (w.ravel() @ flat_q).reshape(dim, dim) - p_phi @ weighted_p.reshape(n * dim, dim)
    phi_a = phi + 2 * phi @ u @ phi
    phi_a = (phi_a + phi_a.T) / 2
    names = list(design.fixed_names)
    a = np.einsum("rjj->rj", phi_p @ phi) / np.diag(phi)  # (Phi P_r Phi)_jj / Phi_jj
    df = _single_df(np.einsum("rj,rs,sj->j", a, w, a))
    return KenwardRoger(
        vcov=pd.DataFrame(phi_a, index=names, columns=names),
        se=pd.Series(np.sqrt(np.diag(phi_a)), index=names, name="se"),
        df=pd.Series(df, index=names, name="df"),
    )


def _single_df(a: np.ndarray) -> np.ndarray:
    """KR denominator df of a one-dimensional hypothesis (l = 1), A1 = A2 = A."""
    b = 3.5 * a
    c1, c2, c3 = -1 / 7, 2 / 7, 4 / 7
    v0 = 1 + c1 * b
    v0 = np.where(np.abs(v0) < 1e-10, 0.0, v0)
    v1 = 1 - c2 * b
    v2 = 1 - c3 * b
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = ((1 - a) / v1) ** 2 * v0 / v2
        return 4 + 3 / (rho - 1)


def kenward_roger_of(fit, data: pd.DataFrame) -> KenwardRoger:
    """Kenward-Roger inference for a linear REML fit of :func:`ipdma.mixed` on ``data``."""
    from ._formula import build_design, parse_formula

    if fit.family != "gaussian" or fit.method != "REML":
        raise ValueError("Kenward-Roger inference applies to linear models fitted by REML")
    design = build_design(parse_formula(fit.formula), data)
    names = list(design.random_names)
    index = {name: i for i, name in enumerate(names)}
    covariance = np.zeros((len(names), len(names)))
    vc = fit.varcomp
    for row in vc[vc["group"] != "Residual"].itertuples(index=False):
        a = index[row.term1]
        b = a if pd.isna(row.term2) else index[row.term2]
        covariance[a, b] = covariance[b, a] = row.variance
    stratified = isinstance(fit.sigma, pd.Series)
    if stratified:
        residual = (fit.sigma.reindex(list(design.group_levels)) ** 2).to_numpy()
    else:
        residual = np.full(design.ngroups, float(fit.sigma) ** 2)
    return kenward_roger(design, covariance, residual, stratified=stratified)
