"""Option strings accepted by the public API, validated in one place."""

from __future__ import annotations

from typing import Literal, TypeVar, get_args

from .errors import SpecError

Family = Literal["gaussian", "binomial", "poisson"]
Residual = Literal["common", "stratified"]
DfMethod = Literal["wald", "satterthwaite", "kenward-roger", "residual"]
Ddf = Literal["satterthwaite", "kenward-roger", "residual"]
# inference of a record: DfMethod, or Barnard-Rubin df for results pooled over imputations
RecordDfMethod = Literal["wald", "satterthwaite", "kenward-roger", "residual", "barnard-rubin"]
TauMethod = Literal["FE", "DL", "HE", "HS", "SJ", "REML", "ML", "EB", "PM"]
MetaTest = Literal["z", "knha", "adhoc"]
Outcome = Literal["pain", "function", "recovery"]
Window = Literal["short", "moderate", "long"]
Comparison = Literal["any", "usual", "conservative"]
ModelStatus = Literal["fitted", "not converged", "not estimable", "failed"]
TermRole = Literal["treatment", "interaction", "across", "subgroup"]


S = TypeVar("S", bound=str)


def validate(value: S, literal: object, name: str) -> S:
    """Return ``value`` if it is one of ``literal``'s options, else raise a SpecError."""
    options = get_args(literal)
    if value not in options:
        raise SpecError(
            f"{name}={value!r} is not an option",
            hint=f"use one of {', '.join(map(repr, options))}",
        )
    return value
