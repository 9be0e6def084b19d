"""Outcome instruments: native range, direction and the linear map to 0-100 (higher = worse)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from ..errors import InputError, SpecError
from ..spec import InstrumentSpec, nearest

__all__ = ["INSTRUMENTS", "Instrument", "instrument_registry"]


@dataclass(frozen=True)
class Instrument:
    """An outcome instrument.

    The conversion is ``100 (x - min) / (max - min)`` when higher native scores are worse and
    ``100 (max - x) / (max - min)`` when they are better (e.g. the PSFS), so that on the common
    scale 0 is the best and 100 the worst state (the paper's 0-100 pain and function scales).
    """

    name: str
    label: str
    outcome: Literal["pain", "function"]
    min: float
    max: float
    higher: Literal["worse", "better"] = "worse"

    def to_100(
        self, values: pd.Series, *, trial: str | None = None, column: str | None = None
    ) -> pd.Series:
        """Convert native values to 0-100; a value outside [min, max] is an InputError."""
        x = values.astype(float)
        bad = x.notna() & ((x < self.min) | (x > self.max))
        if bad.any():
            row = bad.idxmax()
            raise InputError(
                f"value outside the {self.label} range {self.min:g}-{self.max:g} "
                f"({int(bad.sum())} value(s))",
                trial=trial,
                variable=column,
                row=row,
                value=float(x[row]),
                hint="fix the value, declare it under `missing`, or choose the right instrument",
            )
        span = self.max - self.min
        scaled = (x - self.min) / span if self.higher == "worse" else (self.max - x) / span
        return (100.0 * scaled).astype(float)


def _i(name, label, outcome, low, high, higher="worse") -> Instrument:
    return Instrument(name, label, outcome, float(low), float(high), higher)


_RMDQ_LANGUAGES = ("es", "pt", "nl", "da", "it", "fi", "sv", "no", "de", "zh", "fr")

INSTRUMENTS: dict[str, Instrument] = {
    i.name: i
    for i in (
        _i("vas_10cm", "VAS (0-10 cm)", "pain", 0, 10),
        _i("vas_100mm", "VAS (0-100 mm)", "pain", 0, 100),
        _i("nrs_0_10", "NRS (0-10)", "pain", 0, 10),
        _i("borg_cr10", "Borg CR-10", "pain", 0, 10),
        _i("pain_rating_scale", "Pain Rating Scale (0-5)", "pain", 0, 5),
        _i("vas3_sum", "Sum of three VAS (0-30)", "pain", 0, 30),
        _i("vas3_sum_mm", "Sum of three VAS (0-300 mm)", "pain", 0, 300),
        _i("lbprs_pain", "LBPRS pain scale (0-60)", "pain", 0, 60),
        _i("lbprs_function", "LBPRS disability scale (0-30)", "function", 0, 30),
        _i("rmdq_24", "RMDQ (24 items)", "function", 0, 24),
        *(
            _i(f"rmdq_24_{lang}", f"RMDQ (24 items, {lang})", "function", 0, 24)
            for lang in _RMDQ_LANGUAGES
        ),
        _i("rmdq_18", "RMDQ (18 items)", "function", 0, 18),
        _i("rmdq_16", "RMDQ (16 items)", "function", 0, 16),
        _i("odi_points", "ODI (0-50 points)", "function", 0, 50),
        _i("odi_percent", "ODI (0-100%)", "function", 0, 100),
        _i("quebec", "Quebec Back Pain Disability Scale", "function", 0, 100),
        _i("aberdeen", "Aberdeen back pain scale", "function", 0, 100),
        _i("aberdeen_zh", "Aberdeen back pain scale (Chinese)", "function", 0, 100),
        _i("psfs", "PSFS (0-10, higher = better)", "function", 0, 10, "better"),
        _i("snq_activity", "SNQ activity restriction (0-3)", "function", 0, 3),
    )
}


def instrument_registry(*extra: Mapping[str, InstrumentSpec]) -> dict[str, Instrument]:
    """INSTRUMENTS plus user instruments (``[instruments.NAME]``), later ones overriding."""
    out = dict(INSTRUMENTS)
    for mapping in extra:
        for name, spec in mapping.items():
            out[name] = Instrument(
                name,
                spec.label,
                spec.outcome,
                float(spec.min),
                float(spec.max),
                spec.higher,
            )
    return out


def lookup(registry: Mapping[str, Instrument], name: str, *, trial: str, file, outcome: str):
    """The instrument ``name`` for ``outcome``; SpecError (with the nearest name) otherwise."""
    if name not in registry:
        guess = nearest(name, registry)
        raise SpecError(
            f"unknown instrument {name!r} in outcomes.{outcome}",
            trial=trial,
            file=file,
            hint=(f"did you mean {guess!r}? " if guess else "")
            + "or declare it under [instruments] (see docs/spec.md)",
        )
    instrument = registry[name]
    if instrument.outcome != outcome:
        raise SpecError(
            f"instrument {name!r} measures {instrument.outcome}, not {outcome}",
            trial=trial,
            file=file,
            hint=f"move it to outcomes.{instrument.outcome} or pick a {outcome} instrument",
        )
    return instrument
