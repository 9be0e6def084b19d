"""Properties of the conversions, for any input (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from ipdma.harmonize import INSTRUMENTS, convert_unit, recovered
from ipdma.spec import code_key

unit = st.floats(0, 1, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(sorted(INSTRUMENTS)), fractions=st.lists(unit, min_size=1, max_size=20))
def test_instrument_maps_native_range_onto_0_100_monotonically(name, fractions):
    inst = INSTRUMENTS[name]
    native = np.sort(inst.min + np.asarray(fractions) * (inst.max - inst.min))
    scaled = inst.to_100(pd.Series(native)).to_numpy()
    assert np.all((scaled >= -1e-9) & (scaled <= 100 + 1e-9))
    steps = np.diff(scaled)
    assert np.all(steps >= -1e-9) if inst.higher == "worse" else np.all(steps <= 1e-9)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["kg", "g", "lb", "m", "cm", "mm", "in", "days", "weeks", "months"]))
def test_unit_conversion_round_trips(source):
    base = {"kg": "lb", "g": "kg", "lb": "g", "m": "in", "cm": "m", "mm": "in", "in": "cm",
            "days": "months", "weeks": "days", "months": "years"}[source]  # fmt: skip
    assert abs(convert_unit(source, base) * convert_unit(base, source) - 1) < 1e-12


@settings(max_examples=100, deadline=None)
@given(st.floats(0, 100), st.floats(0, 100))
def test_recovery_needs_both_relative_and_absolute_gain(base, follow):
    got = recovered([base], [follow], relative=0.3, points=20)[0]
    gain = base - follow
    assert got == float(gain >= 0.3 * base - 1e-9 and gain >= 20 - 1e-9)


@given(st.integers(-1000, 1000))
def test_code_key_equates_int_float_and_text(value):
    assert code_key(value) == code_key(float(value)) == code_key(str(value))
