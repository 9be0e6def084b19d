"""ipdma.meta.pool against metafor 3.8-1 (fixtures from tests/reference/metafor_pool.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.tolerances import (
    META_ITERATIVE_RTOL,
    META_RTOL,
    META_TAU2_ATOL,
    META_TAU2_RTOL,
)

from ipdma.meta import pool

REFERENCE = Path(__file__).parents[1] / "reference"
DATA = pd.read_csv(REFERENCE / "metafor_pool_data.csv")
FIXTURE = json.loads((REFERENCE / "metafor_pool.json").read_text())
CASES = [(dataset, key) for dataset, entry in FIXTURE["datasets"].items() for key in entry["fits"]]


def _fit(dataset: str, key: str):
    method, test = key.split("_")
    rows = DATA[DATA.dataset == dataset]
    return pool(
        rows.yi,
        rows.vi,
        method=method,
        hksj=test in ("knha", "adhoc"),
        adhoc=test == "adhoc",
        labels=rows.study,
    )


def _close(actual: float, expected: float, rtol: float, atol: float = 0.0) -> None:
    assert actual == pytest.approx(expected, rel=rtol, abs=atol)


@pytest.mark.parametrize(("dataset", "key"), CASES)
def test_pool_matches_metafor(dataset: str, key: str) -> None:
    ref = FIXTURE["datasets"][dataset]["fits"][key]
    res = _fit(dataset, key)
    method = key.split("_")[0]
    rtol = META_RTOL if method in ("FE", "DL") else META_ITERATIVE_RTOL
    # tau2 in absolute terms too: metafor's scoring ends at ~1e-12 on the boundary
    _close(res.tau2, ref["tau2"], META_TAU2_RTOL, META_TAU2_ATOL)
    for name in ("estimate", "se", "statistic", "p"):
        _close(getattr(res, name), ref[name], rtol)
    _close(res.ci[0], ref["ci_low"], rtol)
    _close(res.ci[1], ref["ci_high"], rtol)
    if method != "FE":  # metafor's predict gives no PI for a fixed-effect model
        _close(res.pi[0], ref["pi_low"], rtol)
        _close(res.pi[1], ref["pi_high"], rtol)
    _close(res.q, ref["q"], META_RTOL)
    _close(res.q_p, ref["q_p"], META_RTOL)
    _close(res.i2, ref["i2"], rtol, META_TAU2_ATOL)
    _close(res.h2, ref["h2"], rtol)
    assert res.k == ref["k"]
    assert sum(res.weights) == pytest.approx(100.0, rel=META_RTOL)


@pytest.mark.parametrize(
    ("dataset", "key"),
    [c for c in CASES if c[1][:2] in ("DL", "RE", "ML", "PM") and c[1].endswith("_z")],
)
def test_riley_prediction_interval(dataset: str, key: str) -> None:
    ref = FIXTURE["datasets"][dataset]["fits"][key]
    method, _ = key.split("_")
    rows = DATA[DATA.dataset == dataset]
    res = pool(rows.yi, rows.vi, method=method, pi_type="riley")
    rtol = META_RTOL if method in ("FE", "DL") else META_ITERATIVE_RTOL
    _close(res.pi[0], ref["pi_riley_low"], rtol)
    _close(res.pi[1], ref["pi_riley_high"], rtol)
    assert res.pi_df == max(len(rows) - 2, 1)


@pytest.mark.parametrize(
    ("dataset", "key"), [c for c in CASES if c[1].endswith("_z") and not c[1].startswith("FE")]
)
def test_tau2_q_profile_ci(dataset: str, key: str) -> None:
    ref = FIXTURE["datasets"][dataset]["fits"][key]
    res = _fit(dataset, key)
    for i, bound in enumerate(("low", "high")):
        _close(res.tau2_ci[i], ref[f"tau2_ci_{bound}"], META_TAU2_RTOL, META_TAU2_ATOL)
        _close(res.i2_ci[i], ref[f"i2_ci_{bound}"], META_TAU2_RTOL, META_TAU2_ATOL)
        _close(res.h2_ci[i], ref[f"h2_ci_{bound}"], META_TAU2_RTOL, META_TAU2_ATOL)


def test_fixture_covers_required_cases() -> None:
    taus = {name: entry["fits"]["REML_z"]["tau2"] for name, entry in FIXTURE["datasets"].items()}
    assert taus["hine"] == 0.0  # a dataset with tau2 = 0
    assert taus["bcg"] > 0.1
    ks = {name: entry["fits"]["REML_z"]["k"] for name, entry in FIXTURE["datasets"].items()}
    assert min(ks.values()) == 3  # few studies
    # the ad hoc variant differs from plain HKSJ where Q_w < k - 1 (tau2 = 0 data)
    hine = FIXTURE["datasets"]["hine"]["fits"]
    assert hine["DL_adhoc"]["se"] > hine["DL_knha"]["se"]


def test_default_control_metafor_is_close_but_not_exact() -> None:
    """metafor's default PM (uniroot tol ~1.2e-4) is within 1e-4 of the exact root."""
    entry = FIXTURE["datasets"]["bcg"]
    exact = pool(DATA[DATA.dataset == "bcg"].yi, DATA[DATA.dataset == "bcg"].vi, method="PM")
    assert exact.tau2 == pytest.approx(entry["default_control_tau2"]["PM"], rel=1e-3)
    assert exact.tau2 == pytest.approx(entry["fits"]["PM_z"]["tau2"], rel=META_TAU2_RTOL)


def test_fe_is_inverse_variance() -> None:
    yi = np.array([0.1, 0.5, -0.2])
    vi = np.array([0.04, 0.09, 0.01])
    res = pool(yi, vi, method="FE")
    w = 1 / vi
    assert res.estimate == pytest.approx(np.sum(w * yi) / np.sum(w), rel=META_RTOL)
    assert res.se == pytest.approx(np.sqrt(1 / np.sum(w)), rel=META_RTOL)
    assert res.tau2 == 0.0
    assert res.pi == pytest.approx(res.ci, rel=META_RTOL)
