"""Fitting the linear mixed model: optimisation and verification of the optimum.

The profiled REML/ML deviance (``_linear_criterion``) is minimised over lme4's relative
covariance factor ``theta`` and, for stratified residual variances, the log variance ratios
``log rho_i``, with the analytic gradient. With a common residual variance: trust-region
Newton with the analytic Hessian (``_linear_hessian``, ``_trust_newton``; O(K) per step)
for a few parameters, BFGS beyond. With stratified residual variances: damped Newton
(finite-difference Hessian of the gradient) for a few parameters, and beyond trust-region
Newton (``_newton_cg``) with the Hessian in O(K) form: the exact block of the ratios
(``_satterthwaite_hessian``) and the ``theta`` columns by differences of the analytic
gradient.
``theta`` is searched unconstrained: the deviance depends on ``Lambda Lambda'`` only, so it is even in the sign of each column of
``Lambda``; afterwards columns are flipped to lme4's canonical form (diagonal >= 0), and a
diagonal entry that ends near 0 is fixed at the boundary 0 and the rest re-optimised.
The optimum is then verified, not taken from the optimizer's flag:

1. the gradient at the optimum must be small: the deviance a Newton step would still gain,
   ``g' H^{-1} g / 2``, must be below ``DECREMENT_TOL`` (components on the boundary that
   point outwards do not count; H analytic with a common residual variance);
2. a second run from a different start: the first starts from the best of three scaled
   relative SDs 0.1, 0.3, 1 (and within-trial least-squares residual variance ratios), the
   second next to the boundary (relative SDs 0.02, equal residual variances), where a
   second likelihood maximum with a zero variance can hide. The better optimum is kept;
   when the two differ by more than ``RESTART_TOL`` the fit warns that the likelihood has
   several local maxima (``ConvergenceWarning``) and the convergence text says so.

A variance estimated at the boundary (a diagonal ``theta`` below 1e-4, lme4's
``isSingular`` tolerance) is a clean singular fit (``SingularFitWarning``), not a failure.

Warm start: ``start=StartValues`` (``_start.linear_start``: ``theta = chol(G / sigma^2)``
and the log residual variance ratios from the start) replaces the first, interior start
(the best of the three relative SDs); a relative SD below the smallest of them (0.1) is
raised to it, so the warm start is an interior start like the one it replaces. The second
start is the default one whatever the warm start (next to the boundary, where a second
maximum with a zero variance can hide): a warm start near the boundary, or one that led to
an interior local optimum, is still checked against the start a fit without it uses, the
better optimum is kept and a disagreement is reported as before. The criteria (decrement,
restart tolerance) are unchanged. The fixed effects are profiled out, so the start's
coefficients are not needed. On the benchmark's imputed data (``benchmarks/bench_warm.py``)
a warm start takes 16 deviance evaluations instead of 21 (14-17% of the CPU per fit).
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np

from ..errors import ConvergenceWarning, DataWarning, SingularFitWarning
from ._convergence import ConvergenceRecord
from ._formula import ModelDesign
from ._linear_checks import check_outcome_varies, data_warnings, own_variance, within_trial_fit
from ._linear_criterion import Criterion
from ._linear_hessian import common_deviance as _common
from ._linear_result import build_result
from ._linear_stats import check_rank, trial_stats
from ._newton import newton_minimize
from ._newton_cg import newton_cg_minimize
from ._result import MixedResult
from ._start import StartValues, linear_start
from ._trust_newton import trust_newton_minimize

__all__ = ["DECREMENT_TOL", "RESTART_TOL", "SINGULAR_TOL", "fit_linear"]

DECREMENT_TOL = 1e-6  # deviance a Newton step from the optimum may still gain
RESTART_TOL = 1e-6  # deviance difference allowed between the two starts
SINGULAR_TOL = 1e-4  # lme4::isSingular's tolerance on diagonal theta
GRADIENT_TOL = 1e-11  # largest scaled gradient component where Newton stops
NEWTON_MAX_PARAMS = 8  # damped Newton (finite-difference Hessian) up to this many parameters
# stratified residual variances beyond this many parameters: trust-region Newton with the
# Hessian in O(K) form (_newton_cg; exact ratio block, theta columns by differences), fewer
# evaluations than BFGS from 9 trials up (27 trials: 16 + 28 instead of 24 + 55) and O(K)
# per step where BFGS's cost O(K^2); BFGS for the common residual (theta only) beyond
# NEWTON_MAX_PARAMS. Tests raise it to compare with BFGS.
NEWTON_CG_MIN_PARAMS = NEWTON_MAX_PARAMS
_LOG_RHO_BOUND = 30.0
_THETA_STEP = 1e-6  # forward-difference step of the theta Hessian columns (scaled units)
_SMALL_P = 64  # fixed effects above which BLAS runs single-threaded


def _value(crit: Criterion, x: np.ndarray) -> float:
    """The profiled deviance at x (inf where it is not finite)."""
    if crit.stratified:  # the value alone (no gradient), as fun_and_grad rejects points
        try:
            dev = crit.deviance_from(crit.core(x))
        except np.linalg.LinAlgError:
            return np.inf
        return dev if np.isfinite(dev) else np.inf
    out = _common(crit)(x, 0)
    return np.inf if out is None else out[0]


def _gradient(crit: Criterion, x: np.ndarray) -> np.ndarray:
    """The analytic gradient of the profiled deviance at x (a new array)."""
    if crit.stratified:
        return crit.fun_and_grad(x)[1].copy()
    out = _common(crit)(x, 1)
    return np.zeros_like(x) if out is None else out[1].copy()


def _scales(crit: Criterion) -> np.ndarray:
    """Scale of each parameter, so that the optimizer sees a well-conditioned problem.

    ``theta`` entries are multiplied by the root mean square of their row's Z column (the
    relative factor of Z's columns scaled to unit RMS: a baseline score in 0-100 units and a
    0/1 treatment are equally easy to fit); ``log rho_i`` by ``sqrt(n_i / 2)``, the square
    root of its curvature (trial i's deviance contains ``n_i log rho_i + rss_i / rho_i``).
    """
    rms = np.sqrt(np.einsum("kjj->j", crit.s.ZtZ) / crit.nobs)
    rms = np.where(rms > 0, rms, 1.0)
    rho_scale = np.sqrt(np.maximum(crit.s.n[crit.rho_index], 1.0) / 2)
    return np.concatenate([rms[crit.rows], rho_scale])


def _minimize(crit: Criterion, x0: np.ndarray, fixed: np.ndarray) -> tuple[np.ndarray, float, int]:
    """Minimise over the (scaled) entries of x not marked ``fixed``: trust-region Newton with
    the analytic Hessian for a common residual variance (up to ``NEWTON_MAX_PARAMS``
    parameters, BFGS beyond); with stratified residual variances damped Newton for up to
    ``NEWTON_MAX_PARAMS`` parameters and trust-region Newton with the O(K) Hessian for more
    than ``NEWTON_CG_MIN_PARAMS``."""
    free = ~fixed
    scale = _scales(crit)[free]
    x = x0.copy()
    if not free.any():
        return x, _value(crit, x), 1

    def fun(z):
        x[free] = z / scale
        f, g = crit.fun_and_grad(x)
        return f, g[free] / scale

    if not crit.stratified and free.sum() <= NEWTON_MAX_PARAMS:
        return _minimize_exact(crit, x0, free, scale)
    if free.sum() <= NEWTON_MAX_PARAMS:
        diagonal = np.concatenate([crit.diagonal, np.zeros(crit.n_params - crit.n_theta, bool)])
        z, f, nfev = newton_minimize(
            fun, x0[free] * scale, gtol=GRADIENT_TOL, keep_sign=diagonal[free]
        )
    elif not crit.stratified or free.sum() <= NEWTON_CG_MIN_PARAMS:
        from scipy.optimize import minimize  # imported here: a fresh process rarely needs it

        res = minimize(
            fun, x0[free] * scale, jac=True, method="BFGS", options={"gtol": 1e-9, "maxiter": 5000}
        )
        z, f, nfev = res.x, float(res.fun), int(res.nfev)
    else:  # stratified residual variances of many trials: O(K) per Newton step
        from ._newton_cg import ArrowHessian
        from ._satterthwaite_hessian import profiled_rho_hessian

        n_dense = int(free[: crit.n_theta].sum())
        weights = np.sqrt(crit.s.n[crit.rho_index] / crit.nobs)
        rho_scale = scale[n_dense:]

        def hessian(z, g):  # scaled units: the exact ratio block, theta columns by differences
            columns = np.empty((len(z), n_dense))
            for j in range(n_dense):
                step = _THETA_STEP * max(1.0, abs(z[j]))
                zj = z.copy()
                zj[j] += step
                f_j, g_j = fun(zj)
                if not np.isfinite(f_j):  # no Hessian here: CG by gradient differences
                    x[free] = z / scale
                    return None, j + 1
                columns[:, j] = (g_j - g) / step
            x[free] = z / scale
            d, W = profiled_rho_hessian(crit, x)
            dense = columns[:n_dense]
            arrow = ArrowHessian(
                dense=(dense + dense.T) / 2,
                cross=columns[n_dense:],
                d=d / rho_scale**2,
                W=W / rho_scale[:, None],
            )
            return arrow, n_dense

        z, f, nfev = newton_cg_minimize(
            fun, x0[free] * scale, n_dense, weights, gtol=1e-9, hessian=hessian
        )
    x[free] = z / scale
    return x, float(f), int(nfev)


def _minimize_exact(
    crit: Criterion, x0: np.ndarray, free: np.ndarray, scale: np.ndarray
) -> tuple[np.ndarray, float, int]:
    """Trust-region Newton with the analytic Hessian (``_linear_hessian``): common residual."""
    x = x0.copy()
    deviance = _common(crit)
    everything = bool(free.all())
    sub = np.ix_(free, free)
    outer = np.outer(scale, scale)

    def fun(z):
        if everything:
            x[:] = z / scale
        else:
            x[free] = z / scale
        out = deviance(x)
        if out is None:
            return np.inf, np.zeros_like(z), None
        if everything:
            return out[0], out[1] / scale, out[2] / outer
        return out[0], out[1][free] / scale, out[2][sub] / outer

    z, f, nfev = trust_newton_minimize(
        fun, x0[free] * scale, gtol=GRADIENT_TOL, keep_sign=crit.diagonal[free]
    )
    x[free] = z / scale
    return x, float(f), int(nfev)


def _within_trial_log_ratios(crit: Criterion) -> np.ndarray:
    """log(s_i^2 / s_ref^2) from each trial's own least-squares fit of y on [Z, X] (a start
    for stratified residual variances), for the trials in ``crit.rho_index``."""
    rss, dof, _ = within_trial_fit(crit.s)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.where((dof > 0) & (rss > 0), rss / dof, np.nan)
    if np.all(np.isnan(var)):
        return np.zeros(len(crit.rho_index))
    var = np.where(np.isnan(var), np.nanmedian(var), var)
    return np.log(var[crit.rho_index] / var[crit.reference])


def _canonical(crit: Criterion, x: np.ndarray) -> np.ndarray:
    """Flip the sign of every column of Lambda whose diagonal entry is negative.

    Lambda Lambda' (and so the deviance) does not change; afterwards theta is in lme4's
    canonical form (non-negative diagonal).
    """
    x = x.copy()
    theta = x[: crit.n_theta]
    for j in np.flatnonzero(crit.diagonal & (theta < 0)):
        theta[crit.cols == crit.cols[j]] *= -1
    x[: crit.n_theta] = theta
    return x


def _escape_saddle(crit: Criterion, x: np.ndarray, f: float) -> np.ndarray | None:
    """A point just inside the boundary with a lower deviance, if a diagonal theta at ~0 is a
    saddle (the deviance is even in it, so its gradient there is 0 whatever the curvature)."""
    scale = _scales(crit)
    zero = np.flatnonzero(crit.diagonal & (x[: crit.n_theta] < SINGULAR_TOL))
    for j in zero:
        for size in (0.01, 0.1):
            probe = x.copy()
            probe[j] = size / scale[j]
            if _value(crit, probe) < f - 1e-9 * max(1.0, abs(f)):
                return probe
    return None


def _optimum(crit: Criterion, x0: np.ndarray) -> tuple[np.ndarray, float, int]:
    """Minimise over unconstrained theta (the deviance is even in each column of Lambda);
    leave saddle points on the boundary; if a diagonal entry ends near 0, polish with it
    fixed at the boundary 0."""
    none = np.zeros(len(x0), dtype=bool)
    x, f, nfev = _minimize(crit, x0, none)
    x = _canonical(crit, x)
    for _ in range(3):
        probe = _escape_saddle(crit, x, f)
        if probe is None:
            break
        xe, fe, ne = _minimize(crit, probe, none)
        nfev += ne
        if fe >= f:
            break
        x, f = _canonical(crit, xe), fe
    near_zero = none.copy()
    near_zero[: crit.n_theta] = crit.diagonal & (x[: crit.n_theta] < SINGULAR_TOL)
    if near_zero.any():
        xb = np.where(near_zero, 0.0, x)
        xb, fb, nb = _minimize(crit, xb, near_zero)
        nfev += nb
        if fb <= f + 1e-10 * max(1.0, abs(f)):  # prefer the exact boundary on ties
            x, f = xb, fb
    return x, f, nfev


def _projected_gradient(crit: Criterion, x: np.ndarray, bounds: list) -> np.ndarray:
    g = _gradient(crit, x)
    for j, (lo, hi) in enumerate(bounds):
        if lo is not None and x[j] <= lo + 1e-12 and g[j] > 0:
            g[j] = 0.0
        if hi is not None and x[j] >= hi - 1e-12 and g[j] < 0:
            g[j] = 0.0
    return g


def _newton_decrement(crit: Criterion, x: np.ndarray, grad: np.ndarray) -> float:
    """Deviance decrease a Newton step from x would achieve, g' H^{-1} g / 2 (lme4 checks the
    Hessian-scaled gradient in the same spirit).

    The theta block of H is analytic with a common residual variance (``_linear_hessian``)
    and the central difference of the analytic gradient with stratified ones, where each
    ``log rho_i`` uses its curvature ``n_i / 2`` (cross terms ignored), so the check costs
    ``2 n_theta`` gradient evaluations whatever the number of trials. Components held at
    the boundary (zeroed in ``grad``) are left out.
    """
    nt = crit.n_theta
    free = np.flatnonzero(grad[:nt] != 0)
    total = 0.0
    if len(free) and not crit.stratified:  # the analytic Hessian (_linear_hessian)
        out = _common(crit)(x)
        hess = out[2][np.ix_(free, free)] if out is not None else np.full((len(free),) * 2, np.nan)
    elif len(free):
        hess = np.empty((len(free), len(free)))
        for col, j in enumerate(free):
            step = 1e-5 * max(abs(x[j]), 1e-3)
            e = np.zeros(len(x))
            e[j] = step
            diff = crit.fun_and_grad(x + e)[1] - crit.fun_and_grad(x - e)[1]
            hess[:, col] = diff[free] / (2 * step)
    if len(free):
        if not np.all(np.isfinite(hess)):
            return np.inf
        w, V = np.linalg.eigh((hess + hess.T) / 2)
        g = V.T @ grad[free]
        total += 0.5 * float(np.sum(g**2 / np.maximum(np.abs(w), 1e-12)))
    if crit.stratified:
        total += 0.5 * float(np.sum(grad[nt:] ** 2 / np.maximum(crit.s.n[crit.rho_index] / 2, 0.5)))
    return total


_controller: list = []  # threadpoolctl's view of the loaded BLAS, found once per process


def _single_threaded():
    """Limit the BLAS libraries to one thread (``threadpool_limits(1)`` scans the loaded
    libraries at each call, ~1 ms; the controller is kept, each limit then costs ~10 us)."""
    if not _controller:
        from threadpoolctl import ThreadpoolController

        _controller.append(ThreadpoolController())
    return _controller[0].limit(limits=1)


def fit_linear(
    design: ModelDesign,
    *,
    reml: bool = True,
    residual: str = "common",
    ddf: str = "satterthwaite",
    start: StartValues | None = None,
) -> MixedResult:
    """Fit a linear mixed model by REML or ML (lme4::lmer; nlme::lme with varIdent when
    ``residual="stratified"``). See the module docstring for the verification steps and
    the warm start (``start``)."""
    stratified = residual == "stratified"
    check_outcome_varies(design)
    stats = trial_stats(design)
    check_rank(stats, design.fixed_names, design.group_levels)
    own = own_variance(design, stats) if stratified else None
    crit = Criterion(stats, design.re_blocks, reml=reml, stratified=stratified, own_variance=own)
    messages = data_warnings(design, residual, own, crit.reference)
    for msg in messages:
        warnings.warn(msg, DataWarning, stacklevel=3)
    large = crit.n_params > NEWTON_MAX_PARAMS or stats.p > _SMALL_P
    # OpenBLAS threads on a busy machine can make a 500 x 500 eigendecomposition take
    # seconds instead of 0.1 s: large problems run their linear algebra single-threaded
    # (threadpoolctl is imported only then: it costs a fresh process and each call time)
    with _single_threaded() if large else contextlib.nullcontext():
        return _estimate(design, crit, reml=reml, residual=residual, messages=messages, ddf=ddf,
                         start=start)  # fmt: skip


def _estimate(
    design: ModelDesign,
    crit: Criterion,
    *,
    reml: bool,
    residual: str,
    messages: list[str],
    ddf: str = "satterthwaite",
    start: StartValues | None = None,
) -> MixedResult:
    stratified = residual == "stratified"
    diag = crit.diagonal
    n_rho = crit.n_params - crit.n_theta
    bounded = [(0.0, None) if d else (None, None) for d in diag] + [(None, None)] * n_rho

    scale = _scales(crit)
    # first start: the best of relative SDs 0.1, 0.3, 1 (scaled units) on the diagonal, and
    # residual variance ratios from within-trial least squares; second start: next to the
    # boundary (relative SDs 0.02, equal residual variances), where the likelihood can have
    # a second maximum (a variance of 0) that an interior start never reaches
    log_rho0 = _within_trial_log_ratios(crit) if n_rho else np.zeros(0)
    nt = crit.n_theta
    if crit.stratified and crit.n_params > NEWTON_CG_MIN_PARAMS:  # the ratios (Newton-CG)
        starts = [
            np.concatenate([level * diag / scale[:nt], log_rho0]) for level in (0.1, 0.3, 1.0)
        ]
    else:  # the historic start of BFGS, ratios shrunk by 1/sqrt(n_i/2): results unchanged
        starts = [np.concatenate([level * diag, log_rho0]) / scale for level in (0.1, 0.3, 1.0)]
    warm = None if start is None else linear_start(start, design, crit, scale, log_rho0, 0.1)
    if isinstance(warm, tuple) and not np.isfinite(_value(crit, warm[0])):
        warm = "the deviance is not finite there"
    if warm is None or isinstance(warm, str):
        x0 = min(starts, key=lambda x: _value(crit, x))
        x1, f1, nfev1 = _optimum(crit, x0)
        nfev1 += len(starts)
        first = "" if warm is None else f"; the start values were not used: {warm}"
    else:  # warm start in place of the interior start; the second start as always
        x1, f1, nfev1 = _optimum(crit, warm[0])
        nfev1 += 1
        first = f"; warm start ({warm[1]}) in place of the interior start"
    x0b = np.concatenate([0.02 * diag, np.zeros(n_rho)]) / scale
    x2, f2, nfev2 = _optimum(crit, x0b)
    x_hat, f_hat = (x1, f1) if f1 <= f2 else (x2, f2)
    grad = _projected_gradient(crit, x_hat, bounded)
    gmax = float(np.max(np.abs(grad))) if len(grad) else 0.0
    decrement = _newton_decrement(crit, x_hat, grad)
    gap = abs(f1 - f2)
    if not stratified:
        method = (
            "trust-region Newton with analytic gradient and Hessian"
            if crit.n_params <= NEWTON_MAX_PARAMS
            else "BFGS with analytic gradient"
        )
    elif crit.n_params > NEWTON_CG_MIN_PARAMS:
        method = "trust-region Newton with analytic gradient and O(K) Hessian"
    else:
        method = "damped Newton with analytic gradient"
    grad_ok = decrement <= DECREMENT_TOL
    same = gap <= RESTART_TOL * max(1.0, abs(f_hat))
    converged = bool(grad_ok and np.isfinite(f_hat))
    convergence = (
        f"gradient at the optimum: max |component| {gmax:.1e}, a Newton step from there "
        f"would lower the deviance by {decrement:.1e} (tolerance {DECREMENT_TOL:g}); "
        + (
            f"second start (near the boundary) reached a deviance {gap:.1e} from the first "
            f"(tolerance {RESTART_TOL:g} relative)"
            if same
            else f"the two starts reached different local optima {gap:.4g} deviance units "
            "apart; the better is kept"
        )
        + f"; {method}, {nfev1} + {nfev2} evaluations"
        + first
    )
    if not same:
        msg = (
            "the likelihood has more than one local maximum: the two starts reached "
            f"deviances {min(f1, f2):.6f} and {max(f1, f2):.6f}; the fit reports the better"
        )
        warnings.warn(msg, ConvergenceWarning, stacklevel=4)
        messages.append(msg)
    if not converged:
        msg = f"the optimum could not be verified: {convergence}"
        warnings.warn(msg, ConvergenceWarning, stacklevel=4)
        messages.append(msg)

    theta = x_hat[: crit.n_theta]
    singular = bool(np.any(theta[diag] < SINGULAR_TOL))
    zero = [design.random_names[r] for r in crit.rows[diag][theta[diag] < SINGULAR_TOL]]
    if singular:
        msg = (
            "singular fit: the random-effect variance (or a correlation) of "
            f"{', '.join(map(repr, zero))} is estimated at the boundary; the fit converged "
            "there (the model reduces to one without that random effect)"
        )
        warnings.warn(msg, SingularFitWarning, stacklevel=4)
        messages.append(msg)
    if stratified:
        log_rho = x_hat[crit.n_theta :]
        at_bound = np.flatnonzero(np.abs(log_rho) >= _LOG_RHO_BOUND)
        for j in at_bound:
            msg = (
                f"the residual variance of trial {design.group_levels[crit.rho_index[j]]} is "
                f"exp({log_rho[j]:+.0f}) times trial {design.group_levels[crit.reference]}'s; "
                "it is not identified"
            )
            warnings.warn(msg, ConvergenceWarning, stacklevel=4)
            messages.append(msg)
    return build_result(
        design,
        crit,
        x_hat,
        reml=reml,
        residual=residual,
        converged=converged,
        convergence=convergence,
        singular=singular,
        messages=tuple(messages),
        ddf=ddf,
        diagnostics=ConvergenceRecord(
            converged=converged,
            gradient_max=gmax,
            restart_loglik_difference=gap / 2,  # deviance = -2 loglik
            boundary_terms=tuple(f"sd({name})" for name in zero),
            checks=convergence,
        ),
    )
