"""Human-readable names for variables, levels, outcomes, windows and comparison sets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..spec import VARIABLES, VariableDef

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

# Used only when the registry does not know a variable.
_FALLBACK_UNITS = {"age": "years", "bmi": "kg/m\u00b2", "episode_months": "months"}


def variable_label(name: str, registry: Mapping[str, VariableDef] = VARIABLES) -> str:
    """The registry's label of a modifier, with its unit when continuous ("Age (years)").

    ``registry`` defaults to :data:`ipdma.spec.VARIABLES`; pass a project's
    (``ipdma.spec.registry_with(project.variables)``) for its own variables.
    """
    definition = registry.get(name)
    if definition is None:
        label, unit, kind = name.replace("_", " ").capitalize(), _FALLBACK_UNITS.get(name), None
    else:
        label, unit, kind = definition.label, definition.unit, definition.kind
    if unit and kind != "binary" and f"({unit})" not in label:
        label = f"{label} ({unit})"
    return label


def level_labels(
    name: str, registry: Mapping[str, VariableDef] = VARIABLES
) -> tuple[str, str] | None:
    """``(reference, yes)`` level labels of a binary modifier, if the registry has them."""
    definition = registry.get(name)
    return None if definition is None else definition.levels


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
