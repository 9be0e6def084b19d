"""Appendix 1 fixtures: the model data and the R code ipdma generates for it.

Writes, for three models of the grid on the simulated consortium (seed 5, short term,
exercise vs any comparison): ``appendix1_<name>.csv`` (the prepared model data, as
:func:`ipdma.analysis.prepare` builds it), ``appendix1_models.json`` (formula, family,
options) and ``appendix1.R``: the R code of Appendix 1 (:func:`ipdma.analysis._code.model_code`)
for each model, followed by lines that store lme4's estimates in ``appendix1.json``.

Regenerate (needs R with lme4, lmerTest, jsonlite)::

    cd tests/reference
    PYTHONPATH=../../src python appendix1_make.py && Rscript appendix1.R
"""

from __future__ import annotations

import json
from pathlib import Path

from ipdma.analysis import AnalysisPlan, prepare
from ipdma.analysis._code import model_code
from ipdma.analysis._fit import options_of
from ipdma.analysis._spec import ModelSpec
from ipdma.simulate import harmonized_ipd

HERE = Path(__file__).parent
MODELS = {
    "overall_pain": ModelSpec("overall", "pain", "short", "any"),
    "interaction_function": ModelSpec(
        "interaction", "function", "short", "any", modifier="medication", adjusted=True
    ),
    "overall_recovery": ModelSpec("overall", "recovery", "short", "any"),
}
# lme4's default optimizer stops short of the optimum (REML log-likelihood ~1e-3 below
# ipdma's on these data): the fixture keeps that value and refits to tight convergence
# (bobyqa, rhoend 1e-12, as the other fixtures) before storing the estimates.
TIGHTEN = {
    "gaussian": 'fit <- update(fit, control = lmerControl(optimizer = "bobyqa",\n'
    "  optCtrl = list(rhoend = 1e-12, maxfun = 1e5)))",
    "binomial": 'fit <- update(fit, control = glmerControl(optimizer = "bobyqa",\n'
    "  optCtrl = list(rhoend = 1e-12, maxfun = 1e5), tolPwrss = 1e-12))",
}
COLLECT = """loglik_default <- as.numeric(logLik(fit))
{tighten}
out[["{name}"]] <- list(
  fixef = as.list(fixef(fit)), se = as.list(sqrt(diag(as.matrix(vcov(fit))))),
  loglik = as.numeric(logLik(fit)), loglik_default = loglik_default{df})
"""


def main() -> None:
    plan = AnalysisPlan()
    frame = harmonized_ipd(seed=5)
    script = ["# Written by appendix1_make.py: Appendix 1's generated R code, run on the",
              "# fixtures; stores lme4's estimates in appendix1.json.",
              "library(jsonlite)", "out <- list()"]  # fmt: skip
    models = {}
    for name, spec in MODELS.items():
        prepared = prepare(spec, frame, plan)
        data_file = f"appendix1_{name}.csv"
        prepared.data.to_csv(HERE / data_file, index=False, float_format="%.10g")
        options = options_of(prepared, plan)
        models[name] = {"formula": prepared.formula, **options}
        code = model_code(
            prepared.formula,
            family=prepared.family,
            data_file=data_file,
            reml=plan.model.reml,
            nagq=plan.model.nagq,
            residual=plan.model.residual,
        )
        df = ""
        if prepared.family == "gaussian":
            df = ',\n  df = as.list(summary(fit, ddf = "Satterthwaite")$coefficients[, "df"])'
        tighten = TIGHTEN[prepared.family]
        script += [f"# --- {name}", code.r, COLLECT.format(name=name, df=df, tighten=tighten)]
    script.append(
        'write_json(out, "appendix1.json", auto_unbox = TRUE, digits = NA, pretty = TRUE)'
    )
    (HERE / "appendix1.R").write_text("\n".join(script) + "\n", encoding="utf-8")
    text = json.dumps(models, indent=2, sort_keys=True) + "\n"
    (HERE / "appendix1_models.json").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
