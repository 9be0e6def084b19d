"""The O(K) pieces of the linear engine (issue 19) against their dense equivalents.

- the analytic Hessian block of the deviance in the log residual-variance ratios
  (``_satterthwaite_hessian``) against central differences of the analytic gradient;
- the Satterthwaite df from the structured (Woodbury + Schur) inverse against the dense
  eigendecomposition, Newton-CG's preconditioner against the inverse of the differenced
  Hessian, its O(K) Hessian (products, inverse, refusal where indefinite or flat; the
  assembled matrix against differences of the gradient), and BFGS against Newton-CG;
- the sparse fixed design built directly as CSC (large data) against the dense design.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from tests.models.test_linear_engine import PAPER, simulate_ipd
from tests.tolerances import (
    LMM_FIXEF_RTOL,
    LMM_FORWARD_HESSIAN_RTOL,
    LMM_GRADIENT_RTOL,
    LMM_LOGLIK_ABOVE_ATOL,
    LMM_LOGLIK_RTOL,
    LMM_STRUCTURED_RTOL,
)

import ipdma
import ipdma.models._design as design_module
import ipdma.models._satterthwaite as satterthwaite
from ipdma.errors import SingularFitWarning
from ipdma.models._formula import build_design, parse_formula
from ipdma.models._linear_checks import own_variance
from ipdma.models._linear_criterion import Criterion
from ipdma.models._linear_stats import trial_stats
from ipdma.models._newton_cg import ArrowHessian
from ipdma.models._satterthwaite import _gradient_unprofiled
from ipdma.models._satterthwaite_hessian import profiled_rho_solver, rho_block

FORMULAS = [
    PAPER,
    "y ~ base + treat + (1 + treat | trial)",
    "y ~ 0 + C(trial) + C(trial):base + treat + (treat || trial)",
]


def _criterion(formula: str, reml: bool, seed: int = 5):
    data, _ = simulate_ipd(seed, n_trials=7, size=(15, 40), tau_treat=4.0, tau_base=0.3)
    design = build_design(parse_formula(formula), data)
    stats = trial_stats(design)
    own = own_variance(design, stats)
    return Criterion(stats, design.re_blocks, reml=reml, stratified=True, own_variance=own)


def _point(crit: Criterion, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    nt = crit.n_theta
    return np.concatenate([rng.uniform(0.1, 0.6, nt), rng.normal(0, 0.3, crit.n_params - nt)])


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("formula", FORMULAS)
def test_ratio_hessian_matches_differences_of_the_gradient(formula, reml):
    """Harville's second derivatives in log rho (unprofiled sigma) vs central differences."""
    crit = _criterion(formula, reml)
    x = _point(crit)
    nt = crit.n_theta
    sigma = 4.0
    v = np.concatenate([x[:nt], [sigma], x[nt:]])
    analytic = rho_block(crit, crit.core(x), sigma).dense()
    step = 1e-5
    numeric = np.column_stack(
        [
            (_gradient_unprofiled(crit, v + step * e) - _gradient_unprofiled(crit, v - step * e))
            / (2 * step)
            for e in np.eye(len(v))[nt + 1 :]
        ]
    )[nt + 1 :]
    scale = np.max(np.abs(numeric))
    np.testing.assert_allclose(analytic, numeric, rtol=LMM_GRADIENT_RTOL, atol=1e-7 * scale)


@pytest.mark.parametrize("reml", [True, False])
def test_profiled_ratio_solver_inverts_differences_of_the_profiled_gradient(reml):
    """Newton-CG's preconditioner: the inverse of the Hessian block of the profiled deviance
    (sigma profiled out: one more rank-1 term), applied in O(K) by the Woodbury identity."""
    crit = _criterion(PAPER, reml)
    x = _point(crit)
    nt = crit.n_theta
    step = 1e-5
    numeric = np.column_stack(
        [
            (crit.fun_and_grad(x + step * e)[1] - crit.fun_and_grad(x - step * e)[1]) / (2 * step)
            for e in np.eye(len(x))[nt:]
        ]
    )[nt:]
    solve = profiled_rho_solver(crit, x)
    assert solve is not None
    rhs = np.random.default_rng(4).normal(size=len(numeric))
    np.testing.assert_allclose(numeric @ solve(rhs), rhs, rtol=LMM_GRADIENT_RTOL, atol=1e-4)


@pytest.mark.parametrize("reml", [True, False])
def test_structured_satterthwaite_equals_the_dense_eigendecomposition(monkeypatch, reml):
    """Woodbury + Schur complement (used above STRUCTURED_MIN_RHO ratios) give the df the
    dense pseudo-inverse gives (the Hessian is safely positive definite here)."""
    data, _ = simulate_ipd(13, n_trials=14, size=(40, 90), tau_treat=6.0, tau_base=0.4)
    fit_dense = ipdma.mixed(PAPER, data, residual="stratified", reml=reml)
    used = []
    original = satterthwaite._structured_denominators

    def spy(*args, **kwargs):
        out = original(*args, **kwargs)
        used.append(out is not None)
        return out

    monkeypatch.setattr(satterthwaite, "STRUCTURED_MIN_RHO", 5)
    monkeypatch.setattr(satterthwaite, "_structured_denominators", spy)
    fit = ipdma.mixed(PAPER, data, residual="stratified", reml=reml)
    assert used == [True]
    np.testing.assert_allclose(fit.df.to_numpy(), fit_dense.df.to_numpy(), rtol=LMM_STRUCTURED_RTOL)
    assert fit.details["varpar_hessian_eigenvalues"][0] > 0  # the bound on the smallest


def test_sparse_design_and_statistics_equal_the_dense_ones(monkeypatch):
    """Above _SPARSE_ROWS the fixed design is built as CSC directly; the matrix, the names
    and the per-trial statistics equal the dense build's, with missing values dropped."""
    data, _ = simulate_ipd(9, n_trials=12, size=(30, 60))
    data.loc[[2, 40], "base"] = np.nan
    data.loc[7, "trial"] = None
    formula = "y ~ 1 + C(trial) + base + base:treat + treat + (1 + treat | trial)"
    parsed = parse_formula(formula)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dense = build_design(parsed, data)
        monkeypatch.setattr(design_module, "_SPARSE_ROWS", 10)
        sparse = build_design(parsed, data)
    assert not hasattr(dense.fixed_matrix, "tocsc") and hasattr(sparse.fixed_matrix, "tocsc")
    np.testing.assert_array_equal(sparse.fixed_matrix.toarray(), dense.fixed_matrix)
    assert sparse.fixed_names == dense.fixed_names
    a, b = trial_stats(dense), trial_stats(sparse)
    for name in ("ZtZ", "ZtU", "UtU", "local_index", "global_index"):
        np.testing.assert_array_equal(getattr(b, name), getattr(a, name))


def test_small_problem_optimizer_agrees_with_newton_cg(monkeypatch):
    """27 trials: BFGS (forced by raising the threshold) and trust-region Newton with the
    O(K) Hessian (the default) reach the same optimum."""
    import ipdma.models._linear as linear

    data, _ = simulate_ipd(10, n_trials=27, size=(60, 200), tau_treat=3.0, tau_base=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingularFitWarning)
        cg = ipdma.mixed(PAPER, data, residual="stratified")
        monkeypatch.setattr(linear, "NEWTON_CG_MIN_PARAMS", 10_000)
        newton = ipdma.mixed(PAPER, data, residual="stratified")
    assert newton.converged and cg.converged
    assert newton.loglik >= cg.loglik - LMM_LOGLIK_ABOVE_ATOL
    assert newton.loglik == pytest.approx(cg.loglik, rel=LMM_LOGLIK_RTOL)
    np.testing.assert_allclose(newton.fixef.to_numpy(), cg.fixef.to_numpy(), rtol=LMM_FIXEF_RTOL)


def _arrow(seed: int, nd: int, nr: int, r: int, shift: float):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(nr, r)) / (3 * np.sqrt(nr))
    d = rng.uniform(1.0, 3.0, nr) + shift
    cross = rng.normal(size=(nr, nd)) * 0.1
    a = rng.normal(size=(nd, nd))
    return ArrowHessian(dense=a @ a.T + nd * np.eye(nd), cross=cross, d=d, W=W)


def _dense_arrow(h: ArrowHessian) -> np.ndarray:
    nd = h.dense.shape[0]
    out = np.zeros((nd + len(h.d),) * 2)
    out[:nd, :nd] = h.dense
    out[nd:, :nd] = h.cross
    out[:nd, nd:] = h.cross.T
    out[nd:, nd:] = np.diag(h.d) - h.W @ h.W.T
    return out


@pytest.mark.parametrize("nd", [0, 1, 3])
def test_arrow_hessian_products_and_inverse_equal_the_dense_matrix(nd):
    """Newton-CG's O(K) Hessian: products and the block-elimination inverse (Woodbury for the
    ratio block, Schur complement of the theta block) equal the dense matrix's."""
    h = _arrow(1, nd, 40, 5, 0.0)
    dense = _dense_arrow(h)
    v = np.random.default_rng(2).normal(size=len(dense))
    np.testing.assert_allclose(h.matvec(v), dense @ v, rtol=LMM_STRUCTURED_RTOL, atol=1e-12)
    solve = h.inverse()
    assert solve is not None
    np.testing.assert_allclose(
        solve(v), np.linalg.solve(dense, v), rtol=LMM_STRUCTURED_RTOL, atol=1e-12
    )


def test_arrow_hessian_refuses_an_indefinite_or_flat_matrix():
    """No exact inverse where H is indefinite (the ratio block or the Schur complement) or a
    theta direction has no curvature (a random effect the fixed part absorbs); the block
    preconditioner then stays positive definite and bounded."""
    indefinite = _arrow(3, 2, 30, 4, -2.5)
    assert np.linalg.eigvalsh(_dense_arrow(indefinite))[0] < 0
    assert indefinite.inverse() is None
    h = _arrow(4, 2, 30, 4, 0.0)
    flat = ArrowHessian(dense=np.diag([5.0, 0.0]), cross=np.zeros_like(h.cross), d=h.d, W=h.W)
    assert flat.inverse() is None
    precondition = flat.block_preconditioner(lambda r: r.copy())
    matrix = np.column_stack([precondition(e) for e in np.eye(2 + len(h.d))])
    assert np.all(np.isfinite(matrix))
    assert np.linalg.eigvalsh((matrix + matrix.T) / 2)[0] > 0


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("formula", FORMULAS[:2])
def test_newton_hessian_equals_differences_of_the_gradient(monkeypatch, formula, reml):
    """The Hessian the stratified optimizer builds (exact ratio block, theta columns by
    forward differences; scaled units) equals central differences of the scaled gradient."""
    import ipdma.models._linear as linear

    crit = _criterion(formula, reml)
    x = _point(crit)
    built = []

    def capture(fun, z0, n_dense, weights, *, gtol, hessian):
        f, g = fun(z0)
        arrow, used = hessian(z0, g)
        assert used == n_dense == crit.n_theta
        step = 1e-5
        numeric = np.column_stack(
            [(fun(z0 + step * e)[1] - fun(z0 - step * e)[1]) / (2 * step) for e in np.eye(len(z0))]
        )
        built.append((_dense_arrow(arrow), numeric))
        return z0, f, 1

    monkeypatch.setattr(linear, "newton_cg_minimize", capture)
    monkeypatch.setattr(linear, "NEWTON_MAX_PARAMS", 2)  # 7 trials: 8 parameters
    monkeypatch.setattr(linear, "NEWTON_CG_MIN_PARAMS", 2)
    linear._minimize(crit, x, np.zeros(len(x), dtype=bool))
    ((analytic, numeric),) = built
    scale = np.max(np.abs(numeric))
    np.testing.assert_allclose(analytic, numeric, rtol=LMM_FORWARD_HESSIAN_RTOL, atol=1e-6 * scale)
