"""Stage 2 of the two-stage imputation model: Paule-Mandel between-trial variances against
metafor (tests/reference/impute_paule_mandel.R), several coefficients at once."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ipdma.impute._rows import _UNIDENTIFIED
from ipdma.impute._stage2 import _paule_mandel

from ..tolerances import MI_PAULE_MANDEL_RTOL

CASES = json.loads(
    (Path(__file__).parents[1] / "reference" / "impute_paule_mandel.json").read_text("utf-8")
)


def _column(values: list[float], rows: int, fill: float) -> np.ndarray:
    return np.array([*values, *([fill] * (rows - len(values)))])


def test_paule_mandel_matches_metafor_for_every_coefficient_at_once() -> None:
    names = list(CASES)
    rows = max(len(CASES[n]["yi"]) for n in names)
    # shorter columns are padded with coefficients the trial carries no information on
    b = np.column_stack([_column(CASES[n]["yi"], rows, 0.0) for n in names])
    v = np.column_stack([_column(CASES[n]["vi"], rows, _UNIDENTIFIED) for n in names])
    tau2, count = _paule_mandel(b, v)
    expected = [CASES[n]["tau2_pm"] for n in names]
    np.testing.assert_allclose(tau2, expected, rtol=MI_PAULE_MANDEL_RTOL, atol=1e-12)
    assert list(count) == [len(CASES[n]["yi"]) for n in names]
    # the reason for PM: DerSimonian-Laird is a third of it for the separated intercepts
    assert CASES["separated"]["tau2_dl"] < 0.4 * tau2[0]


@pytest.mark.parametrize("trials", [0, 1])
def test_fewer_than_two_informative_trials_give_no_heterogeneity(trials: int) -> None:
    b = np.array([[1.0], [5.0]])
    v = np.array([[0.1], [_UNIDENTIFIED]])
    if trials == 0:
        v[0, 0] = _UNIDENTIFIED
    tau2, _ = _paule_mandel(b, v)
    assert tau2[0] == 0.0
