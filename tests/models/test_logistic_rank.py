"""Logistic fits: the fixed-effects rank check (shared with the linear engine) and the
scale-aware gradient criterion of the convergence check."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ipdma
from ipdma.errors import ConvergenceWarning, RankDeficiencyError
from ipdma.models import build_design, parse_formula
from ipdma.models._aghq import hermite_grid
from ipdma.models._logistic import GRADIENT_TOL
from ipdma.models._logistic_design import prepare
from ipdma.models._logistic_newton import _Problem, glm_start, maximize

REF = Path(__file__).parents[1] / "reference"
PAPER = "rec ~ 0 + C(trial) + base + treat + (0 + treat | trial)"


def _data() -> pd.DataFrame:
    return pd.read_csv(REF / "glmm_ipd_small.csv")


def test_trial_level_covariate_beside_stratified_intercepts_is_aliased():
    data = _data()
    data = data.assign(level=data.groupby("trial")["base"].transform("mean"))
    formula = "rec ~ 0 + C(trial) + base + level + treat + (0 + treat | trial)"
    with pytest.raises(RankDeficiencyError, match="level") as info:
        ipdma.mixed(formula, data, family="binomial")
    assert info.value.variable == "level"


def test_an_empty_local_column_names_its_trial():
    """A trial-specific slope of a covariate that is 0 in that trial: aliased, column named."""
    data = _data()
    first = data["trial"].iloc[0]
    data = data.assign(x0=np.where(data["trial"] == first, 0.0, data["base"]))
    formula = "rec ~ 0 + C(trial) + C(trial):x0 + treat + (0 + treat | trial)"
    with pytest.raises(RankDeficiencyError) as info:
        ipdma.mixed(formula, data, family="binomial")
    assert str(first) in str(info.value.variable)


def _problem(data: pd.DataFrame) -> _Problem:
    prep = prepare(build_design(parse_formula(PAPER), data))
    mask = prep.local_index >= 0
    return _Problem(prep.data, *hermite_grid(1, 1), mask)


def test_gradient_criterion_does_not_depend_on_covariate_scale():
    """base on a 0-100-like scale (x 100): the raw score of its coefficient shrinks 100-fold
    at the same model, the score per parameter unit (what is checked) does not change."""
    data = _data()
    plain, scaled = _problem(data), _problem(data.assign(base=100 * data["base"]))
    _, alpha = glm_start(plain)
    theta = np.array([0.3, 0.5, 0.4])  # base, treat, lambda (a point off the optimum)
    at_plain = maximize(plain, theta, alpha, max_iter=0)
    at_scaled = maximize(scaled, theta / [100, 1, 1], alpha, max_iter=0)
    assert at_plain.evaluation.loglik.sum() == pytest.approx(
        at_scaled.evaluation.loglik.sum(), rel=1e-12
    )
    raw_plain = plain.per_trial_gradient(at_plain.evaluation)[0].sum(0)
    raw_scaled = scaled.per_trial_gradient(at_scaled.evaluation)[0].sum(0)
    assert raw_scaled[0] == pytest.approx(100 * raw_plain[0], rel=1e-8)
    assert at_scaled.gradient_max == pytest.approx(at_plain.gradient_max, rel=1e-8)
    assert at_plain.gradient_max > 1.0  # off the optimum: the check can fail


@pytest.mark.parametrize("factor", [1.0, 100.0])
def test_rescaled_covariate_fit_converges_with_the_same_estimates(factor):
    data = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        base = ipdma.mixed(PAPER, data, family="binomial")
        fit = ipdma.mixed(PAPER, data.assign(base=factor * data["base"]), family="binomial")
    assert base.converged and fit.converged
    assert fit.fixef["base"] * factor == pytest.approx(base.fixef["base"], rel=1e-5)
    assert fit.fixef["treat"] == pytest.approx(base.fixef["treat"], rel=1e-5)
    assert "in parameter units" in fit.convergence
    reported = float(fit.convergence.split("max |gradient| ")[1].split()[0])
    assert reported < GRADIENT_TOL
