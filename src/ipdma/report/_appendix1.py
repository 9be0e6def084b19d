"""Appendix 1: the statistical model of each model kind, and its R and Stata code.

The equations follow the plan's options (random terms, covariance, residual variance, REML,
quadrature nodes); the code is generated (:func:`ipdma.analysis._code.model_code`) from one
fitted formula of each kind in ``models.csv`` (primary window and comparison), so any table
can be re-run elsewhere on the model's prepared data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..analysis._code import model_code
from ._view import Text

__all__ = ["appendix1_items"]

_KINDS = (
    ("overall", "gaussian", "Overall effect, pain and function (linear mixed model)"),
    ("overall", "binomial", "Overall effect, global recovery (logistic mixed model)"),
    ("interaction", "gaussian", "Treatment-modifier interaction, linear"),
    ("interaction", "binomial", "Treatment-modifier interaction, logistic"),
    ("subgroup", "gaussian", "Subgroup effects (Figures 3-5), linear"),
    ("subgroup", "binomial", "Subgroup effects (Figures 3-5), logistic"),
)


def _equation(kind: str, family: str, model: Mapping[str, Any]) -> str:
    random = list(model.get("random_binomial" if family == "binomial" else "random") or [])
    slopes = {"treatment": "t_i = t + u_ti", "baseline": "b_i = b + u_bi"}
    fixed = {"treatment": "t_i = t", "baseline": "b_i = b"}
    parts = [slopes[r] if r in random else fixed[r] for r in ("treatment", "baseline")]
    cov = "correlated (unstructured)" if model.get("correlated") else "independent"
    lhs = "logit P(y_ij = 1)" if family == "binomial" else "y_ij"
    text = f"{lhs} = a_i + b_i x0_ij + t_i T_ij"
    if kind == "interaction":
        text += " + c z~_ij + g T_ij z~_ij + h T_ij zbar_i [+ adjusters w~ and T w~]"
    elif kind == "subgroup":
        text += " + sum_k (c_k C_kij + t_k T_ij C_kij)"
    if family == "gaussian":
        residual = "s_i^2 (one per trial)" if model.get("residual") == "stratified" else "s^2"
        text += f" + e_ij, e_ij ~ N(0, {residual})"
    text += f"; a_i fixed per trial; {', '.join(parts)}; random effects u ~ N(0, G), {cov}."
    if kind == "interaction":
        text += (
            " z~_ij = z_ij - zbar_i (modifier centred at its trial mean: g, the within-trial "
            "interaction, is reported; h is the across-trial interaction)."
        )
    if family == "binomial":
        nagq = int(model.get("nagq", 1))
        method = "Laplace" if nagq == 1 else f"adaptive Gauss-Hermite quadrature ({nagq} nodes)"
        text += f" Maximum likelihood by {method}."
    else:
        text += f" {'REML' if model.get('reml', True) else 'ML'}; Satterthwaite df for t tests."
    return text


def _example(models: pd.DataFrame, kind: str, family: str, plan: Mapping[str, Any]):
    rows = models.loc[(models["kind"] == kind) & models["formula"].notna()]
    binomial = rows["outcome"] == "recovery"
    rows = rows.loc[binomial if family == "binomial" else ~binomial]
    window = plan.get("primary_window", "short")
    comparison = plan.get("primary_comparison", "any")
    main = rows.loc[(rows["window"] == window) & (rows["comparison"] == comparison)]
    rows = main if not main.empty else rows
    if kind != "overall" and "adjusted" in rows:
        adjusted = rows.loc[rows["adjusted"].astype(str).isin(["True", "true", "1"])]
        rows = adjusted if not adjusted.empty else rows
    return None if rows.empty else rows.iloc[0]


def appendix1_items(models: pd.DataFrame | None, plan: Mapping[str, Any] | None) -> list[Text]:
    """Equations and code per model kind (nothing when no model was fitted)."""
    if models is None or models.empty or not {"formula", "kind", "outcome"} <= set(models):
        return []
    plan = dict(plan or {})
    options = dict(plan.get("model") or {})
    items = [
        Text(
            "Appendix 1. Statistical models and equivalent code. i: trial, j: participant; "
            "T: exercise (1) vs comparison (0); x0: baseline value of the outcome (baseline "
            "function for global recovery); z: candidate modifier; C_k: category k of the "
            "modifier. The code fits the model's prepared data (the columns of the formula; "
            "covariates centred at their trial means as in Methods) exported to a CSV file."
        )
    ]
    for kind, family, title in _KINDS:
        row = _example(models, kind, family, plan)
        if row is None:
            continue
        code = model_code(
            str(row["formula"]),
            family=family,
            data_file=f"{row['id'].replace('/', '_')}.csv",
            reml=bool(options.get("reml", True)),
            nagq=int(options.get("nagq", 1)),
            residual=str(options.get("residual", "common")),
            satterthwaite=options.get("df_method", "satterthwaite") == "satterthwaite",
        )
        items.append(Text(f"{title}: {_equation(kind, family, options)} Example: {row['id']}."))
        items.append(Text(f"# R\n{code.r}\n\n* Stata\n{code.stata}", "code"))
    return items
