"""Direct-identifier detection by column name and by value pattern."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from ipdma.harmonize import detect_identifiers

N = 8


def test_by_column_name():
    frame = pd.DataFrame({c: ["x"] * N for c in
                          ["Surname", "e_mail", "phone_home", "DateOfBirth", "zip", "age"]})  # fmt: skip
    found = detect_identifiers(frame)
    assert set(found) == {"Surname", "e_mail", "phone_home", "DateOfBirth", "zip"}


def test_by_value_pattern():
    frame = pd.DataFrame({
        "c1": [f"user{i}@example.org" for i in range(N)],
        "c2": [f"+45 20 {i}1 33 4{i}" for i in range(N)],
        "c3": [f"{i + 3} Baker Street" for i in range(N)],
        "c4": ["Anna Berg", "Lars Holm", "Eva Lind", "Per Dahl", "Ida Sand", "Ole Krog",
               "Kim Vik", "Bo Ek"],
        "c5": [dt.date(1940 + 5 * i, 3, 1 + i) for i in range(N)],
        "c6": [f"{1950 + 4 * i}-06-1{i}" for i in range(N)],
    })  # fmt: skip
    found = detect_identifiers(frame)
    assert "e-mail" in found["c1"]
    assert "phone" in found["c2"]
    assert "street" in found["c3"]
    assert "person names" in found["c4"]
    assert "dates of birth" in found["c5"]
    assert "dates of birth" in found["c6"]


def test_ordinary_columns_are_not_identifiers():
    frame = pd.DataFrame({
        "pid": [f"{1000 + i}" for i in range(N)],
        "group": ["Usual Care", "Exercise Group"] * (N // 2),
        "visit": [dt.date(2005, 1 + i, 1) for i in range(N)],  # visit dates, not birth dates
        "score": range(N),
        "centre": ["Malmö", "Lund"] * (N // 2),
    })  # fmt: skip
    assert detect_identifiers(frame) == {}
