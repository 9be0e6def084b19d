"""Boundary (zero-variance) fits: verified by a held re-fit and a one-sided check, not the gradient.

Fixture: ``tests/reference/glmm_ipd_boundary.csv`` (``glmm_boundary_make.py``; from the simulated
consortium, seed 13), fitted by ``glmm_boundary.R`` with glmer (Laplace and nAGQ = 25; both
singular, theta = 0) and glmmTMB. Before the boundary verification this fit reported
converged=False (max |gradient| 3.1e-4 against the 1e-4 criterion).
"""

from __future__ import annotations

import functools
import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.tolerances import (
    GLMM_FIXEF_RTOL,
    GLMM_LOGLIK_ABOVE_ATOL,
    GLMM_LOGLIK_RTOL,
    GLMM_SE_RTOL,
    GLMM_TMB_SE_RTOL,
)

import ipdma
import ipdma.models._logistic as logistic
from ipdma.errors import ConvergenceWarning, SingularFitWarning
from ipdma.models import build_design, parse_formula
from ipdma.models._aghq import hermite_grid
from ipdma.models._logistic_boundary import boundary_parameters, verify_boundary
from ipdma.models._logistic_design import prepare
from ipdma.models._logistic_newton import _Problem, glm_start, maximize

REF = Path(__file__).parents[1] / "reference"
FORMULA = "recovery ~ 0 + C(trial) + function0 + treat + (0 + treat | trial)"


@cache
def reference() -> dict:
    with open(REF / "glmm_boundary.json") as fh:
        return json.load(fh)


@cache
def boundary_data() -> pd.DataFrame:
    return pd.read_csv(REF / "glmm_ipd_boundary.csv")


def heterogeneous(seed: int = 13) -> pd.DataFrame:
    """Six trials whose treatment effects differ (SD 0.8): the SD is clearly not 0."""
    rng = np.random.default_rng(seed)
    idx = np.repeat(np.arange(6), 100)
    treat = rng.integers(0, 2, idx.size)
    base = rng.normal(size=idx.size)
    eta = rng.normal(-0.5, 0.7, 6)[idx] - 0.4 * base + (0.5 + 0.8 * rng.normal(size=6))[idx] * treat
    rec = rng.binomial(1, 1 / (1 + np.exp(-eta)))
    return pd.DataFrame({"trial": [f"s{i}" for i in idx], "treat": treat, "base": base, "rec": rec})


def fit_recording(formula, data, **options):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = ipdma.mixed(formula, data, family="binomial", **options)
    return result, {w.category for w in caught}


def r_name(term: str) -> str:
    return term.replace("C(trial)[", "trial").rstrip("]")


@pytest.mark.parametrize(("nagq", "key"), [(1, "laplace"), (None, "laplace"), (25, "agq25")])
def test_boundary_fit_is_converged_singular_and_matches_glmer(nagq, key):
    ref = reference()[key]
    assert ref["singular"] and np.atleast_1d(ref["theta"]).tolist() == [0]
    result, categories = fit_recording(FORMULA, boundary_data(), nagq=nagq)
    assert result.converged and result.singular
    assert SingularFitWarning in categories and ConvergenceWarning not in categories
    assert result.convergence.startswith("boundary fit: sd(treat) held at 0")
    assert "one-sided check" in result.convergence
    assert result.details["theta"] == [0.0] and result.varcomp["sd"].iloc[0] == 0.0
    assert result.details["gradient_max"] < logistic.GRADIENT_TOL
    # at SD 0 every quadrature rule gives the same log-likelihood: glmer's at any nAGQ
    assert result.loglik == pytest.approx(ref["loglik"], rel=GLMM_LOGLIK_RTOL)
    assert result.loglik >= ref["loglik"] - GLMM_LOGLIK_ABOVE_ATOL
    ours = result.fixef.rename(r_name)[list(ref["fixef"])].to_numpy()
    glmer = np.array(list(ref["fixef"].values()))
    assert np.max(np.abs(ours - glmer) / np.maximum(np.abs(glmer), 1.0)) <= GLMM_FIXEF_RTOL
    for name in ("treat", "function0"):
        assert result.se[name] == pytest.approx(ref["se"][name], rel=GLMM_SE_RTOL)


@pytest.mark.parametrize("nagq", [1, None])
def test_boundary_fit_equals_the_logistic_regression_without_the_random_term(nagq):
    """At SD 0 the model is the logistic regression without the random term, whose information
    is the fixed-effects block of ours (the SD-coefficient couplings vanish at 0 by symmetry):
    an exact reference for estimates and SEs (glmmTMB stops at SD 2.6e-5, its SEs 1.7e-4 off).
    """
    glm = stratified_glm()
    result, _ = fit_recording(FORMULA, boundary_data(), nagq=nagq)
    assert result.converged and result.singular
    assert result.loglik == pytest.approx(glm.llf, rel=GLMM_LOGLIK_RTOL)
    assert_close(result.fixef, glm.params, GLMM_FIXEF_RTOL)
    assert_close(result.se, glm.bse, GLMM_TMB_SE_RTOL)


@cache
def stratified_glm():
    statsmodels = pytest.importorskip("statsmodels.api")
    frame = boundary_data()
    X = pd.get_dummies(frame["trial"], dtype=float).rename(columns=lambda t: f"C(trial)[{t}]")
    X[["function0", "treat"]] = frame[["function0", "treat"]]
    model = statsmodels.GLM(frame["recovery"], X, family=statsmodels.families.Binomial())
    return model.fit(tol=1e-14)


def assert_close(ours: pd.Series, reference: pd.Series, rtol: float) -> None:
    ours = ours[reference.index].to_numpy()
    err = np.abs(ours - reference.to_numpy()) / np.abs(reference.to_numpy())
    assert np.max(err) <= rtol, f"max relative error {np.max(err):.2e} > {rtol:g}"


def _problem(data: pd.DataFrame, formula: str):
    prep = prepare(build_design(parse_formula(formula), data))
    return _Problem(prep.data, *hermite_grid(1, 1), prep.local_index >= 0)


def test_one_sided_check_rejects_a_variance_wrongly_held_at_zero():
    """Held at 0 where the data say SD ~ 0.8: moving it off 0 gains a lot, so it is caught."""
    problem = _problem(heterogeneous(), "rec ~ 0 + C(trial) + base + treat + (0 + treat | trial)")
    beta, alpha = glm_start(problem)
    start = maximize(problem, np.r_[beta, 0.0], alpha, fixed=np.array([False, False, True]))
    assert start.theta[-1] == 0.0  # held
    at_zero = boundary_parameters(problem, start.theta, 1e-4)
    assert at_zero.tolist() == [2]
    check = verify_boundary(problem, start, at_zero, ("sd(treat)",))
    assert check.gain > 1.0 and check.gain_sd >= 0.3
    assert check.gradient_max < logistic.GRADIENT_TOL  # the others are at their optimum


def test_false_boundary_claim_reports_unconverged(monkeypatch):
    """End to end: if the variance were taken to be at 0, the fit must not claim convergence."""
    data = heterogeneous()
    formula = "rec ~ 0 + C(trial) + base + treat + (0 + treat | trial)"
    honest, _ = fit_recording(formula, data, nagq=3)
    assert honest.converged and not honest.singular and honest.varcomp["sd"].iloc[0] > 0.3
    monkeypatch.setattr(
        logistic,
        "boundary_parameters",
        lambda problem, theta, tol: problem.n_shared + np.arange(1),
    )
    result, categories = fit_recording(formula, data, nagq=3)
    assert not result.converged and ConvergenceWarning in categories
    assert "not a boundary optimum" in result.convergence or "one-sided" in result.convergence
    assert any("could not be verified" in w for w in result.warnings)


@pytest.mark.parametrize("which", ["boundary", "heterogeneous"])
def test_newton_cut_short_is_reported_unconverged(monkeypatch, which):
    """One Newton iteration per stage cannot reach the optimum: converged=False, a warning.

    (With the exact Hessian two iterations per stage already reach the optimum of the
    heterogeneous data set: gradient 1.8e-10, log-likelihood 1e-13 from the full fit.)"""
    monkeypatch.setattr(logistic, "maximize", functools.partial(maximize, max_iter=1))
    for module in ("_logistic_boundary", "_logistic_reduced"):  # every stage's Newton run
        monkeypatch.setattr(
            f"ipdma.models.{module}.maximize", functools.partial(maximize, max_iter=1)
        )
    if which == "boundary":
        result, categories = fit_recording(FORMULA, boundary_data(), nagq=1)
    else:
        formula = "rec ~ 0 + C(trial) + base + treat + (0 + treat | trial)"
        result, categories = fit_recording(formula, heterogeneous(), nagq=3)
    assert not result.converged and ConvergenceWarning in categories
    assert "max |gradient|" in result.convergence


def slopes_vary_only_in_base(seed: int = 5) -> pd.DataFrame:
    """25 trials: the baseline slope varies (SD 0.5), the treatment effect does not."""
    rng = np.random.default_rng(seed)
    idx = np.repeat(np.arange(25), 150)
    treat = rng.integers(0, 2, idx.size)
    base = rng.normal(size=idx.size)
    slope = (-0.4 + 0.5 * rng.normal(size=25))[idx]
    eta = rng.normal(-0.5, 0.7, 25)[idx] + slope * base + 0.5 * treat
    rec = rng.binomial(1, 1 / (1 + np.exp(-eta)))
    return pd.DataFrame(
        {"trial": [f"s{i:02d}" for i in idx], "treat": treat, "base": base, "rec": rec}
    )


@pytest.mark.parametrize(
    ("random", "held"),
    [
        ("(0 + treat | trial) + (0 + base | trial)", "sd(treat) held at 0"),
        ("(0 + base + treat | trial)", "sd(treat | base) (|corr| = 1) held at 0"),
    ],
)
def test_boundary_with_two_random_effects(random, held):
    """A zero SD next to a non-zero one, and |corr| = 1 in an unstructured block."""
    formula = f"rec ~ 0 + C(trial) + base + treat + {random}"
    result, categories = fit_recording(formula, slopes_vary_only_in_base(), nagq=1)
    assert result.converged and result.singular and held in result.convergence
    assert SingularFitWarning in categories and ConvergenceWarning not in categories
    assert 0.0 in result.details["theta"]
    sd = result.varcomp.dropna(subset=["sd"]).set_index("term1")["sd"]
    assert 0.3 < sd["base"] < 0.7
