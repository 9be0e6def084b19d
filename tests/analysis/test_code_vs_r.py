"""Appendix 1's generated R code, run by lme4 / lmerTest (tests/reference/appendix1.R), gives
ipdma's estimates: the code shown in the report re-runs the models elsewhere."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from ipdma import mixed
from ipdma.analysis._code import model_code
from tests.tolerances import (
    GLMM_FIXEF_RTOL,
    GLMM_LOGLIK_ABOVE_ATOL,
    GLMM_LOGLIK_RTOL,
    GLMM_SE_RTOL,
    LMM_DF_RTOL,
    LMM_FIXEF_RTOL,
    LMM_LOGLIK_ABOVE_ATOL,
    LMM_LOGLIK_RTOL,
    LMM_SE_RTOL,
)

REFERENCE = Path(__file__).parents[1] / "reference"
MODELS = json.loads((REFERENCE / "appendix1_models.json").read_text("utf-8"))
LME4 = json.loads((REFERENCE / "appendix1.json").read_text("utf-8"))


def _name(term: str) -> str:
    return term.replace("factor(trial)", "C(trial)[") + ("]" if "factor(" in term else "")


def test_the_committed_r_script_is_the_generated_code():
    script = (REFERENCE / "appendix1.R").read_text("utf-8")
    for name, model in MODELS.items():
        code = model_code(
            model["formula"],
            family=model["family"],
            data_file=f"appendix1_{name}.csv",
            reml=model.get("reml", True),
            nagq=model.get("nagq", 1),
            residual=model.get("residual", "common"),
        )
        assert code.r in script, name


@pytest.mark.parametrize("name", list(MODELS))
def test_generated_r_code_reproduces_ipdma(name):
    model = MODELS[name]
    data = pd.read_csv(REFERENCE / f"appendix1_{name}.csv")
    options = {k: v for k, v in model.items() if k != "formula"}
    fit = mixed(model["formula"], data, **options)
    reference = LME4[name]
    binomial = model["family"] == "binomial"
    fixef_rtol = GLMM_FIXEF_RTOL if binomial else LMM_FIXEF_RTOL
    se_rtol = GLMM_SE_RTOL if binomial else LMM_SE_RTOL
    for term in ("treat", "baseline", *[t for t in fit.fixef.index if t.startswith("treat_x")]):
        ref = reference["fixef"][term]
        assert fit.fixef[term] == pytest.approx(ref, rel=fixef_rtol, abs=fixef_rtol), term
        assert fit.se[term] == pytest.approx(reference["se"][term], rel=se_rtol), term
        if not binomial:
            df = fit.df[term]
            assert df == pytest.approx(reference["df"][term], rel=LMM_DF_RTOL), term
    loglik_rtol = GLMM_LOGLIK_RTOL if binomial else LMM_LOGLIK_RTOL
    assert fit.loglik == pytest.approx(reference["loglik"], rel=loglik_rtol)
    # the generated code as shown (lme4's default optimizer) stops at or below our optimum
    above = GLMM_LOGLIK_ABOVE_ATOL if binomial else LMM_LOGLIK_ABOVE_ATOL
    assert fit.loglik >= reference["loglik_default"] - above
    assert math.isfinite(fit.loglik)
