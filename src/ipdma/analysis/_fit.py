"""Fit one prepared model with :func:`ipdma.mixed` and reduce it to a JSON-able record.

A failing model never stops the grid: its record carries ``error`` (the reason) and its
terms are reported with missing estimates.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

import numpy as np
from scipy import stats

from ._design import PreparedModel
from ._plan import AnalysisPlan
from ._two_stage import two_stage_record

__all__ = ["fit_prepared", "options_of"]


def options_of(prepared: PreparedModel, plan: AnalysisPlan) -> dict[str, Any]:
    """Keyword options passed to :func:`ipdma.mixed` for this model."""
    if prepared.family == "binomial":
        return {"family": "binomial", "nagq": plan.model.nagq}
    options: dict[str, Any] = {
        "family": "gaussian",
        "reml": plan.model.reml,
        "residual": plan.model.residual,
    }
    if plan.model.df_method in ("kenward-roger", "residual"):
        options["ddf"] = plan.model.df_method
    return options


def _base_record(prepared: PreparedModel, plan: AnalysisPlan) -> dict[str, Any]:
    return {
        "model_id": prepared.spec.id,
        "formula": prepared.formula,
        "options": options_of(prepared, plan),
        "nobs": len(prepared.data),
        "ngroups": int(prepared.data["trial"].nunique()),
        "dropped": prepared.dropped,
        "baseline_mean": prepared.baseline_mean,
        "reference": prepared.reference,
        "notes": list(prepared.notes),
        "method": None,
        "converged": None,
        "singular": None,
        "convergence": "",
        "warnings": [],
        "tau": None,
        "error": None,
        "seconds": 0.0,
        "terms": [
            {
                "column": t.column,
                "role": t.role,
                "level": t.level,
                "studies": t.studies,
                "participants": t.participants,
                "estimable": t.estimable,
                "note": t.note,
                "estimate": None,
                "se": None,
                "df": None,
                "p": None,
                "ci_low": None,
                "ci_high": None,
            }
            for t in prepared.terms
        ],
    }


def _finite(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def fit_prepared(prepared: PreparedModel, plan: AnalysisPlan) -> dict[str, Any]:
    """Fit ``prepared`` and return its record (estimates on the model scale: MD or log-OR).

    Linear models: t quantiles with the df of ``plan.model.df_method`` (Satterthwaite as
    lmerTest; Kenward-Roger as pbkrtest, with the KR-adjusted SE; residual n - rank(X)), or
    normal quantiles for ``"wald"``. Logistic models: normal quantiles.
    """
    from ..models import mixed

    record = _base_record(prepared, plan)
    start, cpu_start = time.perf_counter(), time.process_time()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = mixed(prepared.formula, prepared.data, **options_of(prepared, plan))
    except Exception as exc:  # a failing model is a row with its reason; the grid goes on
        record["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
        record["seconds"] = time.perf_counter() - start
        return record
    record["two_stage"] = two_stage_record(prepared, plan)
    record["seconds"] = time.perf_counter() - start
    record["cpu_seconds"] = time.process_time() - cpu_start
    record["method"] = result.method
    record["converged"] = bool(result.converged)
    record["singular"] = bool(result.singular)
    record["convergence"] = str(result.convergence)
    messages = [*result.warnings, *(str(w.message) for w in caught)]
    record["warnings"] = list(dict.fromkeys(messages))
    record["dropped"] = prepared.dropped + int(np.sum(result.dropped))
    record["tau"] = _random_sd(result, "treat")
    method = plan.model.df_method if prepared.family == "gaussian" else "wald"
    inference = result.tidy(level=plan.level, method=method).set_index("term")
    quantile = 0.5 + plan.level / 2
    for term in record["terms"]:
        name = term["column"]
        if not term["estimable"] or name not in result.fixef.index:
            continue
        estimate, se = float(result.fixef[name]), float(inference.at[name, "se"])
        df = float(inference.at[name, "df"])
        df = df if math.isfinite(df) and df > 0 else math.inf
        if not (math.isfinite(se) and se > 0):  # no information (e.g. separation): no CI, no p
            term.update(estimate=_finite(estimate))
            continue
        if math.isinf(df):
            crit, p = stats.norm.ppf(quantile), 2 * stats.norm.sf(abs(estimate / se))
        else:
            crit, p = stats.t.ppf(quantile, df), 2 * stats.t.sf(abs(estimate / se), df)
        term.update(
            estimate=estimate,
            se=_finite(se),
            df=_finite(df),
            p=_finite(p),
            ci_low=_finite(estimate - crit * se),
            ci_high=_finite(estimate + crit * se),
        )
    return record


def _random_sd(result: Any, term: str) -> float | None:
    """SD of a random slope (``tau``) from ``varcomp``; 0 when the term is not random."""
    varcomp = result.varcomp
    rows = varcomp[(varcomp["term1"] == term) & varcomp["term2"].isna()]
    if rows.empty:
        return None
    return _finite(rows["sd"].iloc[0])
