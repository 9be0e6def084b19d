"""ipdma.meta.regress / pool against metafor 3.8-1 (tests/reference/metafor_regress.R).

Covers meta-regression (coefficients, SEs, tests, CIs, QM, QE, I2, H2, R2, log-likelihoods),
the tau2 estimators FE, DL, HE, HS, SJ, ML, REML, EB, PM with metafor's se(tau2), the
Q-profile and profile-likelihood CIs of tau2, BLUPs, Knapp-Hartung and its ad hoc truncation.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.tolerances import (
    META_ILLCONDITIONED_RTOL,
    META_REGRESS_ITERATIVE_RTOL,
    META_RTOL,
    META_ZERO_ATOL,
)

from ipdma.meta import pool, regress

REFERENCE = Path(__file__).parents[1] / "reference"
DATA = pd.read_csv(REFERENCE / "metafor_regress_data.csv")
FIXTURE = json.loads((REFERENCE / "metafor_regress.json").read_text())
CASES = [
    (dataset, mods, key)
    for dataset, entry in FIXTURE["datasets"].items()
    for mods, fits in entry.items()
    for key in fits["fits"]
]
CLOSED_FORM = ("FE", "DL", "HE", "HS", "SJ")


def _rtol(mods: str, method: str) -> float:
    if mods == "~ ablat + year":
        return META_ILLCONDITIONED_RTOL
    return META_RTOL if method in CLOSED_FORM else META_REGRESS_ITERATIVE_RTOL


def _python_mods(mods: str) -> str | None:
    # R's factor(alloc) is C(alloc) here: both treatment-coded with sorted levels
    return None if mods == "~ 1" else mods.replace("alloc", "C(alloc)")


def _fit(dataset: str, mods: str, key: str):
    method, test = key.split("_")
    rows = DATA[DATA.dataset == dataset].reset_index(drop=True)
    return rows, regress(
        rows.yi, rows.vi, _python_mods(mods), data=rows, method=method, test=test, labels=rows.study
    )


def _close(actual, expected, rtol: float, atol: float = 0.0) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=rtol, atol=atol
    )


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None  # R NULL -> {} in JSON


@pytest.mark.parametrize(("dataset", "mods", "key"), CASES)
def test_regress_matches_metafor(dataset: str, mods: str, key: str) -> None:
    ref = FIXTURE["datasets"][dataset][mods]["fits"][key]
    method, test = key.split("_")
    rtol = _rtol(mods, method)
    _, res = _fit(dataset, mods, key)
    assert res.k == ref["k"] and res.n_coef == ref["p"]
    _close(res.tau2, ref["tau2"], rtol, META_ZERO_ATOL)
    for ours, theirs in (
        ("estimate", "beta"),
        ("se", "se"),
        ("statistic", "zval"),
        ("p", "pval"),
        ("ci_low", "ci_lb"),
        ("ci_high", "ci_ub"),
    ):
        _close(getattr(res, ours), np.atleast_1d(ref[theirs]), rtol, META_ZERO_ATOL)
    _close(res.vcov, np.reshape(ref["vcov"], (res.n_coef, res.n_coef)), rtol, META_ZERO_ATOL)
    _close(res.qe, ref["QE"], rtol)
    _close(res.qe_p, ref["QEp"], rtol, META_ZERO_ATOL)
    if res.n_coef > 1:
        _close(res.qm, ref["QM"], rtol)
        _close(res.qm_p, ref["QMp"], rtol, META_ZERO_ATOL)
        assert res.qm_df[0] == ref["QMdf"][0]
    _close(res.i2, ref["I2"], rtol, META_ZERO_ATOL)
    _close(res.h2, ref["H2"], rtol)
    r2 = _number(ref.get("R2"))
    if r2 is None:
        assert np.isnan(res.r2)
    else:
        _close(res.r2, r2, rtol, META_ZERO_ATOL)
    _close(res.loglik_ml, ref["ll_ml"], rtol)
    _close(res.loglik_reml, ref["ll_reml"], rtol)
    se_tau2 = _number(ref["se_tau2"])
    if se_tau2 is None:
        assert np.isnan(res.tau2_se)
    else:
        _close(res.tau2_se, se_tau2, rtol)
    if test == "z":
        assert np.isinf(res.df)
    else:
        assert res.df == ref["ddf"]
        _close(res.s2w, ref["s2w"], rtol)
        if test == "adhoc":
            assert res.s2w >= 1.0


@pytest.mark.parametrize(
    ("dataset", "mods", "key"), [c for c in CASES if not c[2].startswith("FE")]
)
def test_blups_and_tau2_intervals_match_metafor(dataset: str, mods: str, key: str) -> None:
    ref = FIXTURE["datasets"][dataset][mods]["fits"][key]
    rtol = _rtol(mods, key.split("_")[0])
    _, res = _fit(dataset, mods, key)
    blup = res.blup()
    _close(blup.estimate, ref["blup"]["pred"], rtol, META_ZERO_ATOL)
    _close(blup.se, ref["blup"]["se"], rtol)
    _close(blup.pi_low, ref["blup"]["pi_lb"], rtol, META_ZERO_ATOL)
    _close(blup.pi_high, ref["blup"]["pi_ub"], rtol, META_ZERO_ATOL)
    if "qp_ci" in ref:
        _close(res.tau2_ci, ref["qp_ci"], rtol, META_ZERO_ATOL)
        _close(res.i2_ci, ref["qp_i2_ci"], rtol, META_ZERO_ATOL)
    if "pl_ci" in ref:
        _close(res.tau2_pl_ci, ref["pl_ci"], rtol, META_ZERO_ATOL)
    elif key.split("_")[0] not in ("ML", "REML"):
        assert np.isnan(res.tau2_pl_ci).all()


@pytest.mark.parametrize(("dataset", "mods", "key"), [c for c in CASES if c[1] == "~ 1"])
def test_pool_agrees_with_intercept_only_regression(dataset: str, mods: str, key: str) -> None:
    """pool() gives metafor's intercept-only numbers for every estimator and test too."""
    ref = FIXTURE["datasets"][dataset][mods]["fits"][key]
    method, test = key.split("_")
    rtol = _rtol(mods, method)
    rows = DATA[DATA.dataset == dataset]
    res = pool(rows.yi, rows.vi, method=method, hksj=test != "z", adhoc=test == "adhoc")
    _close(res.tau2, ref["tau2"], rtol, META_ZERO_ATOL)
    _close(res.estimate, ref["beta"], rtol)
    _close(res.se, ref["se"], rtol)
    _close(res.ci, [ref["ci_lb"], ref["ci_ub"]], rtol, META_ZERO_ATOL)
    if method != "FE":
        _close(res.tau2_se, ref["se_tau2"], rtol)
        _close(res.blup().estimate, ref["blup"]["pred"], rtol, META_ZERO_ATOL)
        _close(res.blup().se, ref["blup"]["se"], rtol)
        if "pl_ci" in ref:
            _close(res.tau2_pl_ci, ref["pl_ci"], rtol, META_ZERO_ATOL)


def test_fixture_covers_required_cases() -> None:
    bcg = FIXTURE["datasets"]["bcg"]
    # tight control: metafor's default REML stops measurably away from the exact root
    entry = bcg["~ ablat"]
    gap = abs(entry["default_control_reml_tau2"] - entry["fits"]["REML_z"]["tau2"])
    assert 1e-7 < gap < 3e-4
    assert FIXTURE["datasets"]["hine"]["~ 1"]["fits"]["REML_z"]["tau2"] == 0.0
    # the ad hoc truncation binds somewhere (s2w < 1 under plain Knapp-Hartung)
    assert any(
        f["fits"]["DL_knha"]["s2w"] < 1
        for entry in FIXTURE["datasets"].values()
        for f in entry.values()
    )
    # the estimators really differ on these data (the test would catch a swapped formula)
    taus = {m: bcg["~ ablat"]["fits"][f"{m}_z"]["tau2"] for m in ("DL", "HE", "HS", "SJ", "REML")}
    assert len({round(t, 6) for t in taus.values()}) == len(taus)
    assert bcg["~ ablat"]["fits"]["EB_z"]["tau2"] == pytest.approx(
        bcg["~ ablat"]["fits"]["PM_z"]["tau2"], rel=META_REGRESS_ITERATIVE_RTOL
    )


def test_design_from_frame_and_array_equals_formula() -> None:
    rows = DATA[DATA.dataset == "bcg"].reset_index(drop=True)
    by_formula = regress(rows.yi, rows.vi, "~ ablat", data=rows)
    by_frame = regress(rows.yi, rows.vi, rows[["ablat"]])
    by_array = regress(rows.yi, rows.vi, rows.ablat.to_numpy())
    _close(by_frame.estimate, by_formula.estimate, META_RTOL)
    _close(by_array.se, by_formula.se, META_RTOL)
    assert by_frame.terms == ("Intercept", "ablat")
    assert by_array.terms == ("Intercept", "x1")
    frame = by_formula.to_frame()
    assert list(frame.term) == ["Intercept", "ablat"]
    assert "Meta-regression" in str(by_formula) and "QM" in by_formula._repr_html_()


def test_bad_moderators_are_named() -> None:
    from ipdma.errors import FormulaError, InputError

    rows = DATA[DATA.dataset == "bcg"].reset_index(drop=True)
    holes = rows.assign(ablat=rows.ablat.where(rows.index != 3))
    with pytest.raises(InputError, match="ablat") as info:
        regress(holes.yi, holes.vi, holes[["ablat"]])
    assert info.value.row == 3
    with pytest.raises(InputError, match="collinear"):
        regress(rows.yi, rows.vi, rows.assign(twice=2 * rows.ablat)[["ablat", "twice"]])
    with pytest.raises(InputError, match="no data"):
        regress(rows.yi, rows.vi, "~ ablat")
    with pytest.raises(FormulaError, match="nosuch"):
        regress(rows.yi, rows.vi, "~ nosuch", data=rows)
    with pytest.raises(InputError, match="cannot estimate"):
        regress(rows.yi[:2], rows.vi[:2], rows.ablat[:2].to_numpy())


def test_r_power_syntax_in_moderators() -> None:
    rows = DATA[DATA.dataset == "bcg"].reset_index(drop=True)
    r_style = regress(rows.yi, rows.vi, "~ ablat + I(ablat^2)", data=rows)
    python_style = regress(rows.yi, rows.vi, "~ ablat + I(ablat**2)", data=rows)
    _close(r_style.estimate, python_style.estimate, META_RTOL)
    by_hand = regress(rows.yi, rows.vi, np.column_stack([rows.ablat, rows.ablat**2]))
    _close(r_style.estimate, by_hand.estimate, META_RTOL)


@pytest.mark.parametrize("method", ["FE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM"])
@pytest.mark.parametrize("test", ["z", "knha", "adhoc"])
def test_identical_estimates_give_tau2_zero_and_finite_fits(method: str, test: str) -> None:
    y, v, x = [0.2] * 4, [0.1, 0.2, 0.1, 0.3], np.array([1.0, 2.0, 3.0, 4.0])
    res = regress(y, v, x, method=method, test=test)
    assert res.tau2 == 0.0 and res.qe == pytest.approx(0.0, abs=META_ZERO_ATOL)
    assert res.estimate == pytest.approx((0.2, 0.0), abs=META_ZERO_ATOL)
    if test == "knha":  # s2 = 0: no covariance left, QM undefined (metafor gives NA)
        assert res.s2w == 0.0 and np.isnan(res.qm)
    else:
        assert np.isfinite(res.qm)
    pooled = pool(y, v, method=method, hksj=test != "z", adhoc=test == "adhoc")
    assert pooled.estimate == pytest.approx(0.2, rel=META_RTOL) and pooled.tau2 == 0.0
