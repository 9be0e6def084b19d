"""Appendix 1: the equivalent R (lme4 / lmerTest) and Stata (``mixed`` / ``melogit``) code of
a model of the grid, generated from the formula ipdma fitted and the plan's options.

The formulas use lme4 syntax already (``(0 + treat | trial)`` terms; ``C(trial)`` is the
stratified trial intercepts), so the R code is the formula with ``factor(trial)``; the Stata
code lists the fixed effects after ``ibn.trial`` and the random slopes after ``|| trial:``
with ``covariance(independent)`` for separate ``(0 + x | trial)`` terms or
``covariance(unstructured)`` for one correlated term. The data file holds the model's
prepared columns (``trial, y, baseline, treat``, centred covariates and their interactions
with ``treat``), as :func:`ipdma.analysis.prepare` builds them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ModelCode", "model_code"]

_RANDOM = re.compile(r"\(\s*0\s*\+\s*([^|()]+?)\s*(\|\|?)\s*trial\s*\)")


@dataclass(frozen=True)
class ModelCode:
    """The R and Stata code of one model."""

    r: str
    stata: str


def _parts(formula: str) -> tuple[str, list[str], list[list[str]]]:
    outcome, rhs = (s.strip() for s in formula.split("~", 1))
    groups = [[v.strip() for v in m.group(1).split("+")] for m in _RANDOM.finditer(rhs)]
    fixed_text = _RANDOM.sub("", rhs)
    fixed = [t.strip() for t in fixed_text.split("+") if t.strip()]
    fixed = [t for t in fixed if t not in ("0", "C(trial)")]
    return outcome, fixed, groups


def model_code(
    formula: str,
    *,
    family: str,
    data_file: str,
    reml: bool = True,
    nagq: int = 1,
    residual: str = "common",
    satterthwaite: bool = True,
) -> ModelCode:
    """R and Stata code fitting ``formula`` to the CSV ``data_file``.

    Parameters
    ----------
    formula
        The model as ipdma fitted it (``models.csv``: ``y ~ 0 + C(trial) + ... + (0 + treat |
        trial)``).
    family
        ``"gaussian"`` (``lmer`` / ``mixed``) or ``"binomial"`` (``glmer`` / ``melogit``).
    reml, residual, satterthwaite
        Linear models: REML or ML; ``"stratified"`` residual variances (``nlme::lme`` with
        ``varIdent``; Stata ``residuals(independent, by(trial))``); Satterthwaite df.
    nagq
        Logistic models: adaptive Gauss-Hermite nodes (1 = Laplace).
    """
    outcome, fixed, groups = _parts(formula)
    r_formula = formula.replace("C(trial)", "factor(trial)")
    read = f'd <- read.csv("{data_file}")\nd$trial <- factor(d$trial)'
    if family == "binomial":
        r = (
            f"library(lme4)\n{read}\n"
            f"fit <- glmer({r_formula},\n             data = d, family = binomial, "
            f"nAGQ = {nagq})\nsummary(fit)"
        )
    elif residual == "stratified":
        r_slopes = " + ".join(v for g in groups for v in g)
        fixed_r = " + ".join(["0", "factor(trial)", *fixed])
        r = (
            f"library(nlme)\n{read}\n"
            f"fit <- lme({outcome} ~ {fixed_r}, random = list(trial = pdDiag(~ 0 + {r_slopes})),\n"
            f"           weights = varIdent(form = ~ 1 | trial), data = d, "
            f'method = "{"REML" if reml else "ML"}")\nsummary(fit)'
        )
    else:
        test = 'summary(fit, ddf = "Satterthwaite")' if satterthwaite else "summary(fit)"
        r = (
            f"library(lme4); library(lmerTest)\n{read}\n"
            f"fit <- lmer({r_formula},\n            data = d, REML = {'TRUE' if reml else 'FALSE'})"
            f"\n{test}"
        )
    slopes = [v for g in groups for v in g]
    covariance = "unstructured" if any(len(g) > 1 for g in groups) else "independent"
    random = f"|| trial_id: {' '.join(slopes)}, noconstant covariance({covariance})"
    lines = [f'import delimited "{data_file}", clear', "encode trial, generate(trial_id)"]
    fixed_stata = " ".join(["ibn.trial_id", *fixed])
    if family == "binomial":
        lines.append(f"melogit {outcome} {fixed_stata}, noconstant {random} intpoints({nagq})")
    else:
        options = ["reml" if reml else "mle"]
        if satterthwaite and reml:
            options.append("dfmethod(satterthwaite)")
        if residual == "stratified":
            options.append("residuals(independent, by(trial_id))")
        lines.append(f"mixed {outcome} {fixed_stata}, noconstant {random} {' '.join(options)}")
    return ModelCode(r=r, stata="\n".join(lines))
