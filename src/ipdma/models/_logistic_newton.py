"""Newton's method for the AGHQ log-likelihood, exploiting the trial (arrow) structure.

The parameters are the shared coefficients and the entries of ``L`` (``theta``, a handful)
and the trial-local coefficients ``alpha_i`` (e.g. the stratified intercepts, one small block
per trial). Trial i's log-likelihood depends on ``(theta, alpha_i)`` only, so the Hessian is
an arrow matrix: a dense shared block, one small diagonal block per trial and their couplings.
Each Newton step solves it by the Schur complement over the trial-local blocks, so its cost
grows linearly in the number of trials, and the trial-local parameters never enter a generic
optimiser. The per-trial Hessians are finite differences of the exact analytic per-trial
gradients (``_aghq.evaluate``); because trial i's gradient depends on ``alpha_i`` only, the
local directions of all trials are perturbed together (a column colouring), so one Hessian
costs ``len(theta) + max local columns per trial`` extra gradient evaluations. Inside the
iterations a cheaper matrix is used: the coefficient block from the analytic curvature of
the integrand at its mode (``Evaluation.information``) and only the columns of the
covariance parameters by differences; since the gradient is exact, this changes the path,
not the optimum. Standard errors always use the fully differenced Hessian.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._aghq import BinomialData, Evaluation, evaluate

__all__ = ["ArrowHessian", "Optimum", "glm_start", "maximize", "negative_hessian", "pin"]

#: minus the Hessian in arrow form: shared block (t, t), couplings (K, t, m), local (K, m, m)
ArrowHessian = tuple[np.ndarray, np.ndarray, np.ndarray]

_MAX_STEP = 8.0  # largest change of one parameter in one Newton step (logit scale)
_FD_STEP = 1e-5  # finite-difference step, relative to the parameter or to its unit
DIVERGED = 200.0  # a coefficient moving a typical linear predictor this far: diverging


@dataclass(frozen=True)
class Optimum:
    """Where Newton's method stopped."""

    theta: np.ndarray
    alpha: np.ndarray
    evaluation: Evaluation
    iterations: int
    decrement: float
    gradient_max: float  # max |score x parameter unit| over the free parameters
    hessian: ArrowHessian


@dataclass
class _Problem:
    data: BinomialData
    nodes: np.ndarray
    log_weights: np.ndarray
    local_mask: np.ndarray  # (K, m) True where trial i has an s-th local column

    @property
    def n_shared(self) -> int:
        return self.data.n_shared

    def __post_init__(self) -> None:
        """Unit of each parameter: 1 / root-mean-square of its column (trial rows for locals)."""
        data, ps = self.data, self.data.n_shared
        counts = np.diff(np.r_[data.starts, len(data.y)])
        local_ms = np.add.reduceat(data.X[:, ps:] ** 2, data.starts, axis=0) / counts[:, None]
        rms = np.r_[
            np.sqrt(np.mean(data.X[:, :ps] ** 2, axis=0)),
            np.sqrt(np.mean(data.Z**2, axis=0))[data.lam_rows],
        ]
        local_rms = np.sqrt(local_ms)
        self.theta_unit = np.where(rms > 1e-12, 1.0 / np.maximum(rms, 1e-12), 1.0)
        self.alpha_unit = np.where(local_rms > 1e-12, 1.0 / np.maximum(local_rms, 1e-12), 1.0)
        self.theta_max = np.r_[
            np.max(np.abs(data.X[:, :ps]), axis=0, initial=0.0),
            np.max(np.abs(data.Z), axis=0, initial=0.0)[data.lam_rows],
        ]
        self.alpha_max = np.maximum.reduceat(np.abs(data.X[:, ps:]), data.starts, axis=0)

    def linear_predictor_extreme(self, theta: np.ndarray, alpha: np.ndarray) -> float:
        """Largest |coefficient| x max |value| of its column: the logit units it moves some row.

        A screen for separation: a 0/1 column that is 1 in a few rows has a small
        root-mean-square, so a diverging coefficient on it barely moves a *typical* row.
        """
        local = np.where(self.local_mask, np.abs(alpha) * self.alpha_max, 0.0)
        return float(max(np.max(np.abs(theta) * self.theta_max), np.max(local, initial=0.0)))

    def linear_predictor_reach(self, theta: np.ndarray, alpha: np.ndarray) -> float:
        """Largest |coefficient| x root-mean-square of its column: logit units on a typical row."""
        local = np.where(self.local_mask, np.abs(alpha) / self.alpha_unit, 0.0)
        return float(max(np.max(np.abs(theta) / self.theta_unit), np.max(local, initial=0.0)))

    def split(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return theta[: self.n_shared], theta[self.n_shared :]

    def coef(self, theta: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        beta, _ = self.split(theta)
        K = self.data.ntrials
        return np.concatenate([np.broadcast_to(beta, (K, len(beta))), alpha], axis=1)

    def evaluate(self, theta, alpha, modes, *, gradient=True) -> Evaluation:
        _, lam = self.split(theta)
        return evaluate(
            self.data,
            self.coef(theta, alpha),
            lam,
            modes,
            self.nodes,
            self.log_weights,
            gradient=gradient,
        )

    def per_trial_gradient(self, ev: Evaluation) -> tuple[np.ndarray, np.ndarray]:
        """(K, n_theta) shared-parameter and (K, m) local-parameter gradient pieces."""
        ps, m = self.n_shared, self.local_mask.shape[1]
        G = ev.gradient
        assert G is not None  # evaluate(..., gradient=True), the default
        shared = np.concatenate([G[:, :ps], G[:, ps + m :]], axis=1)
        return shared, np.where(self.local_mask, G[:, ps : ps + m], 0.0)


def negative_hessian(
    problem: _Problem, theta, alpha, ev: Evaluation, *, central: bool, hybrid: bool = False
) -> ArrowHessian:
    """Per-trial pieces of minus the Hessian: shared block, couplings (K, t, m), local (K, m, m).

    Finite differences of the exact per-trial gradients. With ``hybrid``, only the columns of
    the covariance parameters are differenced; the coefficient block comes from
    ``ev.information`` (exact up to the log-determinant's curvature): used inside Newton's
    method, never for standard errors.
    """
    nt, (K, m) = len(theta), problem.local_mask.shape
    H = np.zeros((K, nt + m, nt + m))
    ps = problem.n_shared
    if hybrid:
        order = np.r_[np.arange(ps), nt + np.arange(m)]  # coefficient j -> position
        assert ev.information is not None  # computed with every gradient
        H[:, order[:, None], order[None, :]] = -ev.information

    def grads(th, al):
        e = problem.evaluate(th, al, ev.modes)
        s, loc = problem.per_trial_gradient(e)
        return np.concatenate([s, loc], axis=1)

    g0 = None
    if not central:
        s0, loc0 = problem.per_trial_gradient(ev)
        g0 = np.concatenate([s0, loc0], axis=1)
    for j in range(ps if hybrid else 0, nt):
        h = _FD_STEP * max(problem.theta_unit[j], abs(theta[j]))
        tp = theta.copy()
        tp[j] += h
        if central:
            tm = theta.copy()
            tm[j] -= h
            H[:, :, j] = (grads(tp, alpha) - grads(tm, alpha)) / (2 * h)
        else:
            H[:, :, j] = (grads(tp, alpha) - g0) / h
    for s in range(0 if not hybrid else m, m):
        h = _FD_STEP * np.maximum(problem.alpha_unit[:, s], np.abs(alpha[:, s]))
        ap = alpha.copy()
        ap[:, s] += h
        if central:
            am = alpha.copy()
            am[:, s] -= h
            H[:, :, nt + s] = (grads(theta, ap) - grads(theta, am)) / (2 * h[:, None])
        else:
            H[:, :, nt + s] = (grads(theta, ap) - g0) / h[:, None]
    if hybrid:  # the differenced columns also give the rows of the covariance parameters
        lam = np.arange(ps, nt)
        H[:, lam[:, None], np.r_[np.arange(ps), nt + np.arange(m)][None, :]] = np.swapaxes(
            H[:, np.r_[np.arange(ps), nt + np.arange(m)][:, None], lam[None, :]], 1, 2
        )
    H = -0.5 * (H + H.transpose(0, 2, 1))
    shared = H[:, :nt, :nt].sum(axis=0)
    couple = H[:, :nt, nt:] * problem.local_mask[:, None, :]
    local = H[:, nt:, nt:] * (problem.local_mask[:, :, None] & problem.local_mask[:, None, :])
    eye = np.eye(m)[None] * (~problem.local_mask)[:, :, None]
    return shared, couple, local + eye


def _newton_step(
    shared: np.ndarray,
    couple: np.ndarray,
    local: np.ndarray,
    g_theta: np.ndarray,
    g_alpha: np.ndarray,
    damping: float,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Solve the damped arrow system by the Schur complement; None if not positive definite."""
    nt, m = shared.shape[0], local.shape[1]
    D = local + damping * np.eye(m)
    if m == 1:  # one local column per trial (stratified intercepts): scalar blocks
        if not np.all(D[:, 0, 0] > 0):
            return None
        Dinv_g = g_alpha / D[:, 0]
        Dinv_Bt = couple.transpose(0, 2, 1) / D[:, :, :1]
    else:
        try:
            np.linalg.cholesky(D)
        except np.linalg.LinAlgError:
            return None
        Dinv_g = np.linalg.solve(D, g_alpha[..., None])[..., 0]
        Dinv_Bt = np.linalg.solve(D, couple.transpose(0, 2, 1))  # (K, m, nt)
    schur = shared + damping * np.eye(nt) - np.einsum("itm,imu->tu", couple, Dinv_Bt)
    rhs = g_theta - np.einsum("itm,im->t", couple, Dinv_g)
    try:
        c = np.linalg.cholesky(schur)
    except np.linalg.LinAlgError:
        return None
    d_theta = np.linalg.solve(c.T, np.linalg.solve(c, rhs))
    d_alpha = Dinv_g - np.einsum("imt,t->im", Dinv_Bt, d_theta)
    return d_theta, d_alpha


def pin(hessian: ArrowHessian, fixed: np.ndarray | None) -> ArrowHessian:
    """The arrow Hessian with the ``fixed`` shared parameters held: identity rows, no coupling.

    With their gradient entries also set to 0, a Newton step leaves them where they are and
    maximises over the others (e.g. a variance parameter held at the boundary, 0).
    """
    if fixed is None or not np.any(fixed):
        return hessian
    shared, couple, local = hessian
    shared, couple = shared.copy(), couple.copy()
    shared[fixed, :] = 0.0
    shared[:, fixed] = 0.0
    shared[fixed, fixed] = 1.0
    couple[:, fixed, :] = 0.0
    return shared, couple, local


def glm_start(problem: _Problem, *, iterations: int = 25) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients of the GLM without random effects (starting values; the data's family)."""
    data, mask = problem.data, problem.local_mask
    ps, (K, m) = data.n_shared, mask.shape
    X, starts = data.X, data.starts
    pt = X.shape[1]
    beta, alpha = np.zeros(ps), np.zeros((K, m))
    for _ in range(iterations):
        coef = np.concatenate([np.broadcast_to(beta, (K, ps)), alpha], axis=1)
        eta = np.einsum("rj,rj->r", X, coef[data.trial_index])
        if data.offset is not None:
            eta = eta + data.offset
        w = data.family.weight(data.size, eta)
        res = data.y - data.family.mean(data.size, eta)
        G = np.add.reduceat(data.XT * res, starts, axis=1).T
        H = np.add.reduceat(data.square_features * w, starts, axis=1).T.reshape(K, pt, pt)
        local = H[:, ps:, ps:] * (mask[:, :, None] & mask[:, None, :])
        local += np.eye(m)[None] * (~mask)[:, :, None]
        step = _newton_step(
            H[:, :ps, :ps].sum(axis=0),
            H[:, :ps, ps:] * mask[:, None, :],
            local,
            G[:, :ps].sum(axis=0),
            np.where(mask, G[:, ps:], 0.0),
            1e-8,
        )
        if step is None:
            break
        d_beta, d_alpha = step
        biggest = max(np.max(np.abs(d_beta), initial=0.0), np.max(np.abs(d_alpha), initial=0.0))
        if biggest > _MAX_STEP:
            d_beta, d_alpha = d_beta * _MAX_STEP / biggest, d_alpha * _MAX_STEP / biggest
        beta, alpha = beta + d_beta, alpha + d_alpha
        if biggest < 1e-4:  # starting values only
            break
    return beta, alpha


def maximize(
    problem: _Problem,
    theta: np.ndarray,
    alpha: np.ndarray,
    *,
    modes: np.ndarray | None = None,
    hessian: ArrowHessian | None = None,
    tol: float = 1e-10,
    max_iter: int = 200,
    fixed: np.ndarray | None = None,
) -> Optimum:
    """Damped Newton (Levenberg-Marquardt on minus the Hessian) until the decrement is tiny.

    The finite-difference Hessian is recomputed only when the previous step did not shrink
    the Newton decrement tenfold (a chord-Newton scheme); the gradient is always exact.
    ``fixed`` (boolean over ``theta``) holds those shared parameters at their start values;
    the returned ``gradient_max`` is then over the other parameters. ``gradient_max`` is the
    largest absolute score in each parameter's own unit (``theta_unit``, ``alpha_unit``:
    1 / root-mean-square of its column), i.e. the log-likelihood change per typical unit
    of the linear predictor, so it does not depend on how a covariate is scaled.
    """
    free = np.ones(len(theta), dtype=bool) if fixed is None else ~np.asarray(fixed, dtype=bool)
    theta, alpha = theta.astype(float).copy(), np.where(problem.local_mask, alpha, 0.0)
    if modes is None:
        modes = np.zeros((problem.data.ntrials, problem.data.q))
    ev = problem.evaluate(theta, alpha, modes)
    f = ev.loglik.sum()
    damping = 0.0
    decrement = previous = np.inf
    iterations = 0
    for _ in range(max_iter):
        iterations += 1
        g_theta, g_alpha = problem.per_trial_gradient(ev)
        g_theta = np.where(free, g_theta.sum(axis=0), 0.0)
        fresh = hessian is None or decrement > 0.1 * previous
        if hessian is None or fresh:
            hessian = negative_hessian(problem, theta, alpha, ev, central=False, hybrid=True)
        previous = decrement
        accepted = False
        for _ in range(60):
            step = _newton_step(*pin(hessian, ~free), g_theta, g_alpha, damping)
            if step is None:
                damping = max(1e-4, 10 * damping)
                continue
            d_theta, d_alpha = step
            biggest = max(np.max(np.abs(d_theta)), np.max(np.abs(d_alpha), initial=0.0))
            if biggest > _MAX_STEP:
                d_theta, d_alpha = d_theta * _MAX_STEP / biggest, d_alpha * _MAX_STEP / biggest
            decrement = float(g_theta @ d_theta + np.sum(g_alpha * d_alpha))
            new = problem.evaluate(theta + d_theta, alpha + d_alpha, ev.modes)
            f_new = new.loglik.sum()
            if np.isfinite(f_new) and f_new >= f - 1e-10 * (1 + abs(f)):
                theta, alpha, ev, f = theta + d_theta, alpha + d_alpha, new, f_new
                damping = 0.0 if damping <= 1e-4 else damping / 10
                accepted = True
                break
            if not fresh:  # a stale Hessian failed: refresh it before damping
                hessian = negative_hessian(problem, theta, alpha, ev, central=False, hybrid=True)
                fresh = True
                continue
            damping = max(1e-4, 10 * damping)
        if not accepted or decrement < tol:
            break
        if problem.linear_predictor_reach(theta, alpha) > DIVERGED:  # separation: stop
            break
    g_theta, g_alpha = problem.per_trial_gradient(ev)
    # scale-aware: the score per each parameter's own unit (1 / rms of its column), so a
    # coefficient of a 0-100 covariate is judged like one of a standardised covariate
    g_free = (g_theta.sum(axis=0) * problem.theta_unit)[free]
    g_local = np.where(problem.local_mask, g_alpha * problem.alpha_unit, 0.0)
    gmax = float(max(np.max(np.abs(g_free), initial=0.0), np.max(np.abs(g_local), initial=0.0)))
    if hessian is None:  # max_iter = 0: no step was taken
        hessian = negative_hessian(problem, theta, alpha, ev, central=False, hybrid=True)
    return Optimum(theta, alpha, ev, iterations, decrement, gmax, hessian)
