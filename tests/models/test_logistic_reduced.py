"""The AGHQ polish of a boundary fit in the model without the random effect held at 0.

``_logistic_reduced.polish`` maximises the quadrature log-likelihood in ``q - 1`` dimensions
when the Laplace fit holds a random effect at exactly 0, and ``verify_boundary`` measures
the curvature in the held entry from its first probe. Checked here: the fit equals the one
polished in all dimensions, the measured curvature equals the exact second derivative
(and the couplings it leaves out are 0), and when 0 is no maximum of the quadrature
log-likelihood the fit goes on in the full model and reaches the interior optimum.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from tests.tolerances import (
    GLMM_CURVATURE_RTOL,
    GLMM_LOGLIK_RTOL,
    GLMM_REDUCED_RTOL,
    GLMM_THETA_RTOL,
)

import ipdma
import ipdma.models._logistic as logistic
import ipdma.models._logistic_reduced as reduced
from ipdma.models._logistic_newton import maximize, negative_hessian

FORMULA = "rec ~ 0 + C(trial) + base + treat + (0 + treat | trial) + (0 + base | trial)"


def trials(*, treat_sd: float, base_sd: float, K: int = 12, n: int = 120, seed: int = 3):
    """Binary outcome, trial intercepts, random treatment effect and baseline slope."""
    rng = np.random.default_rng(seed)
    idx = np.repeat(np.arange(K), n)
    treat = rng.integers(0, 2, idx.size).astype(float)
    base = rng.normal(size=idx.size)
    eta = (
        rng.normal(-0.5, 0.6, K)[idx]
        + (-0.4 + base_sd * rng.normal(size=K))[idx] * base
        + (0.5 + treat_sd * rng.normal(size=K))[idx] * treat
    )
    rec = rng.binomial(1, 1 / (1 + np.exp(-eta)))
    return pd.DataFrame(
        {"trial": [f"t{i:02d}" for i in idx], "treat": treat, "base": base, "rec": rec}
    )


def fit(data: pd.DataFrame, nagq: int = 7):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ipdma.mixed(FORMULA, data, family="binomial", nagq=nagq)


def reduced_dimensions(monkeypatch) -> list[int]:
    """Record the random-effect dimensions of every Newton run of the polish."""
    seen: list[int] = []

    def spy(problem, *args, **options):
        seen.append(problem.data.q)
        return maximize(problem, *args, **options)

    monkeypatch.setattr(reduced, "maximize", spy)
    return seen


@pytest.mark.parametrize(("seed", "nagq"), [(3, 7), (5, 5), (6, 11)])
def test_reduced_polish_equals_the_full_polish(monkeypatch, seed, nagq):
    data = trials(treat_sd=0.4, base_sd=0.0, seed=seed)
    seen = reduced_dimensions(monkeypatch)
    fast = fit(data, nagq)
    assert fast.singular and fast.converged and seen == [1]  # polished in one dimension
    zero = fast.varcomp.loc[fast.varcomp["sd"] == 0.0, "term1"].tolist()
    assert len(zero) == 1
    monkeypatch.setattr(reduced, "_vanished", lambda problem, theta: np.zeros(0, dtype=int))
    full = fit(data, nagq)
    assert seen == [1, 2]  # the same fit polished in both dimensions
    assert full.singular and full.converged
    assert fast.loglik == pytest.approx(full.loglik, rel=GLMM_REDUCED_RTOL, abs=0)
    for ours, reference in ((fast.fixef, full.fixef), (fast.se, full.se)):
        np.testing.assert_allclose(ours, reference, rtol=GLMM_REDUCED_RTOL, atol=0)
    np.testing.assert_allclose(
        fast.varcomp["sd"], full.varcomp["sd"], rtol=GLMM_REDUCED_RTOL, atol=1e-12
    )
    assert f"sd({zero[0]}) held at 0" in fast.convergence
    assert fast.convergence.split("(SD")[1] == full.convergence.split("(SD")[1]


def test_measured_curvature_is_the_exact_second_derivative(monkeypatch):
    """The held entry's row of minus the Hessian: exact zeros off the diagonal (the
    log-likelihood is even in the entry) and the measured curvature on it."""
    data = trials(treat_sd=0.4, base_sd=0.0, K=20, n=150, seed=8)
    checks = []
    verify = logistic.verify_boundary

    def spy(problem, opt, positions, names):
        checks.append((problem, opt, positions, verify(problem, opt, positions, names)))
        return checks[-1][-1]

    monkeypatch.setattr(logistic, "verify_boundary", spy)
    result = fit(data)
    assert result.singular and result.converged
    (problem, opt, positions, check), *_ = checks
    assert np.isnan(opt.hessian[0][positions, positions]).all()  # left to the probe
    held = check.optimum
    ev = problem.evaluate(held.theta, held.alpha, held.evaluation.modes, hessian=True)
    exact = negative_hessian(problem, ev)
    for j in positions:
        assert check.hessian[0][j, j] > 0 and check.not_maximum.size == 0
        assert check.hessian[0][j, j] == pytest.approx(exact[0][j, j], rel=GLMM_CURVATURE_RTOL)
        scale = np.max(np.abs(exact[0]))
        assert np.max(np.abs(np.delete(exact[0][j], j))) < 1e-10 * scale
        assert np.max(np.abs(exact[1][:, j])) < 1e-10 * scale
    others = np.setdiff1d(np.arange(len(held.theta)), positions)
    np.testing.assert_allclose(
        check.hessian[0][np.ix_(others, others)],
        exact[0][np.ix_(others, others)],
        rtol=1e-8,
        atol=1e-10 * np.max(np.abs(exact[0])),
    )


def test_zero_that_is_no_maximum_goes_on_in_the_full_model(monkeypatch):
    """The Laplace stage made to hold SD(treat) at 0 where the data say about 0.8: the polish
    runs without it, the measured curvature shows 0 is no maximum, and the fit continues in
    both dimensions to the optimum the honest fit finds."""
    data = trials(treat_sd=0.8, base_sd=0.0, K=10, n=120, seed=11)
    honest = fit(data)
    assert honest.converged and honest.varcomp.set_index("term1")["sd"]["treat"] > 0.3

    def held_laplace(problem, theta, alpha, **options):
        if len(problem.nodes) > 1:
            return maximize(problem, theta, alpha, **options)
        theta = theta.copy()
        theta[problem.n_shared] = 0.0  # the treatment SD's entry of L
        fixed = np.zeros(len(theta), dtype=bool)
        fixed[problem.n_shared] = True
        return maximize(problem, theta, alpha, **{**options, "fixed": fixed})

    monkeypatch.setattr(logistic, "maximize", held_laplace)
    seen = reduced_dimensions(monkeypatch)
    checks = []
    verify = logistic.verify_boundary

    def spy(problem, opt, positions, names):
        checks.append(verify(problem, opt, positions, names))
        return checks[-1]

    monkeypatch.setattr(logistic, "verify_boundary", spy)
    result = fit(data)
    assert seen[0] == 1 and checks[0].not_maximum.size == 1  # reduced, then found wanting
    sd = result.varcomp.set_index("term1")["sd"]
    assert sd["treat"] == pytest.approx(
        honest.varcomp.set_index("term1")["sd"]["treat"], rel=GLMM_THETA_RTOL
    )
    assert result.loglik == pytest.approx(honest.loglik, rel=GLMM_LOGLIK_RTOL)
    assert result.loglik >= honest.loglik - 1e-7


def test_variance_released_from_zero_never_returns_to_it():
    """Newton's method started with a variance entry at exactly 0 where 0 is no maximum
    moves it off 0 and then never steps more than half way back towards 0 (at exactly 0
    its gradient vanishes by symmetry and no Newton step could leave it): it reaches the
    interior optimum. (On 60,000 rows a step landed exactly on 0 and the fit stalled.)"""
    from ipdma.models import build_design, parse_formula
    from ipdma.models._aghq import hermite_grid
    from ipdma.models._logistic_design import prepare
    from ipdma.models._logistic_newton import _Problem, glm_start

    data = trials(treat_sd=0.0, base_sd=0.05, K=30, n=300, seed=2)
    prep = prepare(build_design(parse_formula(FORMULA), data))
    problem = _Problem(prep.data, *hermite_grid(1, 2), prep.local_index >= 0)
    seen = []
    evaluate = problem.evaluate

    def spy(theta, alpha, modes, **options):
        seen.append(theta[-1])
        return evaluate(theta, alpha, modes, **options)

    problem.evaluate = spy  # type: ignore[method-assign]
    beta, alpha = glm_start(problem)
    ps = problem.n_shared
    opt = maximize(problem, np.r_[beta, 0.2, 0.0], alpha, tol=1e-12)
    assert seen[0] == 0.0 and seen[1] > 0  # released from 0
    moved = np.abs(np.array(seen[1:]))
    assert np.any(np.diff(moved) < 0)  # stepped back towards 0 (the optimum is below 0.1)
    assert np.all(moved > 0) and np.all(moved[1:] >= 0.5 * np.minimum.accumulate(moved)[:-1])
    assert 0.02 < abs(opt.theta[ps + 1]) * prep.data.Z[:, 1].std() < 0.1  # baseline-slope SD
    assert opt.gradient_max < logistic.GRADIENT_TOL and opt.decrement < 1e-12
