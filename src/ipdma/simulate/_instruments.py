"""Native outcome instruments: 0-100 (higher = worse) <-> the trial's native scale.

The names are those of ingest's instrument registry (``docs/spec.md``). Conversion is the
registry's linear map, ``value_100 = 100 (x - min) / (max - min)`` (reversed when higher
native scores are better); the simulator rounds native values to the precision the
instrument is recorded with (whole RMDQ points, VAS in mm or 0.1 cm, Borg in half points,
ODI in 2 % steps, PSFS as the mean of three whole-number ratings).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Instrument:
    """Native range, direction and recording precision of an outcome instrument."""

    name: str
    outcome: str
    low: float
    high: float
    step: float
    better: bool = False  # True: higher native scores mean better (reversed)
    decimals: int | None = None  # round the stored value (e.g. PSFS thirds to 2 decimals)

    def to_native(self, value100: np.ndarray) -> np.ndarray:
        """0-100 (higher = worse) -> native scale, rounded to the recording step."""
        share = np.asarray(value100, dtype=float) / 100.0
        if self.better:
            share = 1.0 - share
        native = self.low + share * (self.high - self.low)
        native = np.round(native / self.step) * self.step
        native = np.clip(native, self.low, self.high)
        return np.round(native, self.decimals if self.decimals is not None else 6)

    def to_harmonized(self, native: np.ndarray) -> np.ndarray:
        """Native scale -> 0-100 (higher = worse), exactly as ingest converts it."""
        native = np.asarray(native, dtype=float)
        if self.better:
            return 100.0 * (self.high - native) / (self.high - self.low)
        return 100.0 * (native - self.low) / (self.high - self.low)

    @property
    def integer(self) -> bool:
        return float(self.step).is_integer() and self.decimals is None


def _rmdq(name: str) -> Instrument:
    return Instrument(name, "function", 0, 24, 1)


INSTRUMENTS: dict[str, Instrument] = {
    inst.name: inst
    for inst in (
        Instrument("vas_10cm", "pain", 0, 10, 0.1),
        Instrument("vas_100mm", "pain", 0, 100, 1),
        Instrument("nrs_0_10", "pain", 0, 10, 1),
        Instrument("borg_cr10", "pain", 0, 10, 0.5),
        Instrument("pain_rating_scale", "pain", 0, 5, 1),
        Instrument("vas3_sum", "pain", 0, 30, 0.1),
        Instrument("lbprs_pain", "pain", 0, 60, 1),
        Instrument("lbprs_function", "function", 0, 30, 1),
        *(_rmdq(f"rmdq_24{suffix}") for suffix in ("", "_es", "_pt", "_nl", "_da", "_it")),
        Instrument("rmdq_16", "function", 0, 16, 1),
        Instrument("odi_points", "function", 0, 50, 1),
        Instrument("odi_percent", "function", 0, 100, 2),
        Instrument("aberdeen_zh", "function", 0, 100, 0.1),
        Instrument("psfs", "function", 0, 10, 1 / 3, better=True, decimals=2),
    )
}

#: short column stems for each instrument (native files name columns after the instrument)
STEMS = {
    "vas_10cm": "vas", "vas_100mm": "vas", "nrs_0_10": "nrs", "borg_cr10": "borg",
    "pain_rating_scale": "prs", "vas3_sum": "vas3", "lbprs_pain": "lbprsp",
    "lbprs_function": "lbprsf", "rmdq_16": "rdq16", "odi_points": "odi", "odi_percent": "odi",
    "aberdeen_zh": "abd", "psfs": "psfs",
}  # fmt: skip


def stem(instrument: str) -> str:
    """A short column stem for ``instrument`` (RMDQ versions: "rmdq")."""
    return STEMS.get(instrument, "rmdq")


def instrument(name: str) -> Instrument:
    """The instrument called ``name``; KeyError names the known ones."""
    try:
        return INSTRUMENTS[name]
    except KeyError:
        raise KeyError(f"unknown instrument {name!r}; known: {sorted(INSTRUMENTS)}") from None
