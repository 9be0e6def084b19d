"""Human-readable names for variables, levels, outcomes, windows and comparison sets."""

from __future__ import annotations

import importlib
from typing import Any

import pandas as pd

__all__ = [
    "COMPARISON_LABELS",
    "OUTCOME_LABELS",
    "WINDOW_LABELS",
    "as_bool",
    "level_labels",
    "variable_label",
]

OUTCOME_LABELS = {
    "pain": "Pain intensity (0-100)",
    "function": "Functional limitations (0-100)",
    "recovery": "Global recovery",
}
WINDOW_LABELS = {
    "short": "short term (closest to 3 months)",
    "moderate": "moderate term (closest to 6 months)",
    "long": "long term (closest to 12 months)",
}
COMPARISON_LABELS = {
    "any": "any non-exercise comparison",
    "usual": "no treatment / usual care",
    "conservative": "other conservative treatment",
}

# Used only when the harmonization registry does not know a variable.
_FALLBACK_UNITS = {"age": "years", "bmi": "kg/m\u00b2", "episode_months": "months"}


def _registry() -> dict[str, Any]:
    try:
        module = importlib.import_module("ipdma.harmonize")
    except ImportError:  # the registry is optional for rendering
        return {}
    return dict(getattr(module, "VARIABLES", {}) or {})


def _attr(definition: Any, name: str) -> Any:
    if isinstance(definition, dict):
        return definition.get(name)
    return getattr(definition, name, None)


def variable_label(name: str) -> str:
    """The registry's label of a modifier, with its unit when continuous ("Age (years)")."""
    definition = _registry().get(name)
    label = _attr(definition, "label") if definition is not None else None
    unit = _attr(definition, "unit") if definition is not None else _FALLBACK_UNITS.get(name)
    kind = _attr(definition, "kind") if definition is not None else None
    if not label:
        label = name.replace("_", " ").capitalize()
    if unit and kind != "binary" and f"({unit})" not in label:
        label = f"{label} ({unit})"
    return str(label)


def level_labels(name: str) -> tuple[str, str] | None:
    """``(reference, yes)`` level labels of a binary modifier, if the registry has them."""
    definition = _registry().get(name)
    if definition is None:
        return None
    for attr in ("levels", "level_labels", "labels"):
        value = _attr(definition, attr)
        if value is not None and len(value) == 2:
            return str(value[0]), str(value[1])
    return None


def as_bool(value: Any) -> bool:
    """Booleans as written by pandas, CSV or DuckDB ("true", "False", 1, np.True_)."""
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    if value is None or (isinstance(value, float) and value != value):  # None, NaN: unknown
        return False
    try:
        if pd.isna(value):
            return False
    except (TypeError, ValueError):
        pass
    return bool(value)
