"""REML / ML criterion of the linear mixed model from per-trial sufficient statistics.

Model (trial i, ``n_i`` rows)::

    y_i = X_i beta + Z_i b_i + e_i,   b_i ~ N(0, sigma^2 Lambda Lambda'),
    e_i ~ N(0, sigma^2 rho_i I)

``Lambda`` is block diagonal and lower triangular, its entries are ``theta`` (lme4's
relative covariance factor, Bates et al. 2015, J Stat Softw 67(1), section 3). With a common
residual variance ``rho_i = 1``; with stratified residual variances ``rho_i`` is the ratio of
trial i's residual variance to that of a reference trial (the first trial with residual
degrees of freedom; ``rho = 1`` there, nlme's varIdent parameterisation), optimised as
``log rho_i``; a trial without residual degrees of freedom cannot estimate its own residual
variance and shares the reference's (``rho_i = 1``, not optimised). ``sigma^2`` is profiled out.

With ``V0_i = rho_i I + Z_i D Z_i'`` (``D = Lambda Lambda'``), ``M_i = I + Lambda' Z_i'Z_i
Lambda / rho_i`` and ``H = sum_i X_i' V0_i^{-1} X_i``, the profiled deviances are::

    ML:   log|V0| + n     (1 + log(2 pi r2 / n))
    REML: log|V0| + log|H| + (n - p) (1 + log(2 pi r2 / (n - p)))

where ``log|V0_i| = n_i log rho_i + log|M_i|`` and ``r2 = min_beta sum_i (y_i - X_i beta)'
V0_i^{-1} (y_i - X_i beta)``; ``log|H|`` runs over all fixed columns, including the
trial-local ones eliminated by the Schur complement. These equal lme4's ``deviance`` and
``REMLcrit`` for common residual variance. Gradients are analytic:
``d dev / d phi = tr(P dV0) - c (P y)' dV0 (P y)`` with ``P`` the REML projection (``V0^{-1}``
for ML) and ``c = (n - p) / r2`` (``n / r2`` for ML).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._linear_stats import TrialStats

__all__ = ["Criterion", "Evaluation"]

_LOG2PI = np.log(2 * np.pi)


@dataclass
class Evaluation:
    """Everything computed at one parameter value (internal; not a user-facing result)."""

    deviance: float
    r2: float
    log_det_v: float
    log_det_h: float
    beta_local: np.ndarray  # (K, m)
    beta_global: np.ndarray  # (pg,)
    gradient: np.ndarray | None = None


def _inv_logdet(stack: np.ndarray) -> tuple[np.ndarray, float]:
    """Inverses of a stack of symmetric positive definite matrices and the sum of their log
    determinants; closed forms for 1 x 1 and 2 x 2 (numpy's per-call overhead dominates)."""
    k = stack.shape[-1]
    if k == 1:
        return 1.0 / stack, float(np.log(stack).sum())
    if k == 2:
        a, b, d = stack[:, 0, 0], stack[:, 0, 1], stack[:, 1, 1]
        det = a * d - b * b
        inv = np.empty_like(stack)
        inv[:, 0, 0] = d / det
        inv[:, 1, 1] = a / det
        inv[:, 0, 1] = inv[:, 1, 0] = -b / det
        return inv, float(np.log(det).sum())
    return np.linalg.inv(stack), float(np.linalg.slogdet(stack)[1].sum())


class Criterion:
    """Profiled REML/ML deviance of one model, with its analytic gradient.

    Parameters are ``x = [theta, log rho_i for i in rho_index]`` (the ``log rho`` part only
    when ``stratified``). ``own_variance`` (bool per trial, stratified only) marks the trials
    that can estimate their own residual variance; the first of them is the reference
    (``rho = 1``), the others get a ``log rho`` parameter, and the remaining trials (no
    residual degrees of freedom) share the reference's variance (``rho = 1``).
    """

    def __init__(
        self,
        stats: TrialStats,
        blocks: tuple[np.ndarray, ...],
        *,
        reml: bool,
        stratified: bool,
        own_variance: np.ndarray | None = None,
    ) -> None:
        self.s = stats
        self.reml = reml
        self.stratified = stratified
        q = stats.ZtZ.shape[1]
        rows, cols = [], []
        for block in blocks:  # lower triangle, column by column (lme4's theta order)
            for c in range(len(block)):
                for r in range(c, len(block)):
                    rows.append(block[r])
                    cols.append(block[c])
        self.rows = np.asarray(rows, dtype=np.intp)
        self.cols = np.asarray(cols, dtype=np.intp)
        self.n_theta = len(rows)
        self.q = q
        self.K = len(stats.n)
        self.nobs = float(stats.n.sum())
        self.dof = self.nobs - stats.p if reml else self.nobs
        own = np.ones(self.K, bool) if own_variance is None else np.asarray(own_variance, bool)
        owners = np.flatnonzero(own) if stratified else np.zeros(0, np.intp)
        self.reference = int(owners[0]) if len(owners) else 0
        self.rho_index = owners[1:]
        self.n_params = self.n_theta + len(self.rho_index)
        self.eye_q = np.eye(q)
        self.pad = stats.pad
        self._no_log_rho = np.zeros(self.K)
        self._no_log_rho.flags.writeable = False

    @property
    def diagonal(self) -> np.ndarray:
        """Boolean mask of the theta entries on a diagonal of Lambda (bounded below by 0)."""
        return self.rows == self.cols

    def lam(self, theta: np.ndarray) -> np.ndarray:
        L = np.zeros((self.q, self.q))
        L[self.rows, self.cols] = theta
        return L

    def log_rho(self, x: np.ndarray) -> np.ndarray:
        out = np.zeros(self.K)
        if self.stratified:
            out[self.rho_index] = x[self.n_theta :]
        return out

    # ------------------------------------------------------------------------------------
    def _core(self, x: np.ndarray):
        """Everything at x; small stacked inverses (q x q, m x m) rather than factorisations:
        numpy's per-call overhead dominates at these sizes."""
        s, m, pg = self.s, self.s.m, self.s.pg
        L = self.lam(x[: self.n_theta])
        Lt = L.T
        LtZtZ = Lt @ s.ZtZ  # (K, q, q)
        irho: np.ndarray | float
        if self.stratified:
            log_rho = self.log_rho(x)
            irho = np.exp(-log_rho)[:, None, None]
            M = LtZtZ @ L * irho + self.eye_q
            T = (Lt @ s.ZtU) * irho  # Lambda' Z'U / rho, (K, q, r)
        else:  # rho_i = 1: no scaling (a common residual variance)
            log_rho = self._no_log_rho
            irho = 1.0
            M = LtZtZ @ L + self.eye_q
            T = Lt @ s.ZtU
        Minv, log_det_m = _inv_logdet(M)
        MinvT = Minv @ T
        UtVU = np.swapaxes(T, 1, 2) @ MinvT
        S = (s.UtU * irho if self.stratified else s.UtU) - UtVU  # U' V0^{-1} U per trial
        log_det_v = float(s.n @ log_rho + log_det_m) if self.stratified else float(log_det_m)
        Ainv: np.ndarray | None
        AinvB: np.ndarray | None
        if m:
            A = S[:, :m, :m] + self.pad
            Ainv, log_det_a = _inv_logdet(A)
            AinvB = Ainv @ S[:, :m, m:]  # (K, m, pg + 1)
            C = S[:, m:, m:].sum(0) - np.einsum("kai,kaj->ij", S[:, :m, m:], AinvB)
        else:
            Ainv = AinvB = None
            C = S.sum(0)
            log_det_a = 0.0
        if pg:
            Cinv, log_det_c = _inv_logdet(C[None, :pg, :pg])
            Cinv = Cinv[0]
            beta_g = Cinv @ C[:pg, pg]
            r2 = C[pg, pg] - C[pg, :pg] @ beta_g
        else:
            Cinv = np.zeros((0, 0))
            r2 = C[0, 0]
            beta_g = np.zeros(0)
            log_det_c = 0.0
        beta_l = (
            AinvB[:, :, pg] - AinvB[:, :, :pg] @ beta_g
            if AinvB is not None
            else np.zeros((self.K, 0))
        )
        return dict(
            L=L, irho=irho, LtZtZ=LtZtZ, Minv=Minv, T=T, MinvT=MinvT, S=S, Ainv=Ainv,
            AinvB=AinvB, Cinv=Cinv, r2=float(r2), beta_g=beta_g, beta_l=beta_l,
            log_det_v=log_det_v, log_det_h=log_det_a + log_det_c, log_rho=log_rho,
        )  # fmt: skip

    def weights(self, core: dict) -> np.ndarray:
        """w_i = [-beta_local_i, -beta_global, 1], so that U_i w_i = y_i - X_i beta."""
        m, pg = self.s.m, self.s.pg
        w = np.empty((self.K, m + pg + 1))
        w[:, :m] = -core["beta_l"]
        w[:, m : m + pg] = -core["beta_g"]
        w[:, -1] = 1.0
        return w

    def blups(self, core: dict) -> np.ndarray:
        """b_i = Lambda M_i^{-1} Lambda' Z_i'(y_i - X_i beta) / rho_i, (K, q)."""
        t_w = np.einsum("kqr,kr->kq", core["MinvT"], self.weights(core))
        return t_w @ core["L"].T

    def deviance_from(self, core: dict) -> float:
        r2 = max(core["r2"], 1e-300)
        dev = core["log_det_v"] + self.dof * (1 + _LOG2PI + np.log(r2 / self.dof))
        if self.reml:
            dev += core["log_det_h"]
        return float(dev)

    def unprofiled_from(self, core: dict, sigma: float) -> float:
        """-2 log-likelihood at (theta, sigma, rho), beta at its GLS value (lmerTest's devfun)."""
        s2 = sigma * sigma
        dev = core["log_det_v"] + self.dof * (_LOG2PI + np.log(s2)) + core["r2"] / s2
        if self.reml:
            dev += core["log_det_h"]
        return float(dev)

    # ------------------------------------------------------------------------------------
    def h_inverse_blocks(self, core: dict) -> dict:
        """Per-trial block of H^{-1} on [its local slots, global columns] and related pieces."""
        m, pg = self.s.m, self.s.pg
        Cinv = core["Cinv"]
        Hsub = np.zeros((self.K, m + pg, m + pg))
        if m:
            E = core["AinvB"][:, :, :pg]  # A^{-1} B, (K, m, pg)
            ECinv = E @ Cinv
            Hsub[:, :m, :m] = core["Ainv"] + ECinv @ np.swapaxes(E, 1, 2)
            Hsub[:, :m, m:] = -ECinv
            Hsub[:, m:, :m] = -np.swapaxes(ECinv, 1, 2)
        else:
            E = np.zeros((self.K, 0, pg))
        Hsub[:, m:, m:] = Cinv
        return dict(Hsub=Hsub, Cinv=Cinv, E=E)

    def _weighted(self, core: dict) -> dict:
        """Z'V0^{-1}Z, Z'V0^{-1}U and the weight vectors w_i = [-beta_i, 1]."""
        s = self.s
        irho = core["irho"]
        G = np.swapaxes(core["LtZtZ"], 1, 2) @ core["Minv"]  # Z'Z Lambda M^{-1}
        if self.stratified:
            G = G * irho  # ... / rho
            Q = s.ZtZ * irho - G @ core["LtZtZ"] * irho
            R = s.ZtU * irho - G @ core["T"]
        else:
            Q = s.ZtZ - G @ core["LtZtZ"]
            R = s.ZtU - G @ core["T"]
        return dict(Q=Q, R=R, w=self.weights(core))

    def _second_moment(self, core: dict) -> np.ndarray:
        """U' V0^{-2} U per trial, (K, r, r) (needed for derivatives in rho)."""
        s = self.s
        irho = core["irho"]
        Kmat = core["L"] @ core["MinvT"]  # Lambda M^{-1} T, (K, q, r)
        UtZK = np.swapaxes(s.ZtU, 1, 2) @ Kmat
        quad = np.swapaxes(Kmat, 1, 2) @ s.ZtZ @ Kmat
        return (s.UtU - UtZK - np.swapaxes(UtZK, 1, 2) + quad) * (irho * irho)

    def gradient_from(self, core: dict, c: float) -> np.ndarray:
        """d deviance / d x with the quadratic-form weight ``c`` ((n-p)/r2 profiled, 1/sigma^2
        unprofiled)."""
        s, m, pg = self.s, self.s.m, self.s.pg
        wt = self._weighted(core)
        L, R = core["L"], wt["R"]
        u = (R @ wt["w"][:, :, None])[:, :, 0]  # Z_i' V0_i^{-1} r_i
        psi = wt["Q"].sum(0)
        if self.reml:
            # sum_i Wx_i Hsub_i Wx_i' = sum_i [Wl A^{-1} Wl' + D C^{-1} D'], D = Wg - Wl A^{-1}B
            Wg = R[:, :, m : m + pg]
            if m:
                Wl = R[:, :, :m]
                psi = psi - np.einsum("kam,kmn,kbn->ab", Wl, core["Ainv"], Wl)
                D = Wg - Wl @ core["AinvB"][:, :, :pg]
            else:
                D = Wg
            if pg:  # sum_k D_k C^{-1} D_k' as one matrix product (einsum loops: 0.7 ms at K=1000)
                DC = D @ core["Cinv"]
                q = D.shape[1]
                psi = (
                    psi
                    - np.swapaxes(DC, 0, 1).reshape(q, -1) @ np.swapaxes(D, 0, 1).reshape(q, -1).T
                )
        trace_part = 2 * (psi @ L)
        quad_part = 2 * ((u.T @ u) @ L)
        grad = (trace_part - c * quad_part)[self.rows, self.cols]
        if not self.stratified:
            return grad
        hb = self.h_inverse_blocks(core)
        rho = 1 / core["irho"][:, 0, 0]
        tr_vinv = (s.n - self.q + np.trace(core["Minv"], axis1=1, axis2=2)) / rho
        G2 = self._second_moment(core)
        if self.reml:  # tr(Hsub_k Gx_k) = sum(Hsub_k * Gx_k')
            Gx = G2[:, : m + pg, : m + pg]
            tr_p = tr_vinv - (hb["Hsub"] * np.swapaxes(Gx, 1, 2)).sum(axis=(1, 2))
        else:
            tr_p = tr_vinv
        w = wt["w"]
        quad = ((G2 @ w[:, :, None])[:, :, 0] * w).sum(axis=1)
        g_rho = rho * (tr_p - c * quad)
        return np.concatenate([grad, g_rho[self.rho_index]])

    # ------------------------------------------------------------------------------------
    def evaluate(self, x: np.ndarray, *, gradient: bool = False) -> Evaluation:
        core = self._core(np.asarray(x, dtype=float))
        ev = Evaluation(
            deviance=self.deviance_from(core),
            r2=core["r2"],
            log_det_v=core["log_det_v"],
            log_det_h=core["log_det_h"],
            beta_local=core["beta_l"],
            beta_global=core["beta_g"],
        )
        if gradient:
            ev.gradient = self.gradient_from(core, self.dof / max(core["r2"], 1e-300))
        return ev

    def fun_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        try:
            core = self._core(np.asarray(x, dtype=float))
        except np.linalg.LinAlgError:
            return np.inf, np.zeros_like(x)
        dev = self.deviance_from(core)
        if not np.isfinite(dev):  # numerically non-positive-definite: reject the point
            return np.inf, np.zeros_like(x)
        return dev, self.gradient_from(core, self.dof / max(core["r2"], 1e-300))

    def core(self, x: np.ndarray) -> dict:
        return self._core(np.asarray(x, dtype=float))
