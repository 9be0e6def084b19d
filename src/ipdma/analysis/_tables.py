"""Tidy result tables from the model records: overall, interactions, subgroups, models.

``separated`` names the trials whose own data separate the outcome of the row's (logistic)
model (``ipdma.analysis._separation``): its estimates are unstable.

Every number comes from a record's tidy frame (:meth:`ModelResult.tidy`); these functions
only select, label and put estimates on the reporting scale: mean difference (pain,
function; 0-100) or odds ratio (global recovery: exp of the log-OR estimate and CI). Every
interaction and overall row carries a Benjamini-Hochberg false discovery rate adjusted
p-value (``p_fdr``) computed across the whole grid of that table.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._plan import AnalysisPlan
from ._records import ModelResult
from ._spec import ModelSpec

__all__ = [
    "benjamini_hochberg",
    "interactions_table",
    "models_table",
    "overall_table",
    "subgroups_table",
]

OVERALL_COLUMNS = [
    "outcome", "window", "comparison", "scale", "studies", "participants", "estimate",
    "ci_low", "ci_high", "p", "p_fdr", "se", "tau", "converged", "singular", "separated",
    "model_id", "error",
]  # fmt: skip
INTERACTION_COLUMNS = [
    "outcome", "window", "comparison", "modifier", "label", "level", "reference", "adjusted",
    "studies", "participants", "estimate", "ci_low", "ci_high", "p", "p_fdr", "scale", "se",
    "across_estimate", "across_ci_low", "across_ci_high", "across_p", "across_studies",
    "note", "converged", "singular", "separated", "model_id", "error",
]  # fmt: skip
SUBGROUP_COLUMNS = [
    "outcome", "window", "comparison", "modifier", "label", "level", "order", "adjusted",
    "studies", "participants", "estimate", "ci_low", "ci_high", "p", "scale", "note",
    "converged", "separated", "model_id", "error",
]  # fmt: skip
MODEL_COLUMNS = [
    "id", "kind", "outcome", "window", "comparison", "modifier", "adjusted", "formula",
    "method", "nobs", "ngroups", "converged", "singular", "separated", "dropped", "tau",
    "convergence", "message", "warnings", "notes", "error", "status", "key",
]  # fmt: skip


def benjamini_hochberg(p: Iterable[float]) -> np.ndarray:
    """Benjamini-Hochberg (1995) adjusted p-values (R ``p.adjust(method = "BH")``).

    :func:`scipy.stats.false_discovery_control` (``method="bh"``) over the present
    p-values; missing p-values stay missing and do not count in ``m``.
    """
    values = np.asarray(list(p), dtype=float)
    out = np.full(values.shape, np.nan)
    present = np.isfinite(values)
    if present.any():
        out[present] = stats.false_discovery_control(values[present], method="bh")
    return out


def _scale(outcome: str) -> str:
    return "OR" if outcome == "recovery" else "MD"


def _on_scale(value: float, scale: str) -> float:
    if not math.isfinite(value):
        return math.nan
    if scale == "OR":
        return math.exp(value) if value < 700 else math.inf
    return float(value)


def _spec_fields(spec: ModelSpec) -> dict[str, Any]:
    return {"outcome": spec.outcome, "window": spec.window, "comparison": spec.comparison}


def _estimates(term: dict[str, Any] | None, scale: str) -> dict[str, Any]:
    term = term or {}
    nan = math.nan
    return {
        "estimate": _on_scale(term.get("estimate", nan), scale),
        "ci_low": _on_scale(term.get("ci_low", nan), scale),
        "ci_high": _on_scale(term.get("ci_high", nan), scale),
        "p": term.get("p", nan),
        "se": term.get("se", nan),
    }


def _status(record: ModelResult) -> dict[str, Any]:
    return {
        "converged": record.converged,
        "singular": record.singular,
        "separated": separated_text(record),
        "model_id": record.model_id,
        "error": record.error,
    }


def separated_text(record: ModelResult) -> str:
    """The trials with separation in the record's model, comma-separated ("" if none)."""
    return ", ".join(record.separated)


def overall_table(records: Sequence[ModelResult]) -> pd.DataFrame:
    """One row per outcome x window x comparison set: the overall treatment effect."""
    rows = []
    for record in records:
        spec = record.spec
        if spec.kind != "overall":
            continue
        scale = _scale(spec.outcome)
        found = record.rows("treatment")
        term = found[0] if found else None
        tau = record.tau
        rows.append(
            {
                **_spec_fields(spec),
                "scale": scale,
                "studies": term["studies"] if term else 0,
                "participants": term["participants"] if term else 0,
                **_estimates(term, scale),
                "tau": math.nan if tau is None else tau,
                **_status(record),
            }
        )
    frame = pd.DataFrame(rows, columns=[c for c in OVERALL_COLUMNS if c != "p_fdr"])
    frame.insert(frame.columns.get_loc("p") + 1, "p_fdr", benjamini_hochberg(frame["p"]))
    return frame[OVERALL_COLUMNS]


def interactions_table(records: Sequence[ModelResult], plan: AnalysisPlan) -> pd.DataFrame:
    """Rows as Tables 4-6: one per modifier level (continuous: ``level == "per unit"``)."""
    rows = []
    for record in records:
        spec = record.spec
        if spec.kind != "interaction":
            continue
        scale = _scale(spec.outcome)
        across = {t["level"]: t for t in record.rows("across")}
        mspec = plan.modifier_spec(str(spec.modifier))
        for term in record.rows("interaction"):
            across_term = across.get(term["level"])
            across_est = _estimates(across_term, scale)
            rows.append(
                {
                    **_spec_fields(spec),
                    "modifier": spec.modifier,
                    "label": mspec.label or spec.modifier,
                    "level": term["level"],
                    "reference": record.reference,
                    "adjusted": spec.adjusted,
                    "studies": term["studies"],
                    "participants": term["participants"],
                    **_estimates(term, scale),
                    "scale": scale,
                    "across_estimate": across_est["estimate"],
                    "across_ci_low": across_est["ci_low"],
                    "across_ci_high": across_est["ci_high"],
                    "across_p": across_est["p"],
                    "across_studies": across_term["studies"] if across_term else 0,
                    "note": term["note"] or "",
                    **_status(record),
                }
            )
    frame = pd.DataFrame(rows, columns=[c for c in INTERACTION_COLUMNS if c != "p_fdr"])
    frame.insert(frame.columns.get_loc("p") + 1, "p_fdr", benjamini_hochberg(frame["p"]))
    return frame[INTERACTION_COLUMNS]


def subgroups_table(records: Sequence[ModelResult], plan: AnalysisPlan) -> pd.DataFrame:
    """Treatment effect per category of each modifier (the data of Figures 3-5)."""
    rows = []
    for record in records:
        spec = record.spec
        if spec.kind != "subgroup":
            continue
        scale = _scale(spec.outcome)
        mspec = plan.modifier_spec(str(spec.modifier))
        for order, term in enumerate(record.rows("subgroup")):
            rows.append(
                {
                    **_spec_fields(spec),
                    "modifier": spec.modifier,
                    "label": mspec.label or spec.modifier,
                    "level": term["level"],
                    "order": order,
                    "adjusted": spec.adjusted,
                    "studies": term["studies"],
                    "participants": term["participants"],
                    **{k: v for k, v in _estimates(term, scale).items() if k != "se"},
                    "scale": scale,
                    "note": term["note"],
                    "converged": record.converged,
                    "separated": separated_text(record),
                    "model_id": record.model_id,
                    "error": record.error,
                }
            )
    return pd.DataFrame(rows, columns=SUBGROUP_COLUMNS)


def models_table(records: Sequence[ModelResult], keys: Sequence[str]) -> pd.DataFrame:
    """One row per model: its spec, formula, fit diagnostics and status.

    Determined by the data and the plan only (no timings, nothing about caching), so two
    runs on the same inputs give the same table; run facts are in the store's run log.
    """
    rows = []
    for record, key in zip(records, keys, strict=True):
        spec = record.spec
        convergence = record.convergence
        rows.append(
            {
                "id": spec.id,
                "kind": spec.kind,
                "outcome": spec.outcome,
                "window": spec.window,
                "comparison": spec.comparison,
                "modifier": spec.modifier,
                "adjusted": spec.adjusted,
                "formula": record.formula or None,
                "method": record.method,
                "nobs": record.nobs if record.formula else None,
                "ngroups": record.ngroups if record.formula else None,
                "converged": record.converged,
                "singular": record.singular,
                "separated": separated_text(record),
                "dropped": record.dropped if record.formula else None,
                "tau": record.tau,
                "convergence": None if convergence is None else convergence.checks,
                "message": record.message,
                "warnings": " | ".join(record.warnings),
                "notes": " | ".join(record.notes),
                "error": record.error,
                "status": record.status,
                "key": key,
            }
        )
    return pd.DataFrame(rows, columns=MODEL_COLUMNS)
