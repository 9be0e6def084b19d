"""Logistic mixed models by maximum likelihood with adaptive Gauss-Hermite quadrature.

Model (trial i, participant j; lme4::glmer with ``family = binomial``)::

    y_ij ~ Binomial(m_ij, p_ij),  logit p_ij = x_ij' beta + z_ij' b_i,  b_i ~ N(0, G)

with ``G`` block diagonal (one unstructured block per random term). The likelihood of each
trial is integrated over ``b_i`` by adaptive Gauss-Hermite quadrature (``_aghq``): the
product rule with ``nagq`` points per dimension, centred at the conditional mode and scaled
by the Cholesky factor of the conditional-mode Hessian (Pinheiro & Bates 1995, J Comput
Graph Stat 4:12; Liu & Pierce 1994, Biometrika 81:624). ``nagq = 1`` is the Laplace
approximation, which matches ``glmer(..., nAGQ = 1)``. Unlike glmer, more than one node is
allowed for 2 and 3 random effects per trial (``nagq**q`` nodes per trial).

Default number of nodes
-----------------------
``DEFAULT_NAGQ[q]``: 7 for one random effect per trial, 11 for two, 9 for three. On the
paper-sized model (3,503 participants in 27 trials, stratified intercepts, random treatment
effect; fixture ``glmm_ipd_paper``) the maximised log-likelihood at 1, 5, 7, 9 and 25 nodes
is -2119.4130852, -2119.3668637, -2119.3668131, -2119.3668129 and -2119.3668128: 7 nodes
are within 3.2e-7 of 25 (5 nodes: 5.1e-5 off; Laplace: 0.046). Two random effects, against
the exact marginal log-likelihood (nested ``stats::integrate`` in R, fixture
``xcheck_bin_aghq``, exact value -710.9512968 at the 9-node estimates):

====  ==================  ================  ===============
nagq  nodes per trial     loglik            minus exact
====  ==================  ================  ===============
9     81                  -710.9513031      -6.3e-6
10    100                 -710.9513035      -6.7e-6
11    121                 -710.9512971      -2.8e-7
13    169                 -710.9512966      +2.2e-7
15    225                 -710.9512967      +1.2e-7
====  ==================  ================  ===============

so 11 nodes (121 per trial) are the smallest default within 1e-6 there; on
``glmm_ipd_two`` (SDs 0.30 and 0.52) 11 nodes are 1.4e-8 from 15. With three random effects
(``glmm_ipd_two`` plus a random ``x`` slope) the gaps to 11 nodes are 6.9e-6 at 7 nodes,
2.2e-6 at 8 and 3.0e-7 at 9: 9 nodes (729 per trial) are within 1e-6 (fit 5.6 s there
against 2.7 s at 7 nodes; pass ``nagq=7`` for speed). ``tests/models/test_logistic_quadrature.py``
checks these sequences.

Estimation
----------
Newton's method on all parameters (``_logistic_newton``) with the exact analytic gradient
and Hessian of the AGHQ log-likelihood (``_aghq_gradient``, ``_aghq_hessian``; checked
against central differences in ``tests/models/test_aghq_derivatives.py``); the trial-local
coefficients (stratified intercepts) are eliminated by the Schur complement in every step,
never passed to a generic optimiser; a random-effect variance near 0 is stepped in
``lambda**2`` (no creep towards a zero variance). The Laplace fit is found first and used
to start the quadrature fit (its Hessian serves for the first quadrature step). Standard
errors: the inverse of minus the Hessian of the
log-likelihood over (coefficients, covariance parameters) at the optimum (the exact
analytic Hessian, ``_aghq_hessian``), fixed-effects block; lme4 uses a finite-difference
Hessian of the deviance, glmmTMB an exact one (automatic differentiation).
Convergence is verified: the gradient at the optimum in each parameter's own unit (the
score times 1 / root-mean-square of the parameter's column, so that rescaling a covariate,
e.g. to 0-100, neither hides nor fakes a large gradient) below ``GRADIENT_TOL``, and a second Newton run of the
Laplace stage from a different start of the covariance parameters reaching the same
log-likelihood (within 1e-6). At a boundary (a diagonal entry of ``L`` below
``SINGULAR_TOL``: an SD of 0 or |corr| = 1) the gradient is no criterion (the likelihood is
flat there and Newton creeps); instead that entry is held at exactly 0, the other parameters
are re-maximised and their gradient checked, and moving the entry off 0 must not raise the
log-likelihood by more than ``RESTART_TOL`` (``_logistic_boundary``). ``fit.convergence``
says which verification was done and what it measured. When the Laplace optimum holds a
random effect of its own block at exactly 0 (e.g. no between-trial SD of the baseline
slope), the quadrature polish runs in the model without it (``_logistic_reduced``: the same
maximisation, ``nagq**(q-1)`` nodes per trial), and the curvature in the held entry, which
decides whether 0 is a maximum there, is measured by the boundary check's first probe.

Warm start
----------
``start=StartValues`` (``_start``; e.g. the complete-case fit of a model fitted on multiply
imputed data, or the fit on another completed dataset) replaces the *first* start of the
Laplace stage: the shared coefficients the start names, the trial-local ones recomputed
given them (the GLM in the trial-local coefficients alone), the start's variances (an
entry of ``L`` at exactly 0, where the gradient vanishes by symmetry, starts at half the
default SD instead). The convergence criteria are unchanged, and the *second* start is the
default start of a fit without ``start`` (GLM coefficients, SDs 0.2), not the second start
derived from the first optimum (1.5 times its SDs). Why: a second start derived from the
warm optimum, or otherwise near the warm start, starts where the warm start led, so it
would confirm a local optimum the warm start led to and never see the optimum the default
start reaches; with the default start as the second start, the fit always runs the
default start's Newton path, keeps the better of the two optima and reports a
disagreement above ``RESTART_TOL`` exactly as before (``converged=False``), so a warm start
can never hide the optimum of the fit without it, and the second start is as far from the
optimum as in a fit without ``start``. When Newton's method does not converge from the
warm start (decrement not below its tolerance: e.g. coefficients far off on the wrong
side), the start is not used and the fit is the default one (the convergence text says
so). The saving is the difference between Newton's iterations from the warm start and from
the derived second start: on the benchmark's imputed data (``benchmarks/bench_warm.py``)
about one iteration per fit (10.6 against 11.7 in all, 3% of the CPU) when the start is the
fit on another completed dataset, and none from the complete-case fit (13.2: it rests on
fewer trials and is often singular), so warm starts pay little for these fits.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..errors import (
    ConvergenceWarning,
    ModelError,
    SeparationWarning,
    SingularFitWarning,
    SpecError,
)
from ._aghq import hermite_grid
from ._convergence import ConvergenceRecord
from ._family import BINOMIAL, GLMFamily
from ._formula import ModelDesign
from ._linear_stats import check_rank, trial_stats
from ._logistic_boundary import BOUNDARY_SDS, boundary_parameters, verify_boundary
from ._logistic_design import Prepared, detect_separation, prepare
from ._logistic_newton import _Problem, glm_start, maximize
from ._logistic_reduced import polish
from ._logistic_result import build_result
from ._result import MixedResult
from ._start import StartValues, logistic_start

__all__ = ["DEFAULT_NAGQ", "fit_binomial"]

DEFAULT_NAGQ = {1: 7, 2: 11, 3: 9}
MAX_NODES = 20_000  # nagq**q above this is refused (memory: rows x nodes)
GRADIENT_TOL = 1e-4  # largest |score x parameter unit| at an accepted optimum
RESTART_TOL = 1e-6  # log-likelihood agreement of the two starts
SINGULAR_TOL = 1e-4  # |diagonal of L| below this is a zero variance (lme4's isSingular)


def _validate_nagq(nagq, q: int) -> int:
    if nagq is None:
        return DEFAULT_NAGQ.get(q, 3)
    if isinstance(nagq, bool) or not isinstance(nagq, (int, np.integer)) or nagq < 1:
        raise SpecError(
            f"nagq={nagq!r} is not a positive whole number",
            hint="use nagq=1 (Laplace) or more quadrature points, e.g. nagq=9",
        )
    if nagq**q > MAX_NODES:
        raise SpecError(
            f"nagq={nagq} gives {nagq**q} quadrature nodes per trial for {q} random effects",
            hint=f"use nagq <= {int(MAX_NODES ** (1 / q))} with {q} random effects",
        )
    return int(nagq)


def _start_lambda(prep: Prepared) -> np.ndarray:
    data = prep.data
    rms = np.sqrt(np.mean(data.Z**2, axis=0))
    diag = data.lam_rows == data.lam_cols
    lam = np.zeros(len(data.lam_rows))
    lam[diag] = 0.2 / np.maximum(rms[data.lam_rows[diag]], 1e-8)  # SD 0.2 on the logit scale
    return lam


def fit_binomial(
    design: ModelDesign,
    *,
    nagq: int | None = None,
    family: GLMFamily = BINOMIAL,
    offset: np.ndarray | None = None,
    start: StartValues | None = None,
) -> MixedResult:
    """Fit ``design`` (binomial response, logit link) by maximum likelihood.

    The same engine fits Poisson counts (log link) with ``family=POISSON`` and ``offset``
    (the log exposure per design row): only the per-row log-density changes (``_family``).

    Parameters
    ----------
    design
        From ``build_design``; ``y`` successes, ``n_trials`` binomial sizes (ones for 0/1).
    nagq
        Gauss-Hermite points per random-effect dimension; 1 = Laplace; None = the default
        (``DEFAULT_NAGQ`` by the number of random effects per trial).
    start
        Start values (a warm start, module docstring); None: the default start.
    """
    q = design.Z.shape[1]
    if q == 0:
        raise ModelError(
            "the model has no random effects", hint="add a random term such as (1 | trial)"
        )
    nagq = _validate_nagq(nagq, q)
    prep = prepare(design, family, offset)
    # the same fixed-effects rank check as the linear engine (X'X per trial, local columns
    # eliminated): aliased columns are an error naming them, never an unidentified split
    check_rank(trial_stats(design), design.fixed_names, design.group_levels)
    messages = list(prep.messages)
    for msg in prep.messages:
        warnings.warn(msg, SeparationWarning, stacklevel=3)
    if len(prep.used_trials) == 0:
        raise ModelError(
            "no trial has both events and non-events; nothing can be estimated",
            variable=design.response_name,
            hint="check the outcome coding (0/1) or drop the trial-specific intercepts",
        )
    data = prep.data
    mask = prep.local_index >= 0
    lap = _Problem(data, *hermite_grid(1, q), mask)
    problem = lap if nagq == 1 else _Problem(data, *hermite_grid(nagq, q), mask)

    beta0, alpha0 = glm_start(lap)
    lam0 = _start_lambda(prep)
    warm = None if start is None else logistic_start(start, design, prep, lap, beta0, lam0)
    checks = []
    if isinstance(warm, str):
        checks.append(f"the start values were not used: {warm}")
        warm = None
    # Newton decrement at the returned iterate (twice the gain a further step would make):
    # exact for a Laplace fit; a start for the quadrature fit (the two optima differ by far
    # more), precise enough to compare with the second start to RESTART_TOL
    lap_tol = 1e-14 if nagq == 1 else 1e-8
    ps = data.n_shared
    opt = None
    if warm is not None:  # the warm start first; the default start second (module docstring)
        lam_warm = np.where(warm[0][ps:] == 0.0, 0.5 * lam0, warm[0][ps:])
        opt = maximize(lap, np.r_[warm[0][:ps], lam_warm], warm[1], tol=lap_tol)
        if opt.decrement < lap_tol and np.isfinite(opt.evaluation.loglik.sum()):
            second = (np.r_[beta0, lam0], alpha0)
            checks.append(f"warm start ({warm[2]})")
            restart = "the default start (GLM coefficients, SDs 0.2), the second start,"
        else:  # did not converge from there: the fit without it
            checks.append("the start values were not used: Newton's method did not converge "
                          f"from them in {opt.iterations} iterations")  # fmt: skip
            opt = None
    if opt is None:
        opt = maximize(lap, np.r_[beta0, lam0], alpha0, tol=lap_tol)
        # verification: a second start of the covariance parameters (Laplace stage)
        lam_hat = opt.theta[ps:]
        lam_alt = np.where(np.abs(lam_hat) > 0.05, 1.5 * lam_hat, 0.5 * lam0)
        second = (np.r_[opt.theta[:ps], lam_alt], opt.alpha)
        restart = "a second start of the variance parameters"
    alt = maximize(
        lap,
        *second,
        modes=opt.evaluation.modes,
        tol=0.5 * RESTART_TOL,  # gain left < RESTART_TOL / 4: enough to compare to RESTART_TOL
    )
    f1, f2 = opt.evaluation.loglik.sum(), alt.evaluation.loglik.sum()
    if f2 > f1 + RESTART_TOL:
        checks.append(f"second start reached a higher log-likelihood (+{f2 - f1:.2g}); kept")
        opt, f1 = alt, f2
    restart_gap = abs(f2 - f1)
    agree = restart_gap <= RESTART_TOL
    if nagq > 1:  # polish with the quadrature rule, starting from the Laplace optimum
        opt = polish(problem, opt, nagq, tol=1e-14)
        f1 = opt.evaluation.loglik.sum()
    restart = (
        f"{restart} reaches the same Laplace optimum within {restart_gap:.1e} (< {RESTART_TOL:g})"
    )
    at_zero = boundary_parameters(problem, opt.theta, SINGULAR_TOL)
    names: tuple[str, ...] = ()
    if at_zero.size:
        names = tuple(_boundary_name(design, data, opt.theta[ps:], j - ps) for j in at_zero)
        check = verify_boundary(problem, opt, at_zero, names)
        if check.not_maximum.size:  # (after a reduced polish) 0 is no maximum: go on in full
            opt = maximize(problem, opt.theta, opt.alpha, modes=opt.evaluation.modes, tol=1e-14)
            f1 = opt.evaluation.loglik.sum()
            at_zero = boundary_parameters(problem, opt.theta, SINGULAR_TOL)
            names = tuple(_boundary_name(design, data, opt.theta[ps:], j - ps) for j in at_zero)
            if at_zero.size:
                check = verify_boundary(problem, opt, at_zero, names)
    if at_zero.size == 0:
        hessian = opt.hessian  # exact, at the last iterate
        gmax = opt.gradient_max
        converged = bool(agree and gmax < GRADIENT_TOL and np.isfinite(f1))
        checks.insert(
            0,
            f"max |gradient| {gmax:.1e} in parameter units (< {GRADIENT_TOL:g}), Newton "
            f"decrement "
            f"{max(opt.decrement, 0):.1e}; {restart}",
        )
    else:  # boundary fit: the gradient of a variance parameter at 0 is no criterion
        f_held = check.optimum.evaluation.loglik.sum()
        if f_held >= f1 - RESTART_TOL:  # holding exactly 0 is (within noise) as good
            opt, f1, hessian = check.optimum, f_held, check.hessian
            gmax = check.gradient_max
        else:
            hessian = opt.hessian
            gmax = max(check.gradient_max, opt.gradient_max)
            checks.append(
                f"holding {', '.join(names)} at 0 lowered the log-likelihood by "
                f"{f1 - f_held:.2g}: not a boundary optimum"
            )
        one_sided = check.gain <= RESTART_TOL and f_held >= f1 - RESTART_TOL
        converged = bool(agree and gmax < GRADIENT_TOL and one_sided and np.isfinite(f1))
        checks.insert(
            0,
            f"boundary fit: {', '.join(names)} held at 0 and the other parameters "
            f"re-maximised, their max |gradient| {gmax:.1e} in parameter units "
            f"(< {GRADIENT_TOL:g}); one-sided "
            f"check: moving {'it' if len(names) == 1 else 'each'} off 0 (SD "
            f"{BOUNDARY_SDS[0]:g} to {BOUNDARY_SDS[-1]:g} on the logit scale, both signs, the "
            f"others re-optimised to second order) changes the log-likelihood by at most "
            f"{check.gain:+.1e} (<= {RESTART_TOL:g}, at SD {check.gain_sd:g}); {restart}",
        )

    separated = None
    big = problem.linear_predictor_extreme(opt.theta, opt.alpha) > 15
    if big or not converged:
        kept = np.isin(design.group, prep.used_trials)
        upper = design.n_trials[kept] if family.name == "binomial" else np.inf + design.y[kept]
        separated = detect_separation(design.fixed_matrix[kept], design.y[kept], upper)
    if separated is not None:
        msg = _separation_message(design, prep, separated)
        messages.append(msg)
        warnings.warn(msg, SeparationWarning, stacklevel=3)
        converged = False

    L = data.lower(opt.theta[ps:])
    singular = bool(
        np.any(np.abs(np.diagonal(L)) < SINGULAR_TOL)
        or any(_corr_at_one(L, b) for b in design.re_blocks if len(b) > 1)
    )
    if singular:
        msg = "boundary (singular) fit: a random-effect variance is estimated as 0 (or |corr| = 1)"
        messages.append(msg)
        warnings.warn(msg, SingularFitWarning, stacklevel=3)
    if not converged and separated is None:
        msg = "the optimum could not be verified: " + "; ".join(checks)
        messages.append(msg)
        warnings.warn(msg, ConvergenceWarning, stacklevel=3)
    boundary = (
        names if names else (("a random-effect correlation (|corr| = 1)",) if singular else ())
    )
    diagnostics = ConvergenceRecord(
        converged=converged,
        gradient_max=float(gmax),
        restart_loglik_difference=float(restart_gap),
        boundary_terms=boundary if singular else (),
        separated_terms=() if separated is None else _separated_terms(design, separated),
        checks="; ".join(checks),
    )
    return build_result(
        design,
        prep,
        opt,
        hessian,
        nagq=nagq,
        converged=converged,
        convergence="; ".join(checks),
        singular=singular,
        messages=tuple(messages),
        separated=separated,
        diagnostics=diagnostics,
    )


def _boundary_name(design: ModelDesign, data, lam: np.ndarray, k: int) -> str:
    """sd(term) when the term's SD is 0; else its part independent of the earlier terms."""
    L = data.lower(lam)
    row = data.lam_rows[k]
    term = design.random_names[row]
    earlier = [design.random_names[j] for j in range(row) if abs(L[row, j]) >= SINGULAR_TOL]
    if not earlier:
        return f"sd({term})"
    return f"sd({term} | {', '.join(earlier)}) (|corr| = 1)"


def _corr_at_one(L: np.ndarray, block: np.ndarray) -> bool:
    G = (L @ L.T)[np.ix_(block, block)]
    d = np.sqrt(np.diag(G))
    if np.any(d < SINGULAR_TOL):
        return False
    C = G / np.outer(d, d)
    off = C[~np.eye(len(block), dtype=bool)]
    return bool(np.any(np.abs(off) > 1 - 1e-6))


def _separated_terms(design: ModelDesign, direction: np.ndarray) -> tuple[str, ...]:
    """Fixed terms that move along the separating direction."""
    return tuple(design.fixed_names[j] for j in np.flatnonzero(np.abs(direction) > 1e-6))


def _separation_message(design: ModelDesign, prep: Prepared, direction: np.ndarray) -> str:
    moving = np.abs(direction) > 1e-6
    shared = np.zeros(len(moving), dtype=bool)
    shared[prep.shared_index] = True
    terms = [design.fixed_names[j] for j in np.flatnonzero(moving & shared)]
    local = [design.fixed_names[j] for j in np.flatnonzero(moving & ~shared)]
    if local:
        terms.append(", ".join(local) if len(local) <= 3 else f"{len(local)} trial-specific terms")
    kept = np.isin(design.group, prep.used_trials)
    s = np.where(design.y[kept] == 0, -1.0, 1.0)
    hit = s * np.asarray(design.fixed_matrix[kept] @ direction).ravel() > 1e-9
    trials = sorted({str(design.group_levels[g]) for g in design.group[kept][hit]})
    shown = ", ".join(trials[:10]) + (" ..." if len(trials) > 10 else "")
    return (
        f"complete or quasi-complete separation (terms: {', '.join(terms)}; perfectly "
        f"predicted rows in trial(s) {shown}): the maximum-likelihood estimates along this "
        "direction are infinite; the reported estimates are the last Newton iterate (finite "
        "but arbitrary along it; their standard errors are NaN) and converged=False"
    )
