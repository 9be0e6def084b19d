"""Tidy result tables from the fitted-model records: overall, interactions, subgroups, models.

Estimates are on the mean-difference scale (pain, function; 0-100) or the odds-ratio scale
(global recovery). Every interaction and overall row carries a Benjamini-Hochberg false
discovery rate adjusted p-value (``p_fdr``) computed across the whole grid of that table.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ._plan import AnalysisPlan
from ._spec import ModelSpec

__all__ = ["benjamini_hochberg", "interactions_table", "models_table", "overall_table"]

OVERALL_COLUMNS = [
    "outcome", "window", "comparison", "scale", "studies", "participants", "estimate",
    "ci_low", "ci_high", "p", "p_fdr", "se", "tau", "converged", "singular", "model_id",
    "error",
]  # fmt: skip
INTERACTION_COLUMNS = [
    "outcome", "window", "comparison", "modifier", "label", "level", "reference", "adjusted",
    "studies", "participants", "estimate", "ci_low", "ci_high", "p", "p_fdr", "scale", "se",
    "across_estimate", "across_ci_low", "across_ci_high", "across_p", "across_studies",
    "note", "converged", "singular", "model_id", "error",
]  # fmt: skip
SUBGROUP_COLUMNS = [
    "outcome", "window", "comparison", "modifier", "label", "level", "order", "adjusted",
    "studies", "participants", "estimate", "ci_low", "ci_high", "p", "scale", "note",
    "converged", "model_id", "error",
]  # fmt: skip
MODEL_COLUMNS = [
    "id", "kind", "outcome", "window", "comparison", "modifier", "adjusted", "formula",
    "method", "nobs", "ngroups", "converged", "singular", "dropped", "tau", "convergence",
    "warnings", "notes", "error", "seconds", "cpu_seconds", "status", "key",
]  # fmt: skip


def benjamini_hochberg(p: Iterable[float]) -> np.ndarray:
    """Benjamini-Hochberg (1995) adjusted p-values (R ``p.adjust(method = "BH")``).

    ``p_(i) * m / i``, made monotone from the largest p down and capped at 1; missing
    p-values stay missing and do not count in ``m``.
    """
    values = np.asarray(list(p), dtype=float)
    out = np.full(values.shape, np.nan)
    present = np.flatnonzero(np.isfinite(values))
    if present.size == 0:
        return out
    order = present[np.argsort(values[present], kind="stable")]
    m = present.size
    scaled = values[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    out[order] = np.minimum(adjusted, 1.0)
    return out


def _scale(outcome: str) -> str:
    return "OR" if outcome == "recovery" else "MD"


def _on_scale(value: Any, scale: str) -> float:
    if value is None:
        return math.nan
    if scale == "OR":
        return math.exp(value) if value < 700 else math.inf
    return float(value)


def _spec_fields(spec: ModelSpec) -> dict[str, Any]:
    return {"outcome": spec.outcome, "window": spec.window, "comparison": spec.comparison}


def _estimates(term: dict[str, Any] | None, scale: str) -> dict[str, Any]:
    term = term or {}
    return {
        "estimate": _on_scale(term.get("estimate"), scale),
        "ci_low": _on_scale(term.get("ci_low"), scale),
        "ci_high": _on_scale(term.get("ci_high"), scale),
        "p": math.nan if term.get("p") is None else term["p"],
        "se": math.nan if term.get("se") is None else term["se"],
    }


def _status(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "converged": record.get("converged"),
        "singular": record.get("singular"),
        "model_id": record["model_id"],
        "error": record.get("error"),
    }


def overall_table(results: list[tuple[ModelSpec, dict[str, Any]]]) -> pd.DataFrame:
    """One row per outcome x window x comparison set: the overall treatment effect."""
    rows = []
    for spec, record in results:
        if spec.kind != "overall":
            continue
        scale = _scale(spec.outcome)
        term = next((t for t in record["terms"] if t["role"] == "treatment"), None)
        rows.append(
            {
                **_spec_fields(spec),
                "scale": scale,
                "studies": term["studies"] if term else 0,
                "participants": term["participants"] if term else 0,
                **_estimates(term, scale),
                "tau": math.nan if record.get("tau") is None else record["tau"],
                **_status(record),
            }
        )
    frame = pd.DataFrame(rows, columns=[c for c in OVERALL_COLUMNS if c != "p_fdr"])
    frame.insert(frame.columns.get_loc("p") + 1, "p_fdr", benjamini_hochberg(frame["p"]))
    return frame[OVERALL_COLUMNS]


def interactions_table(
    results: list[tuple[ModelSpec, dict[str, Any]]], plan: AnalysisPlan
) -> pd.DataFrame:
    """Rows as Tables 4-6: one per modifier level (continuous: ``level == "per unit"``)."""
    rows = []
    for spec, record in results:
        if spec.kind != "interaction":
            continue
        scale = _scale(spec.outcome)
        across = {t["level"]: t for t in record["terms"] if t["role"] == "across"}
        mspec = plan.modifier_spec(str(spec.modifier))
        for term in (t for t in record["terms"] if t["role"] == "interaction"):
            across_term = across.get(term["level"])
            across_est = _estimates(across_term, scale)
            rows.append(
                {
                    **_spec_fields(spec),
                    "modifier": spec.modifier,
                    "label": mspec.label or spec.modifier,
                    "level": term["level"],
                    "reference": record.get("reference", ""),
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
                    "note": "; ".join(x for x in (term["note"],) if x),
                    **_status(record),
                }
            )
    frame = pd.DataFrame(rows, columns=[c for c in INTERACTION_COLUMNS if c != "p_fdr"])
    frame.insert(frame.columns.get_loc("p") + 1, "p_fdr", benjamini_hochberg(frame["p"]))
    return frame[INTERACTION_COLUMNS]


def subgroups_table(
    results: list[tuple[ModelSpec, dict[str, Any]]], plan: AnalysisPlan
) -> pd.DataFrame:
    """Treatment effect per category of each modifier (the data of Figures 3-5)."""
    rows = []
    for spec, record in results:
        if spec.kind != "subgroup":
            continue
        scale = _scale(spec.outcome)
        mspec = plan.modifier_spec(str(spec.modifier))
        for order, term in enumerate(t for t in record["terms"] if t["role"] == "subgroup"):
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
                    "converged": record.get("converged"),
                    "model_id": record["model_id"],
                    "error": record.get("error"),
                }
            )
    return pd.DataFrame(rows, columns=SUBGROUP_COLUMNS)


def models_table(entries: list[tuple[ModelSpec, str, dict[str, Any], str]]) -> pd.DataFrame:
    """One row per model: its spec, formula, fit diagnostics and whether it was cached."""
    rows = []
    for spec, key, record, status in entries:
        rows.append(
            {
                "id": spec.id,
                "kind": spec.kind,
                "outcome": spec.outcome,
                "window": spec.window,
                "comparison": spec.comparison,
                "modifier": spec.modifier,
                "adjusted": spec.adjusted,
                "formula": record.get("formula"),
                "method": record.get("method"),
                "nobs": record.get("nobs"),
                "ngroups": record.get("ngroups"),
                "converged": record.get("converged"),
                "singular": record.get("singular"),
                "dropped": record.get("dropped"),
                "tau": record.get("tau"),
                "convergence": record.get("convergence"),
                "warnings": " | ".join(record.get("warnings") or []),
                "notes": " | ".join(record.get("notes") or []),
                "error": record.get("error"),
                "seconds": record.get("seconds"),
                "cpu_seconds": record.get("cpu_seconds"),
                "status": status,
                "key": key,
            }
        )
    return pd.DataFrame(rows, columns=MODEL_COLUMNS)
