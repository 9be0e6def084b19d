"""Planted truth, and the trial-local (arrow) Newton against a plain dense Newton."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from tests.tolerances import GLMM_PLANTED_Z

import ipdma
from ipdma.models import build_design, parse_formula
from ipdma.models._aghq import BinomialData, hermite_grid
from ipdma.models._logistic_design import prepare
from ipdma.models._logistic_newton import _Problem, glm_start, maximize


def simulate(seed: int, *, trials: int, per_trial: int, log_or: float, tau: float):
    rng = np.random.default_rng(seed)
    n = trials * per_trial
    idx = np.repeat(np.arange(trials), per_trial)
    intercept = rng.normal(-0.5, 0.7, trials)[idx]
    effect = (log_or + tau * rng.normal(size=trials))[idx]
    treat = rng.integers(0, 2, n)
    base = rng.normal(size=n)
    eta = intercept - 0.4 * base + effect * treat
    return pd.DataFrame(
        {
            "trial": [f"s{i:02d}" for i in idx],
            "treat": treat,
            "base": base,
            "rec": rng.binomial(1, 1 / (1 + np.exp(-eta))),
        }
    )


@pytest.mark.parametrize("seed", [101, 102])
def test_recovers_planted_odds_ratio(seed):
    log_or, tau = np.log(1.8), 0.3
    data = simulate(seed, trials=40, per_trial=250, log_or=log_or, tau=tau)
    result = ipdma.mixed(
        "rec ~ 0 + C(trial) + base + treat + (0 + treat | trial)", data, family="binomial"
    )
    assert result.converged and result.method == "AGHQ(7)"
    assert abs(result.fixef["treat"] - log_or) < GLMM_PLANTED_Z * result.se["treat"]
    assert abs(result.fixef["base"] + 0.4) < GLMM_PLANTED_Z * result.se["base"]
    odds_ratio = result.tidy(exponentiate=True).set_index("term").loc["treat"]
    assert odds_ratio.ci_low < 1.8 < odds_ratio.ci_high
    sd = result.varcomp["sd"].iloc[0]
    assert 0.1 < sd < 0.6  # tau = 0.3 from 40 trials (its SE is about 0.08)


def test_planted_null_heterogeneity_is_a_boundary_or_small():
    data = simulate(7, trials=30, per_trial=200, log_or=0.5, tau=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = ipdma.mixed(
            "rec ~ 0 + C(trial) + base + treat + (0 + treat | trial)", data, family="binomial"
        )
    assert result.converged
    assert result.varcomp["sd"].iloc[0] < 0.25
    assert abs(result.fixef["treat"] - 0.5) < GLMM_PLANTED_Z * result.se["treat"]


@pytest.mark.parametrize(
    "formula",
    [
        "rec ~ 0 + C(trial) + base + treat + (0 + treat | trial)",
        "rec ~ 0 + C(trial) + C(trial):base + treat + (0 + treat | trial)",
    ],
)
def test_arrow_newton_equals_dense_newton(formula):
    """Trial-local columns are found automatically; eliminating them changes nothing."""
    data = simulate(5, trials=6, per_trial=60, log_or=0.6, tau=0.4)
    design = build_design(parse_formula(formula), data)
    prep = prepare(design)
    K = design.ngroups
    m = 2 if "C(trial):base" in formula else 1
    assert prep.local_index.shape == (K, m) and (prep.local_index >= 0).all()
    assert len(prep.shared_index) == len(design.fixed_names) - K * m

    nodes, logw = hermite_grid(5, 1)
    arrow = _Problem(prep.data, nodes, logw, prep.local_index >= 0)
    beta0, alpha0 = glm_start(arrow)
    fit_arrow = maximize(arrow, np.r_[beta0, 0.5], alpha0)

    # the same model with every column shared (no trial-local elimination)
    order = np.r_[prep.shared_index, prep.local_index.T.ravel()]
    dense_data = BinomialData(
        y=prep.data.y,
        size=prep.data.size,
        X=design.X[:, order],
        Z=prep.data.Z,
        starts=prep.data.starts,
        trial_index=prep.data.trial_index,
        n_shared=len(order),
        lam_rows=prep.data.lam_rows,
        lam_cols=prep.data.lam_cols,
    )
    dense = _Problem(dense_data, nodes, logw, np.zeros((K, 0), dtype=bool))
    fit_dense = maximize(dense, np.r_[np.zeros(len(order)), 0.5], np.zeros((K, 0)))

    assert fit_arrow.evaluation.loglik.sum() == pytest.approx(
        fit_dense.evaluation.loglik.sum(), abs=1e-8
    )
    ps = len(prep.shared_index)
    np.testing.assert_allclose(fit_arrow.theta[:ps], fit_dense.theta[:ps], atol=1e-6)
    local_dense = fit_dense.theta[ps : ps + K * m].reshape(m, K).T
    np.testing.assert_allclose(fit_arrow.alpha, local_dense, atol=1e-6)
    assert abs(fit_arrow.theta[-1]) == pytest.approx(abs(fit_dense.theta[-1]), abs=1e-6)


def test_estimates_and_ses_are_equivariant_to_covariate_scale():
    """Rescaling a covariate (e.g. years instead of decades) rescales its coefficient/SE."""
    data = simulate(9, trials=12, per_trial=150, log_or=0.5, tau=0.8)
    scaled = data.assign(base=50 + 20 * data.base)
    formula = "rec ~ 0 + C(trial) + base + treat + (0 + treat | trial)"
    unit = ipdma.mixed(formula, data, family="binomial", nagq=5)
    wide = ipdma.mixed(formula, scaled, family="binomial", nagq=5)
    assert wide.loglik == pytest.approx(unit.loglik, abs=1e-7)
    assert 20 * wide.fixef["base"] == pytest.approx(unit.fixef["base"], rel=1e-6)
    assert 20 * wide.se["base"] == pytest.approx(unit.se["base"], rel=1e-5)
    assert wide.se["treat"] == pytest.approx(unit.se["treat"], rel=1e-5)


def test_rows_with_missing_values_are_dropped_and_reported():
    data = simulate(11, trials=5, per_trial=80, log_or=0.5, tau=0.8)
    data.loc[data.index[:3], "base"] = np.nan
    with pytest.warns(ipdma.errors.DataWarning, match="3 of 400 rows dropped"):
        result = ipdma.mixed(
            "rec ~ 0 + C(trial) + base + treat + (0 + treat | trial)",
            data,
            family="binomial",
            nagq=3,
        )
    assert result.nobs == 397 and result.dropped.loc["s00"] == 3 and result.converged


def test_unverified_optimum_warns_and_says_what_failed(monkeypatch):
    import ipdma.models._logistic as logistic

    monkeypatch.setattr(logistic, "GRADIENT_TOL", 0.0)  # no gradient can pass this check
    data = simulate(13, trials=6, per_trial=100, log_or=0.5, tau=0.8)
    with pytest.warns(ipdma.errors.ConvergenceWarning, match="could not be verified"):
        result = ipdma.mixed(
            "rec ~ 0 + C(trial) + base + treat + (0 + treat | trial)",
            data,
            family="binomial",
            nagq=3,
        )
    assert not result.converged and "max |gradient|" in result.convergence
    assert any("could not be verified" in w for w in result.warnings)
