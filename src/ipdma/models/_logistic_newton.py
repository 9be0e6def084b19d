"""Newton's method for the AGHQ log-likelihood, exploiting the trial (arrow) structure.

The parameters are the shared coefficients and the entries of ``L`` (``theta``, a handful)
and the trial-local coefficients ``alpha_i`` (e.g. the stratified intercepts, one small block
per trial). Trial i's log-likelihood depends on ``(theta, alpha_i)`` only, so the Hessian is
an arrow matrix: a dense shared block, one small diagonal block per trial and their couplings.
Each Newton step solves it by the Schur complement over the trial-local blocks, so its cost
grows linearly in the number of trials, and the trial-local parameters never enter a generic
optimiser. Gradient and Hessian are the exact analytic per-trial derivatives of the AGHQ
log-likelihood (``_aghq.evaluate``, ``_aghq_hessian``): every iteration is a full Newton
step (damped only where minus the Hessian is not positive definite), and the Hessian at
the optimum, which gives the standard errors, is the one of the last iteration.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ._aghq import BinomialData, Evaluation, _offset, evaluate
from ._aghq_nodes import trial_products

__all__ = [
    "ArrowHessian",
    "Optimum",
    "glm_start",
    "maximize",
    "negative_hessian",
    "pin",
    "predicted_modes",
]

#: minus the Hessian in arrow form: shared block (t, t), couplings (K, t, m), local (K, m, m)
ArrowHessian = tuple[np.ndarray, np.ndarray, np.ndarray]

_MAX_STEP = 8.0  # largest change of one parameter in one Newton step (logit scale)
_RELEASE = 0.1  # SD (parameter units) a zero variance is moved to where 0 is not a maximum
_NEAR_ZERO = 0.1  # below this SD (parameter units) an even entry of L is stepped in lambda**2
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


def _scales(data: BinomialData) -> tuple[np.ndarray, ...]:
    """Parameter units, largest column values and the even entries of ``L`` of ``data``."""
    cached = data.__dict__.get("_problem_scales")
    if cached is not None:
        return cached
    ps = data.n_shared
    counts = np.diff(np.r_[data.starts, len(data.y)])
    local_ms = np.add.reduceat(data.X[:, ps:] ** 2, data.starts, axis=0) / counts[:, None]
    rms = np.r_[
        np.sqrt(np.mean(data.X[:, :ps] ** 2, axis=0)),
        np.sqrt(np.mean(data.Z**2, axis=0))[data.lam_rows],
    ]
    local_rms = np.sqrt(local_ms)
    theta_unit = np.where(rms > 1e-12, 1.0 / np.maximum(rms, 1e-12), 1.0)
    alpha_unit = np.where(local_rms > 1e-12, 1.0 / np.maximum(local_rms, 1e-12), 1.0)
    theta_max = np.r_[
        np.max(np.abs(data.X[:, :ps]), axis=0, initial=0.0),
        np.max(np.abs(data.Z), axis=0, initial=0.0)[data.lam_rows],
    ]
    alpha_max = np.maximum.reduceat(np.abs(data.X[:, ps:]), data.starts, axis=0)
    out = (theta_unit, alpha_unit, theta_max, alpha_max)
    data.__dict__["_problem_scales"] = out  # frozen dataclass: cache like cached_property
    return out


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
        """Unit of each parameter: 1 / root-mean-square of its column (trial rows for locals);
        computed once per data set (``_scales``)."""
        self.theta_unit, self.alpha_unit, self.theta_max, self.alpha_max = _scales(self.data)

    @property
    def even(self) -> np.ndarray:
        """Over ``theta``: the diagonal entries of ``L`` alone in their column (the
        log-likelihood is even in each: it depends on it through its square only)."""
        data = self.data
        cols = data.lam_cols
        alone = (data.lam_rows == cols) & (np.bincount(cols, minlength=data.q)[cols] == 1)
        return np.r_[np.zeros(data.n_shared, dtype=bool), alone]

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

    def evaluate(self, theta, alpha, modes, *, gradient=True, hessian=False) -> Evaluation:
        _, lam = self.split(theta)
        return evaluate(
            self.data,
            self.coef(theta, alpha),
            lam,
            modes,
            self.nodes,
            self.log_weights,
            gradient=gradient,
            hessian=hessian,
        )

    def per_trial_gradient(self, ev: Evaluation) -> tuple[np.ndarray, np.ndarray]:
        """(K, n_theta) shared-parameter and (K, m) local-parameter gradient pieces."""
        ps, m = self.n_shared, self.local_mask.shape[1]
        G = ev.gradient
        assert G is not None  # evaluate(..., gradient=True), the default
        shared = np.concatenate([G[:, :ps], G[:, ps + m :]], axis=1)
        return shared, np.where(self.local_mask, G[:, ps : ps + m], 0.0)


def predicted_modes(
    problem: _Problem, ev: Evaluation, d_theta: np.ndarray, d_alpha: np.ndarray
) -> np.ndarray:
    """The conditional modes after a step ``(d_theta, d_alpha)``, to first order
    (``ev.mode_slope``; ``ev.modes`` when the evaluation has no Hessian). Only a start:
    the modes are always iterated to convergence (``_aghq_mode``), from wherever they start.
    """
    if ev.mode_slope is None:
        return ev.modes
    ps, K = problem.n_shared, problem.data.ntrials
    step = np.concatenate(
        [
            np.broadcast_to(d_theta[:ps], (K, ps)),
            np.where(problem.local_mask, d_alpha, 0.0),
            np.broadcast_to(d_theta[ps:], (K, len(d_theta) - ps)),
        ],
        axis=1,
    )
    return ev.modes + np.einsum("kj,kjq->kq", step, ev.mode_slope)


def negative_hessian(problem: _Problem, ev: Evaluation) -> ArrowHessian:
    """Minus the exact Hessian (``ev.hessian``, analytic, ``_aghq_hessian``) in arrow form:
    shared block (sum over trials), couplings (K, t, m), local blocks (K, m, m)."""
    assert ev.hessian is not None  # evaluate(..., hessian=True)
    ps, p, P = problem.n_shared, problem.data.n_coef, ev.hessian.shape[1]
    nt, m = ps + P - p, problem.local_mask.shape[1]
    order = np.concatenate((np.arange(ps), np.arange(p, P), np.arange(ps, p)))
    H = np.negative(ev.hessian[:, order[:, None], order[None, :]])
    mask = problem.local_mask
    shared = H[:, :nt, :nt].sum(axis=0)
    couple, local = H[:, :nt, nt:], H[:, nt:, nt:]
    if not mask.all():  # trials without some local column: identity there, no coupling
        couple = couple * mask[:, None, :]
        local = local * (mask[:, :, None] & mask[:, None, :]) + np.eye(m) * (~mask)[:, :, None]
    return shared, couple, local


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
    if m == 1:  # one local column per trial (stratified intercepts): scalar blocks
        d = local[:, 0, 0] + damping
        if not np.all(d > 0):
            return None
        Dinv_g = g_alpha / d[:, None]
        Dinv_Bt = couple / d[:, None, None]  # (K, nt, 1)
        schur = shared - np.tensordot(couple[:, :, 0], Dinv_Bt[:, :, 0], axes=(0, 0))
        rhs = g_theta - couple[:, :, 0].T @ Dinv_g[:, 0]
    else:
        D = local + damping * np.eye(m)
        try:
            np.linalg.cholesky(D)
        except np.linalg.LinAlgError:
            return None
        Dinv_g = np.linalg.solve(D, g_alpha[..., None])[..., 0]
        Dinv_Bt = np.swapaxes(np.linalg.solve(D, couple.transpose(0, 2, 1)), 1, 2)  # (K, nt, m)
        schur = shared - np.einsum("itm,ium->tu", couple, Dinv_Bt)
        rhs = g_theta - np.einsum("itm,im->t", couple, Dinv_g)
    if damping:
        schur = schur + damping * np.eye(nt)
    try:
        np.linalg.cholesky(schur)
    except np.linalg.LinAlgError:
        return None
    d_theta = np.linalg.solve(schur, rhs)
    d_alpha = Dinv_g - np.einsum("itm,t->im", Dinv_Bt, d_theta)
    return d_theta, d_alpha


def _scaled_step(
    system: ArrowHessian, g_theta: np.ndarray, g_alpha: np.ndarray, damping: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """The Levenberg-Marquardt step with the damping scaled to the diagonal (Marquardt 1963,
    J SIAM 11:431; More 1978): ``(H + damping diag|H|) d = g``, solved in the coordinates
    where minus the Hessian has a unit diagonal. A damping added alike to every parameter
    (``H + damping I``) is set by the largest curvature, which here spans orders of
    magnitude (a coefficient of a 0-100 covariate against a variance parameter), and
    shrinks the step to nothing along the flat directions: Newton's method then creeps,
    hundreds of iterations from a start far off the optimum."""
    shared, couple, local = system
    floor = 1e-12 * max(1.0, float(np.max(np.abs(np.diagonal(shared)))))
    ds = np.sqrt(np.maximum(np.abs(np.diagonal(shared)), floor))
    dl = np.sqrt(np.maximum(np.abs(np.diagonal(local, axis1=1, axis2=2)), floor))
    step = _newton_step(
        shared / np.outer(ds, ds),
        couple / ds[None, :, None] / dl[:, None, :],
        local / dl[:, :, None] / dl[:, None, :],
        g_theta / ds,
        g_alpha / dl,
        damping,
    )
    return None if step is None else (step[0] / ds, step[1] / dl)


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


def glm_start(
    problem: _Problem, *, iterations: int = 25, beta: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients of the GLM without random effects (starting values; the data's family).

    ``beta``: the shared coefficients held at these values (a warm start), only the
    trial-local ones (e.g. the stratified intercepts) fitted."""
    data, mask = problem.data, problem.local_mask
    ps, (K, m) = data.n_shared, mask.shape
    starts = data.starts
    held = beta is not None
    beta, alpha = (np.zeros(ps) if beta is None else beta.copy()), np.zeros((K, m))
    everywhere = bool(mask.all())
    for _ in range(iterations):
        coef = np.concatenate([np.broadcast_to(beta, (K, ps)), alpha], axis=1)
        eta = _offset(data, coef)
        mean, w = data.family.mean_and_weight(data.size, eta)
        G = np.add.reduceat(data.XT * (data.y - mean), starts, axis=1).T
        H = trial_products(data.XT * w, data.XT, starts)  # (K, pt, pt): X_i' W X_i
        local, couple, g_local = H[:, ps:, ps:], H[:, :ps, ps:], G[:, ps:]
        if not everywhere:
            local = local * (mask[:, :, None] & mask[:, None, :])
            local += np.eye(m)[None] * (~mask)[:, :, None]
            couple, g_local = couple * mask[:, None, :], np.where(mask, g_local, 0.0)
        if held:  # the shared coefficients held: no coupling, a zero shared step
            couple = np.zeros_like(couple)
            shared, g_shared = np.eye(ps), np.zeros(ps)
        else:
            shared, g_shared = H[:, :ps, :ps].sum(axis=0), G[:, :ps].sum(axis=0)
        step = _newton_step(shared, couple, local, g_shared, g_local, 1e-8)
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


def _variance_coordinates(hessian: ArrowHessian, g_theta: np.ndarray, theta: np.ndarray,
                          nu: np.ndarray) -> tuple[ArrowHessian, np.ndarray]:  # fmt: skip
    """The Newton system in ``nu = lambda**2`` for the entries ``nu`` (even in lambda).

    ``dlambda/dnu = 1/(2 lambda)``, ``d2lambda/dnu2 = -1/(4 lambda**3)``: the gradient is
    scaled by ``1/(2 lambda)``, minus the Hessian by ``1/(2 lambda)`` on both sides plus
    ``g_lambda / (4 lambda**3)`` on the diagonal.
    """
    shared, couple, local = hessian
    scale = np.ones(len(theta))
    scale[nu] = 0.5 / theta[nu]
    shared = shared * scale[:, None] * scale[None, :]
    shared[nu, nu] += g_theta[nu] * 0.25 / theta[nu] ** 3
    return (shared, couple * scale[None, :, None], local), g_theta * scale


def maximize(
    problem: _Problem,
    theta: np.ndarray,
    alpha: np.ndarray,
    *,
    modes: np.ndarray | None = None,
    tol: float = 1e-10,
    max_iter: int = 200,
    fixed: np.ndarray | None = None,
    start_hessian: ArrowHessian | None = None,
    start_mode_slope: np.ndarray | None = None,
) -> Optimum:
    """Newton's method with the exact Hessian until the Newton decrement is below ``tol``.

    At each iterate the step solves minus the (exact) Hessian, damped (Levenberg-Marquardt)
    only where it is not positive definite, and is halved until the log-likelihood does not
    decrease. The decrement ``g' H^-1 g`` (twice the gain a Newton step predicts) is measured
    at the current iterate, so the iterate it accepts is returned without another
    evaluation. Every point tried is evaluated with its exact gradient and Hessian.

    A diagonal entry of ``L`` alone in its column (``_Problem.even``: the log-likelihood
    depends on it only through its square, a random-effect variance) is stepped in
    ``nu = lambda**2`` once its SD is below ``_NEAR_ZERO`` units, where the log-likelihood is
    close to quadratic in ``nu``, with ``nu >= 0``: a variance whose maximum is 0 reaches
    exactly 0 in a step instead of Newton's geometric creep in ``lambda`` (each step 2/3 of
    the way where the log-likelihood is flat to second order). At
    exactly 0 its gradient is 0; it stays there while the log-likelihood is concave in it
    (minus the second derivative > 0, a boundary maximum in that direction, checked
    further by ``_logistic_boundary``), otherwise it is moved off 0 (to a standard deviation
    of ``_RELEASE`` units) and stepped in ``lambda`` from then on.

    ``start_mode_slope``: the derivatives of the conditional modes at the start (with
    ``start_hessian``; the modes do not depend on the quadrature rule, so the Laplace
    fit's serve), for the first-order prediction of the modes at the first step.

    ``fixed`` (boolean over ``theta``) holds those shared parameters at their start values;
    the returned ``gradient_max`` is then over the other parameters. ``gradient_max`` is the
    largest absolute score in each parameter's own unit (``theta_unit``, ``alpha_unit``:
    1 / root-mean-square of its column), i.e. the log-likelihood change per typical unit
    of the linear predictor, so it does not depend on how a covariate is scaled.
    """
    free = np.ones(len(theta), dtype=bool) if fixed is None else ~np.asarray(fixed, dtype=bool)
    even = problem.even & free
    ps = problem.n_shared
    released = np.zeros(len(theta), dtype=bool)
    theta, alpha = theta.astype(float).copy(), np.where(problem.local_mask, alpha, 0.0)
    if modes is None:
        modes = np.zeros((problem.data.ntrials, problem.data.q))
    # ``start_hessian``: minus the Hessian of a nearby objective at the start (the Laplace
    # fit's, for the quadrature fit that starts from its optimum): the first step uses it,
    # saving one exact Hessian; every later one is exact
    ev = problem.evaluate(theta, alpha, modes, hessian=start_hessian is None)
    if start_hessian is not None and start_mode_slope is not None:  # (modes: any rule's)
        ev = replace(ev, mode_slope=start_mode_slope)
    f = ev.loglik.sum()
    hessian = negative_hessian(problem, ev) if start_hessian is None else start_hessian
    decrement = np.inf
    iterations = 0
    for _ in range(max_iter):
        g_theta, g_alpha = problem.per_trial_gradient(ev)
        g_theta = g_theta.sum(axis=0)
        at_zero = even & (theta == 0.0) & ~released
        concave = np.diagonal(hessian[0]) > 0
        off = at_zero & ~concave
        if off.any():  # not a maximum in that direction: leave 0
            theta[off] = _RELEASE * problem.theta_unit[off]
            released |= off
            ev = problem.evaluate(theta, alpha, ev.modes, hessian=True)
            f, hessian = ev.loglik.sum(), negative_hessian(problem, ev)
            continue
        held = ~free | at_zero
        # lambda**2 near 0, and where the log-likelihood is convex in lambda (below its
        # inflection, flat at 0) while it is concave in lambda**2
        unit = problem.theta_unit
        convex = np.diagonal(hessian[0]) <= 0
        nu = even & ~held & ~released & ((np.abs(theta) < _NEAR_ZERO * unit) | convex)
        tiny = nu & (np.abs(theta) < 1e-6 * unit)  # to 0 (nu: lambda**2 ~ 0)
        nu &= ~tiny
        system = pin(hessian, held | tiny)
        g = np.where(held | tiny, 0.0, g_theta)
        if nu.any():
            trial, _ = _variance_coordinates(system, g, theta, nu)
            nu &= np.diagonal(trial[0]) > 0  # concave in lambda**2 only
            if nu.any():
                system, g = _variance_coordinates(system, g, theta, nu)
        step = _newton_step(*system, g, g_alpha, 0.0)
        damping = 1e-3
        while step is None and damping < 1e12:  # not positive definite: Levenberg-Marquardt
            step = _scaled_step(system, g, g_alpha, damping)
            damping *= 10
        if step is None:
            break
        d_theta, d_alpha = step
        decrement = float(g @ d_theta + np.sum(g_alpha * d_alpha))
        if decrement < tol and not tiny.any():
            break
        iterations += 1
        accepted = False
        for _ in range(40):
            new_theta = theta + d_theta
            square = theta[nu] ** 2 + d_theta[nu]  # nu >= 0; below (1e-6 units)^2 it is 0
            square[square < (1e-6 * unit[nu]) ** 2] = 0.0
            new_theta[nu] = np.sign(theta[nu]) * np.sqrt(square)
            new_theta[tiny] = 0.0
            change = np.abs(new_theta - theta)
            biggest = max(np.max(change), np.max(np.abs(d_alpha), initial=0))
            # an entry of L moves at most by its size (or 0.1 units): Newton steps in the
            # variance parameters overshoot where the log-likelihood is far from quadratic
            room = np.maximum(0.5 * np.abs(theta), 0.1 * unit)[ps:]
            ratio = max(biggest / _MAX_STEP, float(np.max(change[ps:] / room, initial=0.0)))
            # an entry released from 0 (0 is no maximum there) goes at most half way back
            # towards 0: at exactly 0 its gradient vanishes by symmetry and Newton's method
            # could not leave it again
            back = released & (np.abs(new_theta) < 0.5 * np.abs(theta))
            if back.any():
                ratio = max(ratio, float(np.max(change[back] / (0.5 * np.abs(theta[back])))))
            # (a step just scaled to its limit may round to 1 + 1e-16 above it, and one
            # stepped in lambda**2 does not shrink in proportion: no second scaling then)
            if ratio > 1 + 1e-9:
                d_theta, d_alpha = d_theta / ratio, d_alpha / ratio
                continue
            start = predicted_modes(problem, ev, new_theta - theta, d_alpha)
            new = problem.evaluate(new_theta, alpha + d_alpha, start, hessian=True)
            f_new = new.loglik.sum()
            if np.isfinite(f_new) and f_new >= f - 1e-10 * (1 + abs(f)):
                theta, alpha, ev, f = new_theta, alpha + d_alpha, new, f_new
                hessian = negative_hessian(problem, ev)
                accepted = True
                break
            d_theta, d_alpha = 0.5 * d_theta, 0.5 * d_alpha
        if not accepted:
            break
        if problem.linear_predictor_reach(theta, alpha) > DIVERGED:  # separation: stop
            break
    g_theta, g_alpha = problem.per_trial_gradient(ev)
    # scale-aware: the score per each parameter's own unit (1 / rms of its column), so a
    # coefficient of a 0-100 covariate is judged like one of a standardised covariate
    g_free = (g_theta.sum(axis=0) * problem.theta_unit)[free]
    g_local = np.where(problem.local_mask, g_alpha * problem.alpha_unit, 0.0)
    gmax = float(max(np.max(np.abs(g_free), initial=0.0), np.max(np.abs(g_local), initial=0.0)))
    return Optimum(theta, alpha, ev, iterations, decrement, gmax, hessian)
