"""Covariance of the fixed effects and Satterthwaite denominator degrees of freedom.

For a fixed effect ``beta_j`` (or a contrast ``l'beta``), lmerTest (Kuznetsova, Brockhoff &
Christensen 2017, J Stat Softw 82(13)) computes::

    df = 2 * Var(l'beta)^2 / (g' A g)

with ``Var(l'beta) = sigma^2 l' H^{-1} l`` (``H = X'V0^{-1}X``), ``g`` its gradient with respect
to the variance parameters ``v = (theta, sigma)`` and ``A = 2 * pinv(Hessian of -2 log L in
v)`` (eigenvalues below 1e-8 dropped, as lmerTest does). We use the same variance parameters
(plus ``log rho_i`` for stratified residual variances); the Hessian is analytic for a
common residual variance and partly the central difference of the analytic gradient for
stratified ones, in rescaled coordinates (see ``varpar_covariance``), and ``g`` is
analytic::

    d Var_j / d theta_k   = sigma^2 * sum_i v_ij' dD_k v_ij,   v_ij = Z_i'V0_i^{-1}X_i H^{-1} e_j
    d Var_j / d sigma     = 2 sigma (H^{-1})_jj
    d Var_j / d log rho_i = sigma^2 rho_i h_ij' X_i'V0_i^{-2}X_i h_ij
"""

from __future__ import annotations

import numpy as np

from ._linear_criterion import Criterion

__all__ = ["full_h_inverse", "satterthwaite_df"]

_EIGEN_TOL = 1e-8  # lmerTest's tolerance for zero eigenvalues of the Hessian
# above this many log residual-variance ratios the Hessian is inverted in O(K) by its
# structure (_structured_denominators) rather than by a dense eigendecomposition
STRUCTURED_MIN_RHO = 100


def slot_index(crit: Criterion) -> np.ndarray:
    """(K, m + pg) original fixed-column index of each trial's [local slots, globals]; -1 pad."""
    s = crit.s
    glob = np.broadcast_to(s.global_index, (crit.K, s.pg))
    return np.concatenate([s.local_index, glob], axis=1)


def full_h_inverse(crit: Criterion, core: dict) -> np.ndarray:
    """H^{-1} = (X'V0^{-1}X)^{-1} over all p fixed columns, in the design's column order."""
    s, m = crit.s, crit.s.m
    hb = crit.h_inverse_blocks(core)
    Hinv = np.zeros((s.p, s.p))
    g = s.global_index
    Hinv[np.ix_(g, g)] = hb["Cinv"]
    if m:
        used = s.local_index >= 0
        loc = s.local_index[used]  # local columns, trial by trial
        E = hb["E"][used]  # (n_local, pg): rows of A_i^{-1} B_i
        ECinv = E @ hb["Cinv"]
        Hinv[np.ix_(loc, loc)] = ECinv @ E.T
        Hinv[np.ix_(loc, g)] = -ECinv
        Hinv[np.ix_(g, loc)] = -ECinv.T
        Ainv = core["Ainv"]
        for slot_a in range(m):
            for slot_b in range(m):
                both = used[:, slot_a] & used[:, slot_b]
                ia = s.local_index[both, slot_a]
                ib = s.local_index[both, slot_b]
                Hinv[ia, ib] += Ainv[both, slot_a, slot_b]
    return Hinv


def _gradient_unprofiled(crit: Criterion, v: np.ndarray) -> np.ndarray:
    """Gradient of -2 log L (REML or ML) in v = (theta, sigma, log rho_2..K)."""
    nt = crit.n_theta
    x = np.concatenate([v[:nt], v[nt + 1 :]])
    sigma = v[nt]
    core = crit.core(x)
    g = crit.gradient_from(core, 1.0 / sigma**2)
    g_sigma = 2 * crit.dof / sigma - 2 * core["r2"] / sigma**3
    return np.concatenate([g[:nt], [g_sigma], g[nt:]])


def _hessian_columns(crit: Criterion, v: np.ndarray):
    """Columns of the deviance Hessian for ``theta`` and ``sigma`` in the coordinates
    ``u = (theta * rms(Z column), log sigma, log rho)``: central differences of the analytic
    gradient (``2 (n_theta + 1)`` gradients whatever the number of trials). Returns the
    columns (k, n_theta + 1), dv/du and u."""
    nt, k = crit.n_theta, len(v)
    rms = np.sqrt(np.einsum("kjj->j", crit.s.ZtZ) / crit.nobs)
    theta_scale = np.where(rms > 0, rms, 1.0)[crit.rows]

    def to_v(u):
        return np.concatenate([u[:nt] / theta_scale, [np.exp(u[nt])], u[nt + 1 :]])

    def dv_du(u):
        return np.concatenate([1 / theta_scale, [np.exp(u[nt])], np.ones(k - nt - 1)])

    def grad_u(u):
        return _gradient_unprofiled(crit, to_v(u)) * dv_du(u)

    u0 = np.concatenate([v[:nt] * theta_scale, [np.log(v[nt])], v[nt + 1 :]])
    cols = np.empty((k, nt + 1))
    for j in range(nt + 1):
        step = 1e-4 * max(abs(u0[j]), 1e-2)
        e = np.zeros(k)
        e[j] = step
        cols[:, j] = (grad_u(u0 + e) - grad_u(u0 - e)) / (2 * step)
    return cols, dv_du(u0)


def _common_hessian(crit: Criterion, v: np.ndarray, core: dict) -> tuple[np.ndarray, np.ndarray]:
    """The Hessian of ``varpar_covariance`` for a common residual variance, analytic
    (``_linear_hessian``) and taken to the coordinates ``u``: ``H_u = J H_v J`` plus
    ``d dev / d sigma * sigma`` on the ``log sigma`` diagonal (``J = dv/du``)."""
    from ._linear_hessian import unprofiled_hessian

    nt = crit.n_theta
    sigma = float(v[nt])
    rms = np.sqrt(np.einsum("kjj->j", crit.s.ZtZ) / crit.nobs)
    d = np.concatenate([1 / np.where(rms > 0, rms, 1.0)[crit.rows], [sigma]])
    hess = unprofiled_hessian(crit, v[:nt], sigma) * np.outer(d, d)
    hess[nt, nt] += (2 * crit.dof / sigma - 2 * core["r2"] / sigma**3) * sigma
    return hess, d


def varpar_covariance(crit: Criterion, v: np.ndarray, core: dict) -> tuple[np.ndarray, np.ndarray]:
    """A = 2 pinv(Hessian) of the deviance in v, and the Hessian's eigenvalues.

    The Hessian is taken in the better-conditioned coordinates ``u = (theta * rms(Z column),
    log sigma, log rho)`` and A mapped back to v; the df do not depend on the coordinates,
    but the finite differences do: in v, a residual SD of 1e-3 next to a relative SD of 50
    gives a Hessian with condition ~1e12. With a common residual variance the Hessian is
    analytic (``_linear_hessian``); with stratified ones the ``theta`` and ``sigma``
    columns are central differences of the analytic gradient and the ``log rho`` block is
    analytic (``_satterthwaite_hessian``).
    """
    nt = crit.n_theta
    if crit.stratified:
        from ._satterthwaite_hessian import rho_block

        cols, d = _hessian_columns(crit, v)
        hess = np.empty((len(v), len(v)))
        hess[:, : nt + 1] = cols
        hess[: nt + 1, nt + 1 :] = cols[nt + 1 :].T
        hess[nt + 1 :, nt + 1 :] = rho_block(crit, core, v[nt]).dense()
    else:
        hess, d = _common_hessian(crit, v, core)
    hess = (hess + hess.T) / 2
    evals, evecs = np.linalg.eigh(hess)
    pos = evals > _EIGEN_TOL
    inv = (evecs[:, pos] / evals[pos]) @ evecs[:, pos].T
    return 2 * inv * np.outer(d, d), evals


def _structured_denominators(
    crit: Criterion, v: np.ndarray, core: dict, J: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """``diag(J A J')`` without a K x K matrix when the Hessian is safely positive definite.

    The Hessian in u is ``[[H_tt, H_tr], [H_rt, D - W W']]`` (theta and sigma, then the
    ``log rho`` block, a diagonal minus a low-rank PSD matrix; ``W = Q Cm^{1/2}``), inverted
    by the Woodbury identity and the Schur complement ``S = H_tt - H_tr H_rr^{-1} H_rt``, in
    O(K). It is positive definite when ``D > 0``, ``I - W'D^{-1}W`` and ``S`` are (the
    inertia of a Schur complement, Haynsworth 1968), and then its smallest eigenvalue is at
    least ``1 / tr(H^{-1})``; when that bound exceeds lmerTest's ``1e-8`` the
    pseudo-inverse drops nothing and equals the inverse, so the df are exact. Otherwise
    (None) the caller takes the dense eigendecomposition. Returns the denominators and
    ``[1 / tr(H^{-1})]``, the lower bound on the smallest eigenvalue.
    """
    from ._satterthwaite_hessian import rho_block, woodbury_solver

    nt = crit.n_theta
    cols, d = _hessian_columns(crit, v)
    Htt = (cols[: nt + 1] + cols[: nt + 1].T) / 2
    Hrt = cols[nt + 1 :]
    block = rho_block(crit, core, v[nt])
    out = woodbury_solver(block.d, block.low_rank())
    if out is None:
        return None
    solve_rr, trace_rr = out
    Y = solve_rr(Hrt)  # H_rr^{-1} H_rt
    S = Htt - Hrt.T @ Y
    s_ev = np.linalg.eigvalsh(S)
    if not np.all(s_ev > 0):
        return None
    S_inv = np.linalg.inv(S)
    trace = float(np.trace(S_inv)) + trace_rr + float(np.einsum("ka,ab,kb->", Y, S_inv, Y))
    bound = 1 / trace
    if not bound > 10 * _EIGEN_TOL:
        return None
    Jt = J[:, : nt + 1] * d[: nt + 1]
    Jr = J[:, nt + 1 :] * d[nt + 1 :]
    quad_r = np.einsum("jk,kj->j", Jr, solve_rr(Jr.T))
    z = Jt - Jr @ Y
    quad = quad_r + np.einsum("ja,ab,jb->j", z, S_inv, z)
    return 2 * quad, np.array([bound])


def variance_jacobian(crit: Criterion, core: dict, sigma: float, Hinv: np.ndarray) -> np.ndarray:
    """d Var(beta_j) / d v for v = (theta, sigma, log rho_2..K): (p, n_varpar), analytic."""
    s, m, pg = crit.s, crit.s.m, crit.s.pg
    wt = crit._weighted(core)
    Wx = wt["R"][:, :, : m + pg]  # Z_i' V0_i^{-1} X_i on the trial's columns
    idx = slot_index(crit)
    Hext = np.vstack([Hinv, np.zeros((1, s.p))])
    H_rows = Hext[idx]  # (K, m + pg, p), -1 picks the zero row
    V = Wx @ H_rows  # (K, q, p)
    omega = np.einsum("kaj,kbj->jab", V, V)  # (p, q, q)
    s2 = sigma * sigma
    jac = [
        s2 * 2 * (omega @ core["L"])[:, crit.rows, crit.cols],
        2 * sigma * np.diag(Hinv)[:, None],
    ]
    if crit.stratified:
        G2 = crit._second_moment(core)[:, : m + pg, : m + pg]
        rho = 1 / core["irho"][:, 0, 0]
        d_rho = s2 * rho[:, None] * np.einsum("kaj,kab,kbj->kj", H_rows, G2, H_rows)
        jac.append(d_rho[crit.rho_index].T)
    return np.concatenate(jac, axis=1)


def satterthwaite_df(crit: Criterion, core: dict, x: np.ndarray, sigma: float, Hinv: np.ndarray):
    """Satterthwaite df of every fixed effect (design column order), and the Hessian eigenvalues."""
    nt = crit.n_theta
    v = np.concatenate([x[:nt], [sigma], x[nt:]])
    J = variance_jacobian(crit, core, sigma, Hinv)
    structured = (
        _structured_denominators(crit, v, core, J)
        if len(crit.rho_index) > STRUCTURED_MIN_RHO
        else None
    )
    if structured is not None:
        denom, evals = structured
    else:
        A, evals = varpar_covariance(crit, v, core)
        denom = np.einsum("ja,ab,jb->j", J, A, J)
    var = sigma * sigma * np.diag(Hinv)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = np.where(denom > 0, 2 * var**2 / denom, np.inf)
    return df, evals
