"""The analytic Hessian of the linear engine (common residual variance) and its optimizer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.tolerances import LMM_GRADIENT_RTOL, LMM_HESSIAN_RTOL

from ipdma.models._formula import build_design, parse_formula
from ipdma.models._linear_criterion import Criterion
from ipdma.models._linear_hessian import CommonDeviance, unprofiled_hessian
from ipdma.models._linear_stats import trial_stats
from ipdma.models._satterthwaite import _gradient_unprofiled
from ipdma.models._trust_newton import _eigh, _subproblem


def _data(seed: int, n_trials: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(25, 70, n_trials)
    trial = np.repeat([f"t{i}" for i in range(n_trials)], sizes)
    idx = np.repeat(np.arange(n_trials), sizes)
    n = len(trial)
    base = rng.normal(50, 10, n)
    treat = rng.integers(0, 2, n).astype(float)
    x2 = rng.normal(size=n)
    y = (
        rng.normal(20, 5, n_trials)[idx]
        + (0.5 + rng.normal(0, 0.05, n_trials))[idx] * base
        + (-4 + rng.normal(0, 2, n_trials))[idx] * treat
        + rng.normal(0, 8, n)
    )
    return pd.DataFrame({"trial": trial, "y": y, "base": base, "treat": treat, "x2": x2})


FORMULAS = [
    "y ~ 0 + C(trial) + base + treat + (0 + treat | trial) + (0 + base | trial)",  # m=1, pg=2
    "y ~ 0 + C(trial) + base + treat + (0 + treat + base | trial)",  # correlated
    "y ~ base + treat + (1 + treat | trial)",  # no trial-local columns
    "y ~ 0 + C(trial) + C(trial):base + treat + (0 + treat | trial)",  # m=2, pg=1
    "y ~ 0 + C(trial) + (0 + treat + base | trial)",  # no global columns
    "y ~ 0 + C(trial) + C(trial):base + treat + x2 + (1 + treat + x2 | trial)",  # 6 thetas
]


def _criterion(formula: str, reml: bool, seed: int = 3) -> Criterion:
    design = build_design(parse_formula(formula), _data(seed))
    return Criterion(trial_stats(design), design.re_blocks, reml=reml, stratified=False)


def _point(crit: Criterion, seed: int) -> np.ndarray:
    """A random theta (scaled to the Z columns), off-diagonal entries of either sign."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.05, 0.4, crit.n_theta)
    x = np.where(crit.diagonal, x, x * rng.choice([-1.0, 1.0], crit.n_theta))
    rms = np.sqrt(np.einsum("kjj->j", crit.s.ZtZ) / crit.nobs)
    return x / rms[crit.rows]


def _central(fun, x: np.ndarray) -> np.ndarray:
    cols = []
    for j in range(len(x)):
        step = 1e-6 * max(abs(x[j]), 1e-3)
        e = np.zeros(len(x))
        e[j] = step
        cols.append((fun(x + e) - fun(x - e)) / (2 * step))
    return np.column_stack(cols)


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("formula", FORMULAS)
def test_value_gradient_hessian_match_the_criterion(formula, reml):
    crit = _criterion(formula, reml)
    x = _point(crit, 11)
    dev, grad, hess, _, r2 = CommonDeviance(crit)(x)
    dev_ref, grad_ref = crit.fun_and_grad(x)
    np.testing.assert_allclose(dev, dev_ref, rtol=1e-12)
    np.testing.assert_allclose(r2, crit.core(x)["r2"], rtol=1e-10)
    np.testing.assert_allclose(grad, grad_ref, rtol=LMM_GRADIENT_RTOL, atol=1e-8)
    numeric = _central(lambda z: crit.fun_and_grad(z)[1], x)
    scale = np.max(np.abs(numeric))
    np.testing.assert_allclose(hess, numeric, rtol=LMM_HESSIAN_RTOL, atol=LMM_HESSIAN_RTOL * scale)
    assert np.array_equal(hess, hess.T)


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("formula", FORMULAS[:4])
@pytest.mark.parametrize("profiled", [True, False])
def test_unprofiled_hessian_matches_differences(formula, reml, profiled):
    """In (theta, sigma), at the profiled sigma (the optimizer's evaluation reused) and at
    another sigma (evaluated directly)."""
    crit = _criterion(formula, reml)
    x = _point(crit, 5)
    sigma = float(np.sqrt(crit.core(x)["r2"] / crit.dof)) * (1.0 if profiled else 1.3)
    v = np.concatenate([x, [sigma]])
    numeric = _central(lambda z: _gradient_unprofiled(crit, z), v)
    analytic = unprofiled_hessian(crit, x, sigma)
    scale = np.max(np.abs(numeric))
    np.testing.assert_allclose(
        analytic, numeric, rtol=LMM_HESSIAN_RTOL, atol=LMM_HESSIAN_RTOL * scale
    )


def test_evaluations_are_remembered_read_only():
    crit = _criterion(FORMULAS[0], True)
    evaluate = CommonDeviance(crit)
    x = _point(crit, 2)
    first = evaluate(x)
    assert evaluate(x.copy()) is first  # the same point is not evaluated twice
    assert evaluate(x, 1) is first  # a lower order is served from the higher one
    with pytest.raises(ValueError):
        first[1][0] = 0.0


def test_non_finite_points_give_none():
    crit = _criterion(FORMULAS[0], True)
    assert CommonDeviance(crit)(np.array([np.nan, 0.1])) is None


@pytest.mark.parametrize("seed", range(20))
def test_two_by_two_eigen_matches_lapack(seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(2, 2)) * 10.0 ** rng.integers(-3, 4)
    if seed % 5 == 0:
        a[0, 1] = a[1, 0] = 0.0  # already diagonal
    h = (a + a.T) / 2
    w, V = _eigh(h)
    w_ref = np.linalg.eigvalsh(h)
    np.testing.assert_allclose(w, w_ref, rtol=1e-12, atol=1e-14 * np.max(np.abs(w_ref)))
    np.testing.assert_allclose(V @ np.diag(w) @ V.T, h, atol=1e-13 * np.max(np.abs(h)))
    np.testing.assert_allclose(V.T @ V, np.eye(2), atol=1e-14)


@pytest.mark.parametrize("n", [2, 3, 5])
@pytest.mark.parametrize("seed", range(12))
def test_trust_region_step_minimises_the_model(n, seed):
    """The subproblem's step lies in the region and no point of the region does better
    (random positive definite, indefinite and hard-case models against random samples)."""
    rng = np.random.default_rng(100 * n + seed)
    w = rng.normal(size=n) * 3
    if seed % 3 == 0:
        w = np.abs(w) + 0.1  # positive definite
    V, _ = np.linalg.qr(rng.normal(size=(n, n)))
    hess = V @ np.diag(w) @ V.T
    hess = (hess + hess.T) / 2
    g = rng.normal(size=n)
    if seed % 4 == 1:  # hard case: no gradient along the most negative curvature
        g -= V[:, np.argmin(w)] * (V[:, np.argmin(w)] @ g)
    radius = float(rng.uniform(0.1, 2.0))
    p = _subproblem(g, hess, radius)

    def model(s):
        return s @ g + 0.5 * np.einsum("...i,ij,...j->...", s, hess, s)

    assert np.linalg.norm(p) <= radius * (1 + 1e-8)
    samples = rng.normal(size=(4000, n))
    samples *= (radius * rng.uniform(0, 1, (4000, 1)) ** (1 / n)) / np.linalg.norm(
        samples, axis=1, keepdims=True
    )
    assert model(p) <= np.min(model(samples)) + 1e-10 * max(1.0, abs(model(p)))


@pytest.mark.parametrize("start", [(-1.2, 1.0), (0.02, 0.02), (3.0, -2.0)])
def test_trust_region_newton_solves_rosenbrock(start):
    """An indefinite, badly scaled function (Rosenbrock's valley) from far-off starts."""
    from ipdma.models._trust_newton import trust_newton_minimize

    def fun(z):
        a, b = z
        value = (1 - a) ** 2 + 100 * (b - a * a) ** 2
        grad = np.array([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)])
        hess = np.array([[2 - 400 * (b - 3 * a * a), -400 * a], [-400 * a, 200.0]])
        return value, grad, hess

    z, f, nfev = trust_newton_minimize(fun, np.array(start), gtol=1e-10)
    np.testing.assert_allclose(z, [1.0, 1.0], atol=1e-8)
    assert f < 1e-16 and nfev < 100
