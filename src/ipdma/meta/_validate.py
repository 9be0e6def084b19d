"""Input checks shared by the meta-analysis functions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InputError, SpecError

__all__ = ["as_labels", "as_vector", "check_level"]


def as_vector(values: Any, name: str, *, positive: bool = False) -> np.ndarray:
    """A 1-d float array with finite values (strictly positive when ``positive``)."""
    try:
        arr = np.asarray(values, dtype=float).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"{name} must be numeric", variable=name, hint=f"pass numbers for {name}"
        ) from exc
    for row, value in enumerate(arr):
        if not np.isfinite(value) or (positive and value <= 0):
            need = "finite and > 0" if positive else "finite"
            raise InputError(
                f"{name} must be {need}",
                variable=name,
                row=row,
                value=float(value),
                hint=f"remove or fix study {row} (a missing or zero variance cannot be pooled)",
            )
    return arr


def as_labels(labels: Sequence[Any] | None, k: int) -> tuple[str, ...]:
    """Study labels as strings; ``1..k`` when none are given."""
    if labels is None:
        return tuple(str(i + 1) for i in range(k))
    out = tuple(str(label) for label in labels)
    if len(out) != k:
        raise InputError(
            f"labels has {len(out)} entries but there are {k} studies",
            variable="labels",
            hint="pass one label per study",
        )
    return out


def check_level(level: float) -> float:
    """A confidence level strictly between 0 and 1."""
    if not 0.0 < float(level) < 1.0:
        raise SpecError("level must be between 0 and 1", value=level, hint="use e.g. level=0.95")
    return float(level)
