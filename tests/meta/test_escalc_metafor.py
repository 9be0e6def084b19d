"""Effect sizes from group summaries against metafor escalc (tests/reference/metafor_escalc.R)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.tolerances import META_RTOL

from ipdma.errors import InputError
from ipdma.meta import log_odds_ratio, mean_difference, standardized_mean_difference

REFERENCE = Path(__file__).parents[1] / "reference"
CONT = pd.read_csv(REFERENCE / "metafor_escalc_continuous.csv")
BIN = pd.read_csv(REFERENCE / "metafor_escalc_binary.csv")


def _args(df: pd.DataFrame):
    return df.m1i, df.sd1i, df.n1i, df.m2i, df.sd2i, df.n2i


def test_mean_difference_matches_escalc() -> None:
    es = mean_difference(*_args(CONT), labels=CONT.source)
    np.testing.assert_allclose(es.yi, CONT.md_yi, rtol=META_RTOL, atol=0)
    np.testing.assert_allclose(es.vi, CONT.md_vi, rtol=META_RTOL, atol=0)
    assert es.labels[0] == "Edinburgh"


def test_hedges_g_matches_escalc_including_tiny_groups() -> None:
    es = standardized_mean_difference(*_args(CONT))
    np.testing.assert_allclose(es.yi, CONT.smd_yi, rtol=META_RTOL, atol=0)
    np.testing.assert_allclose(es.vi, CONT.smd_vi, rtol=META_RTOL, atol=0)
    # with n1 = n2 = 2 the correction is far from 1 (J(2) = 0.5642): the fixture checks it
    tiny = CONT.source == "tiny-a"
    raw = (CONT.m1i - CONT.m2i)[tiny].item() / np.sqrt((2.1**2 + 1.3**2) / 2)
    assert es.yi[int(np.flatnonzero(tiny)[0])] == pytest.approx(0.5642 * raw, rel=1e-3)


def test_log_odds_ratio_matches_escalc_with_zero_cells() -> None:
    es = log_odds_ratio(BIN.ai, BIN.n1i, BIN.ci, BIN.n2i, labels=BIN.study)
    np.testing.assert_allclose(es.yi, BIN.or_yi, rtol=META_RTOL, atol=1e-14)
    np.testing.assert_allclose(es.vi, BIN.or_vi, rtol=META_RTOL, atol=0)
    assert ((BIN.ai == 0) & (BIN.ci == 0)).any()  # a double-zero study is in the fixture
    assert (BIN.ai == BIN.n1i).any()  # and a study where every participant had the event
    assert es.to_frame().shape == (len(BIN), 5)


def test_bad_group_summaries_name_the_study() -> None:
    with pytest.raises(InputError, match="row 1") as info:
        log_odds_ratio([1, 12], [10, 10], [2, 3], [10, 10])
    assert info.value.variable == "events1"
    with pytest.raises(InputError, match="sd2"):
        mean_difference([1], [1], [10], [2], [-1], [10])
    with pytest.raises(InputError, match="different lengths"):
        mean_difference([1, 2], [1], [10], [2], [1], [10])
    with pytest.raises(InputError, match="pooled standard deviation"):
        standardized_mean_difference([1], [0], [10], [2], [0], [10])
