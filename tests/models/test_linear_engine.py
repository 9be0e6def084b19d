"""The linear engine checked against brute force, finite differences and planted truths."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
from tests.tolerances import (
    LMM_DENSE_RTOL,
    LMM_FIXEF_RTOL,
    LMM_GRADIENT_RTOL,
    LMM_LOGLIK_ABOVE_ATOL,
    LMM_LOGLIK_RTOL,
    LMM_NLME_SIGMA_RTOL,
    LMM_PLANTED_Z,
    LMM_SE_RTOL,
)

import ipdma
from ipdma.errors import ConvergenceWarning, SingularFitWarning
from ipdma.models._formula import build_design, parse_formula
from ipdma.models._linear_criterion import Criterion
from ipdma.models._linear_stats import trial_stats
from ipdma.models._satterthwaite import full_h_inverse, variance_jacobian

PAPER = "y ~ 0 + C(trial) + base + treat + (0 + treat | trial) + (0 + base | trial)"


def simulate_ipd(seed: int, n_trials: int = 30, size=(40, 160), *, tau_treat=2.0, tau_base=0.1):
    """IPD-MA data with planted effects: treat -5, base 0.5, trial intercepts, SDs 10-20."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(size[0], size[1], n_trials)
    trial = np.repeat([f"s{i:03d}" for i in range(n_trials)], sizes)
    idx = np.repeat(np.arange(n_trials), sizes)
    n = len(trial)
    intercept = rng.normal(20, 5, n_trials)
    slope = 0.5 + rng.normal(0, tau_base, n_trials)
    effect = -5 + rng.normal(0, tau_treat, n_trials)
    sd = rng.uniform(10, 20, n_trials)
    base = rng.normal(60, 15, n)
    treat = np.concatenate([rng.permutation(np.arange(k) % 2) for k in sizes]).astype(float)
    y = intercept[idx] + slope[idx] * base + effect[idx] * treat + rng.normal(0, sd[idx])
    frame = pd.DataFrame({"trial": trial, "y": y, "base": base, "treat": treat})
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True), sd


def _dense_criterion(design, theta, log_rho, reml):
    """-2 log L (profiled sigma^2) with the full n x n covariance matrix: the textbook way."""
    X, Z, y, g = design.X, design.Z, design.y, design.group
    q = Z.shape[1]
    lam = np.zeros((q, q))
    rows, cols = [], []
    for block in design.re_blocks:
        for c in range(len(block)):
            for r in range(c, len(block)):
                rows.append(block[r])
                cols.append(block[c])
    lam[rows, cols] = theta
    D = lam @ lam.T
    same = g[:, None] == g[None, :]
    V0 = np.where(same, Z @ D @ Z.T, 0.0) + np.diag(np.exp(log_rho)[g])
    Vinv = np.linalg.inv(V0)
    H = X.T @ Vinv @ X
    beta = np.linalg.solve(H, X.T @ Vinv @ y)
    r = y - X @ beta
    r2 = r @ Vinv @ r
    n, p = X.shape
    dof = n - p if reml else n
    dev = np.linalg.slogdet(V0)[1] + dof * (1 + np.log(2 * np.pi * r2 / dof))
    if reml:
        dev += np.linalg.slogdet(H)[1]
    return dev


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("stratified", [False, True])
@pytest.mark.parametrize(
    "formula",
    [
        PAPER,
        "y ~ base + treat + (1 + treat | trial)",
        "y ~ 0 + C(trial) + C(trial):base + treat + (treat || trial)",
    ],
)
def test_criterion_and_gradient_match_brute_force(formula, stratified, reml):
    data, _ = simulate_ipd(3, n_trials=5, size=(8, 20))
    design = build_design(parse_formula(formula), data)
    stats = trial_stats(design)
    crit = Criterion(stats, design.re_blocks, reml=reml, stratified=stratified)
    rng = np.random.default_rng(1)
    x = np.concatenate(
        [rng.uniform(0.05, 0.8, crit.n_theta), rng.normal(0, 0.3, crit.n_params - crit.n_theta)]
    )
    dev, grad = crit.fun_and_grad(x)
    expected = _dense_criterion(design, x[: crit.n_theta], crit.log_rho(x), reml)
    assert dev == pytest.approx(expected, rel=LMM_DENSE_RTOL)
    step = 1e-6
    numeric = [
        (crit.fun_and_grad(x + step * e)[0] - crit.fun_and_grad(x - step * e)[0]) / (2 * step)
        for e in np.eye(len(x))
    ]
    np.testing.assert_allclose(grad, numeric, rtol=LMM_GRADIENT_RTOL, atol=1e-5)


def test_trial_local_columns_are_detected_and_eliminated():
    data, _ = simulate_ipd(5, n_trials=6)
    design = build_design(
        parse_formula("y ~ 0 + C(trial) + C(trial):base + treat + (0 + treat | trial)"), data
    )
    stats = trial_stats(design)
    assert stats.m == 2 and stats.pg == 1  # intercept and slope per trial; treat is global
    treat = design.fixed_names.index("treat")
    assert list(stats.global_index) == [treat]
    assert sorted(stats.local_index.ravel()) == [j for j in range(13) if j != treat]


def test_parameterisation_of_intercepts_does_not_change_the_fit():
    """Stratified intercepts coded as 0 + C(trial) (all trial-local) or 1 + C(trial) (one
    global column): same model, so the same estimates and ML log-likelihood."""
    data, _ = simulate_ipd(11, n_trials=12, tau_treat=5.0, tau_base=0.3)
    # this ML likelihood also has a local maximum at zero variances (deviance 21.8 higher):
    # both fits say so with a ConvergenceWarning and keep the better optimum
    with pytest.warns(ConvergenceWarning, match="more than one local maximum"):
        full = ipdma.mixed(PAPER, data, reml=False)
    with pytest.warns(ConvergenceWarning, match="more than one local maximum"):
        reduced = ipdma.mixed(PAPER.replace("0 + C(trial)", "1 + C(trial)"), data, reml=False)
    assert full.converged and reduced.converged and "different local optima" in full.convergence
    assert full.loglik == pytest.approx(reduced.loglik, rel=1e-10)
    for term in ("treat", "base"):
        assert full.fixef[term] == pytest.approx(reduced.fixef[term], rel=1e-6)
        assert full.se[term] == pytest.approx(reduced.se[term], rel=1e-6)
        assert full.df[term] == pytest.approx(reduced.df[term], rel=1e-4)


@pytest.mark.parametrize("residual", ["common", "stratified"])
def test_planted_truth_is_recovered(residual):
    data, sd = simulate_ipd(2020, n_trials=30, tau_treat=2.0)
    fit = ipdma.mixed(PAPER, data, residual=residual)
    assert fit.converged and not fit.singular
    for term, truth in (("treat", -5.0), ("base", 0.5)):
        z = (fit.fixef[term] - truth) / fit.se[term]
        assert abs(z) < LMM_PLANTED_Z, f"{term}: z = {z:.2f}"
    assert 3 < fit.df["treat"] < 60  # Satterthwaite: driven by the number of trials
    if residual == "stratified":
        ratio = fit.sigma.to_numpy() / sd
        assert np.all(np.abs(ratio - 1) < 0.35)
        assert np.median(np.abs(ratio - 1)) < 0.1


def test_many_trials_with_stratified_intercepts():
    data, _ = simulate_ipd(8, n_trials=400, size=(6, 14), tau_treat=5.0, tau_base=0.3)
    fit = ipdma.mixed(PAPER, data)
    assert fit.details["n_local_fixed"] == 400 and len(fit.fixef) == 402
    assert fit.converged
    assert np.all(np.isfinite(fit.se)) and np.all(fit.df > 0)


def test_stratified_residuals_of_many_trials_newton_cg_matches_bfgs(monkeypatch):
    """150 trials: the trust-region Newton-CG (O(K) per step, issue 19) reaches the optimum
    BFGS reaches (BFGS forced by raising the threshold), and recovers the planted SDs."""
    import ipdma.models._linear as linear
    import ipdma.models._newton_cg as newton_cg

    data, sd = simulate_ipd(19, n_trials=150, size=(30, 60), tau_treat=2.0, tau_base=0.1)
    calls = []
    original = newton_cg.newton_cg_minimize

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(linear, "newton_cg_minimize", counted)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingularFitWarning)
        fit = ipdma.mixed(PAPER, data, residual="stratified")
        assert calls, "the Newton-CG path was not taken"
        monkeypatch.setattr(linear, "NEWTON_CG_MIN_PARAMS", 10_000)
        calls.clear()
        bfgs = ipdma.mixed(PAPER, data, residual="stratified")
        assert not calls
    assert fit.converged and bfgs.converged
    assert fit.loglik >= bfgs.loglik - LMM_LOGLIK_ABOVE_ATOL
    assert fit.loglik == pytest.approx(bfgs.loglik, rel=LMM_LOGLIK_RTOL)
    for term in ("treat", "base"):
        assert fit.fixef[term] == pytest.approx(bfgs.fixef[term], rel=LMM_FIXEF_RTOL)
        assert fit.se[term] == pytest.approx(bfgs.se[term], rel=LMM_SE_RTOL)
    np.testing.assert_allclose(
        fit.sigma.to_numpy(), bfgs.sigma.to_numpy(), rtol=LMM_NLME_SIGMA_RTOL
    )
    assert np.median(np.abs(fit.sigma.to_numpy() / sd - 1)) < 0.15


def test_result_is_immutable_and_tidy():
    data, _ = simulate_ipd(4, n_trials=10, tau_treat=5.0, tau_base=0.3)
    fit = ipdma.mixed(PAPER, data)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fit.loglik = 0.0
    tidy = fit.tidy()
    assert list(tidy.columns) == [
        "term",
        "estimate",
        "se",
        "df",
        "statistic",
        "p",
        "ci_low",
        "ci_high",
    ]
    row = tidy.set_index("term").loc["treat"]
    assert row["statistic"] == pytest.approx(row["estimate"] / row["se"])
    assert fit.to_frame().equals(tidy)
    wald = fit.confint(method="wald")
    satt = fit.confint(0.95, method="satterthwaite")
    assert (satt["ci_high"] - satt["ci_low"] > wald["ci_high"] - wald["ci_low"]).all()
    assert satt.loc["treat", "ci_low"] == pytest.approx(row["ci_low"])
    text = str(fit.summary())
    assert "Converged:" in text and "treat" in text and "gradient" in text
    assert "<table" in fit._repr_html_()
    assert set(fit.varcomp.columns) == {"group", "term1", "term2", "variance", "sd", "corr"}
    assert list(fit.ranef.columns) == ["treat", "base"] and len(fit.ranef) == 10
    assert "second start" in fit.convergence
    with pytest.raises(ipdma.IpdmaError, match="method"):
        fit.confint(method="profile")


def test_confint_and_tidy_agree_by_default_and_results_are_read_only():
    """Issue 12: one documented inference (Satterthwaite t for linear models); another
    choice is explicit; every array of a result refuses assignment."""
    data, _ = simulate_ipd(4, n_trials=6, tau_treat=5.0, tau_base=0.3)
    fit = ipdma.mixed(PAPER, data)
    tidy = fit.tidy(level=0.9).set_index("term")
    default = fit.confint(0.9)
    np.testing.assert_array_equal(default["ci_low"], tidy["ci_low"])
    np.testing.assert_array_equal(default["ci_high"], tidy["ci_high"])
    assert np.isfinite(tidy.loc["treat", "df"]) and tidy.loc["treat", "df"] < 10
    wald = fit.confint(0.9, method="wald")
    assert wald.loc["treat", "ci_high"] - wald.loc["treat", "ci_low"] < (
        default.loc["treat", "ci_high"] - default.loc["treat", "ci_low"]
    )
    z = fit.tidy(level=0.9, method="wald").set_index("term")
    np.testing.assert_array_equal(z["ci_low"], wald["ci_low"])
    assert np.isinf(z["df"]).all()
    assert fit.diagnostics is not None and fit.diagnostics.converged == fit.converged
    assert fit.diagnostics.gradient_max < 1e-2
    assert fit.diagnostics.restart_loglik_difference >= 0
    before = float(fit.fixef["treat"])
    for assign in (
        lambda: fit.fixef.__setitem__("treat", 0.0),
        lambda: fit.fixef.loc.__setitem__("treat", 0.0),
        lambda: fit.se.iloc.__setitem__(0, 0.0),
        lambda: fit.vcov.loc.__setitem__(("treat", "treat"), 0.0),
        lambda: fit.varcomp.__setitem__("sd", 0.0),
        lambda: fit.ranef.iat.__setitem__((0, 0), 0.0),
    ):
        with pytest.raises(TypeError, match="read-only"):
            assign()
    with pytest.raises(ValueError, match="read-only"):
        fit.fixef.to_numpy()[0] = 1.0
    assert float(fit.fixef["treat"]) == before
    assert fit.tidy().set_index("term").loc["treat", "estimate"] == before
    copy = fit.fixef.copy()
    copy["treat"] = 0.0  # a copy is an ordinary Series
    assert float(fit.fixef["treat"]) == before


def test_singular_fit_converges_cleanly():
    data, _ = simulate_ipd(15, n_trials=8, tau_treat=0.0, tau_base=0.0)
    with pytest.warns(SingularFitWarning, match="'treat', 'base'"):
        fit = ipdma.mixed(PAPER, data)
    assert fit.singular and fit.converged
    assert np.all(fit.details["theta"] == 0)
    assert (fit.varcomp["variance"][fit.varcomp["group"] == "trial"] == 0).all()
    assert np.all(fit.ranef.to_numpy() == 0)


@pytest.mark.parametrize("stratified", [False, True])
def test_satterthwaite_jacobian_matches_finite_differences(stratified):
    """The analytic d Var(beta_j) / d (theta, sigma, log rho) used for Satterthwaite df (the
    stratified case has no R reference) against central differences of sigma^2 H^{-1}."""
    data, _ = simulate_ipd(6, n_trials=5, size=(10, 25), tau_treat=5.0, tau_base=0.3)
    design = build_design(parse_formula(PAPER), data)
    crit = Criterion(trial_stats(design), design.re_blocks, reml=True, stratified=stratified)
    rng = np.random.default_rng(2)
    nt = crit.n_theta
    x = np.concatenate([rng.uniform(0.1, 0.5, nt), rng.normal(0, 0.3, crit.n_params - nt)])
    sigma = 3.0

    def variances(v):
        core = crit.core(np.concatenate([v[:nt], v[nt + 1 :]]))
        return v[nt] ** 2 * np.diag(full_h_inverse(crit, core))

    v = np.concatenate([x[:nt], [sigma], x[nt:]])
    core = crit.core(x)
    analytic = variance_jacobian(crit, core, sigma, full_h_inverse(crit, core))
    step = 1e-6
    numeric = np.column_stack(
        [(variances(v + step * e) - variances(v - step * e)) / (2 * step) for e in np.eye(len(v))]
    )
    np.testing.assert_allclose(analytic, numeric, rtol=LMM_GRADIENT_RTOL, atol=1e-7)


def test_many_trials_with_stratified_residuals():
    data, sd = simulate_ipd(12, n_trials=150, size=(20, 60), tau_treat=5.0, tau_base=0.3)
    fit = ipdma.mixed(PAPER, data, residual="stratified")
    assert fit.converged and len(fit.sigma) == 150
    assert np.median(np.abs(fit.sigma.to_numpy() / sd - 1)) < 0.15
    assert np.isfinite(fit.df["treat"]) and fit.df["treat"] > 10


def test_unverified_optimum_is_reported(monkeypatch):
    """If the optimizer stops early, the gradient check catches it: converged is False and a
    ConvergenceWarning says what failed (the check is not the optimizer's own flag)."""
    from ipdma.models import _linear

    def stop_at_start(crit, x0):
        return x0, crit.fun_and_grad(x0)[0], 1

    monkeypatch.setattr(_linear, "_optimum", stop_at_start)
    data, _ = simulate_ipd(4, n_trials=10, tau_treat=5.0, tau_base=0.3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = ipdma.mixed(PAPER, data)
    messages = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert any("could not be verified" in m for m in messages)
    assert not fit.converged
    assert "Converged:                    NO" in str(fit.summary())
