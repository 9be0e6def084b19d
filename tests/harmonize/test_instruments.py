"""Instrument registry: conversion to 0-100 (higher = worse) and range errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ipdma.errors import InputError
from ipdma.harmonize import INSTRUMENTS, instrument_registry
from ipdma.spec import InstrumentSpec

CASES = [
    ("vas_10cm", [0, 5.5, 10], [0, 55, 100]),
    ("vas_100mm", [0, 37, 100], [0, 37, 100]),
    ("nrs_0_10", [3, 7], [30, 70]),
    ("borg_cr10", [2.5], [25]),
    ("pain_rating_scale", [0, 2, 5], [0, 40, 100]),
    ("vas3_sum", [15, 30], [50, 100]),
    ("lbprs_pain", [30], [50]),
    ("lbprs_function", [15], [50]),
    ("rmdq_24", [6, 24], [25, 100]),
    ("rmdq_24_es", [12], [50]),
    ("rmdq_24_pt", [12], [50]),
    ("rmdq_18", [9], [50]),
    ("rmdq_16", [4], [25]),
    ("odi_points", [10, 50], [20, 100]),
    ("odi_percent", [22], [22]),
    ("quebec", [40], [40]),
    ("aberdeen", [35], [35]),
    ("psfs", [0, 2.5, 10], [100, 75, 0]),
    ("snq_activity", [0, 3], [0, 100]),
]


@pytest.mark.parametrize(("name", "native", "expected"), CASES)
def test_conversion(name, native, expected):
    got = INSTRUMENTS[name].to_100(pd.Series(native, dtype=float))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_missing_values_stay_missing():
    got = INSTRUMENTS["nrs_0_10"].to_100(pd.Series([np.nan, 4.0]))
    assert np.isnan(got[0]) and got[1] == 40


def test_value_outside_native_range_names_everything():
    values = pd.Series([3.0, 11.0, 2.0], index=[10, 11, 12])
    with pytest.raises(InputError) as info:
        INSTRUMENTS["nrs_0_10"].to_100(values, trial="costa2009", column="pain_3m")
    text = str(info.value)
    for part in ("NRS (0-10) range 0-10", "trial costa2009", "variable pain_3m", "row 11",
                 "value 11.0"):  # fmt: skip
        assert part in text


def test_user_instrument_overrides_and_adds():
    spec = InstrumentSpec(label="Mine", outcome="function", min=1, max=5, higher="better")
    registry = instrument_registry({"mine": spec})
    np.testing.assert_allclose(registry["mine"].to_100(pd.Series([1.0, 5.0])), [100, 0])
    assert "rmdq_24" in registry
