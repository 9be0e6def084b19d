"""Option strings accepted by the public API, validated in one place."""

from __future__ import annotations

from typing import Literal, get_args

from .errors import SpecError

Family = Literal["gaussian", "binomial", "poisson"]
Residual = Literal["common", "stratified"]
DfMethod = Literal["wald", "satterthwaite", "kenward-roger", "residual"]
Ddf = Literal["satterthwaite", "kenward-roger", "residual"]
TauMethod = Literal["FE", "DL", "HE", "HS", "SJ", "REML", "ML", "EB", "PM"]
MetaTest = Literal["z", "knha", "adhoc"]
Outcome = Literal["pain", "function", "recovery"]
Window = Literal["short", "moderate", "long"]
Comparison = Literal["any", "usual", "conservative"]


def validate(value: str, literal: object, name: str) -> str:
    """Return ``value`` if it is one of ``literal``'s options, else raise a SpecError."""
    options = get_args(literal)
    if value not in options:
        raise SpecError(
            f"{name}={value!r} is not an option",
            hint=f"use one of {', '.join(map(repr, options))}",
        )
    return value
