"""Independent cross-check, part 4: 40 small, boundary-prone datasets (3..8 trials of 5..120,
little or no heterogeneity; tests/reference/xcheck_stress.R) fitted by lmer REML/ML and
glmer Laplace: ipdma must reach lme4's likelihood (or higher) and its estimates."""

from __future__ import annotations

import json
from functools import cache

import pandas as pd
import pytest
from tests.reference.xcheck_compare import REF, assert_rel, fit, series
from tests.tolerances import (
    GLMM_FIXEF_RTOL,
    GLMM_LOGLIK_ABOVE_ATOL,
    GLMM_LOGLIK_RTOL,
    GLMM_SE_RTOL,
    LMM_FIXEF_RTOL,
    LMM_LOGLIK_ABOVE_ATOL,
    LMM_LOGLIK_RTOL,
    LMM_SE_RTOL,
)

PAPER = "y ~ 0 + C(trial) + base + treat + (0 + treat | trial) + (0 + base | trial)"
LOGISTIC = "rec ~ 0 + C(trial) + treat + (0 + treat | trial)"
COUNT = 40


@cache
def _frames() -> dict[int, pd.DataFrame]:
    frame = pd.read_csv(REF / "xcheck_stress.csv")
    return {int(k): part for k, part in frame.groupby("dataset")}


@cache
def _refs() -> dict[int, dict]:
    return {int(r["dataset"]): r for r in json.loads((REF / "xcheck_stress.json").read_text())}


@pytest.mark.parametrize("kind", ["reml", "ml"])
@pytest.mark.parametrize("dataset", range(COUNT))
def test_linear_reaches_lme4(dataset, kind):
    r = _refs()[dataset][kind]
    result = fit(PAPER, _frames()[dataset], reml=kind == "reml")
    assert result.converged, result.convergence
    assert result.loglik >= r["loglik"] - LMM_LOGLIK_ABOVE_ATOL * abs(r["loglik"])
    assert result.loglik == pytest.approx(r["loglik"], rel=LMM_LOGLIK_RTOL)
    assert_rel(result.fixef, series(r["fixef"]), LMM_FIXEF_RTOL, "fixef")
    assert_rel(result.se, series(r["se"]), LMM_SE_RTOL, "se")
    assert result.singular == r["singular"]


@pytest.mark.parametrize("dataset", range(COUNT))
def test_logistic_reaches_glmer(dataset):
    r = _refs()[dataset]["laplace"]
    result = fit(LOGISTIC, _frames()[dataset], family="binomial", nagq=1)
    assert result.converged, result.convergence
    assert result.loglik >= r["loglik"] - GLMM_LOGLIK_ABOVE_ATOL * abs(r["loglik"])
    assert result.loglik == pytest.approx(r["loglik"], rel=GLMM_LOGLIK_RTOL)
    assert_rel(result.fixef, series(r["fixef"]), GLMM_FIXEF_RTOL, "fixef", floor=1.0)
    assert_rel(result.se, series(r["se"]), GLMM_SE_RTOL, "se")
