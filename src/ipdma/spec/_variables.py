"""The vocabulary of harmonized variables and the unit conversions ingest understands.

``VARIABLES`` is the canonical registry (the participant columns of the master dataset and
their labels, kinds, units and valid ranges); a project adds its own with ``[variables.NAME]``
(:func:`registry_with`). Harmonization, checks, the analysis plan and the report all read
their labels and kinds from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..errors import SpecError

if TYPE_CHECKING:
    from ._project import VariableDefSpec

__all__ = ["UNITS", "VARIABLES", "VariableDef", "convert_unit", "registry_with"]


@dataclass(frozen=True)
class VariableDef:
    """A harmonized participant variable.

    Attributes
    ----------
    name, label
        Column name in ``participants`` and its human label (Table 3).
    kind
        ``"continuous"`` or ``"binary"`` (float 0/1, NaN missing; 0 is the reference level).
    unit
        Canonical unit (values are converted to it), or None.
    levels
        Binary variables: labels of 0 (reference) and 1.
    valid
        Inclusive valid range; harmonized values outside it are input errors.
    """

    name: str
    label: str
    kind: Literal["continuous", "binary"]
    unit: str | None = None
    levels: tuple[str, str] | None = None
    valid: tuple[float, float] | None = None


def _c(name: str, label: str, unit: str | None, low: float, high: float) -> VariableDef:
    return VariableDef(name, label, "continuous", unit, None, (low, high))


def _b(name: str, label: str, ref: str = "no", yes: str = "yes") -> VariableDef:
    return VariableDef(name, label, "binary", None, (ref, yes), (0.0, 1.0))


VARIABLES: dict[str, VariableDef] = {
    v.name: v
    for v in (
        _c("age", "Age", "years", 16, 100),
        _b("female", "Sex", "male", "female"),
        _b("education", "High school education", "high school or less", "beyond high school"),
        _b("smoker", "Current smoker"),
        _b("physically_active", "Regularly physically active"),
        _c("bmi", "BMI", "kg/m2", 12, 70),
        _b("lbp_history", "History of LBP"),
        _b("sick_leave", "Sick leave (past 12 months)"),
        _b("employed", "Work status", "unemployed", "employed"),
        _b("heavy_demands", "Heavy physical demands at work"),
        _c("general_health", "General health (0-100)", "0-100", 0, 100),
        _c("mental_health", "Mental health (0-100)", "0-100", 0, 100),
        _c("fear_avoidance", "Fear avoidance beliefs (0-100)", "0-100", 0, 100),
        _b("social_support", "Social support available"),
        _c("episode_months", "Episode duration (months)", "months", 0, 720),
        _c("pain0", "Pain intensity (0-100)", "0-100", 0, 100),
        _c("function0", "Functional limitations (0-100)", "0-100", 0, 100),
        _b("leg_pain", "Any leg pain"),
        _b("medication", "Any LBP medication use"),
    )
}

#: unit -> (dimension, factor to the dimension's base unit)
UNITS: dict[str, tuple[str, float]] = {
    "kg": ("mass", 1.0),
    "g": ("mass", 0.001),
    "lb": ("mass", 0.45359237),
    "m": ("length", 100.0),
    "cm": ("length", 1.0),
    "mm": ("length", 0.1),
    "in": ("length", 2.54),
    "days": ("time", 1 / 7),
    "weeks": ("time", 1.0),
    "months": ("time", 52.1775 / 12),
    "years": ("time", 52.1775),
}


def convert_unit(source: str, target: str) -> float:
    """The factor that converts values in ``source`` units to ``target`` units.

    >>> convert_unit("lb", "kg")
    0.45359237
    """
    if source == target:
        return 1.0
    if source not in UNITS or target not in UNITS:
        unknown = source if source not in UNITS else target
        raise SpecError(
            f"unknown unit {unknown!r}",
            hint=f"use one of {', '.join(UNITS)} (or convert with scale/offset)",
        )
    (dim_s, fac_s), (dim_t, fac_t) = UNITS[source], UNITS[target]
    if dim_s != dim_t:
        raise SpecError(f"cannot convert {source!r} ({dim_s}) to {target!r} ({dim_t})")
    return fac_s / fac_t


def registry_with(extra: Mapping[str, VariableDefSpec]) -> dict[str, VariableDef]:
    """VARIABLES plus a project's own variables (``[variables.NAME]`` of the project file)."""
    out = dict(VARIABLES)
    for name, spec in extra.items():
        low, high = spec.min, spec.max
        kind = spec.kind
        valid = (0.0, 1.0) if kind == "binary" else None
        if low is not None or high is not None:
            valid = (
                float("-inf") if low is None else float(low),
                float("inf") if high is None else float(high),
            )
        levels = spec.levels or (("no", "yes") if kind == "binary" else None)
        out[name] = VariableDef(name, spec.label, kind, spec.unit, levels, valid)
    return out
