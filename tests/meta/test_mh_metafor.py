"""escalc (RR, OR, RD, IRR, PETO), Mantel-Haenszel and Peto pooling against metafor 3.8-1
(tests/reference/metafor_mh.R); closed-form everywhere, so held to META_RTOL."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.tolerances import META_RTOL, META_ZERO_ATOL

from ipdma.errors import InputError, SpecError
from ipdma.meta import escalc, mantel_haenszel, peto

REFERENCE = Path(__file__).parents[1] / "reference"
COUNTS = pd.read_csv(REFERENCE / "metafor_counts.csv")
RATES = pd.read_csv(REFERENCE / "metafor_rates.csv")
FIXTURE = json.loads((REFERENCE / "metafor_mh.json").read_text())


def _close(actual, expected, atol: float = META_ZERO_ATOL) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float),
        np.asarray(expected, dtype=float),
        rtol=META_RTOL,
        atol=atol,
    )


def _table(df: pd.DataFrame) -> dict:
    return {"ai": df.ai, "n1i": df.n1i, "ci": df.ci, "n2i": df.n2i}


@pytest.mark.parametrize("measure", ["RR", "OR", "RD"])
def test_escalc_tables_match_metafor(measure: str) -> None:
    low = measure.lower()
    es = escalc(measure, **_table(COUNTS), labels=COUNTS.study)
    _close(es.yi, COUNTS[f"{low}_yi"])
    _close(es.vi, COUNTS[f"{low}_vi"])
    everywhere = escalc(measure, **_table(COUNTS), add=0.25, to="all")
    _close(everywhere.yi, COUNTS[f"{low}_all_yi"])
    _close(everywhere.vi, COUNTS[f"{low}_all_vi"])
    dropped = escalc(measure, **_table(COUNTS), drop00=True)
    _close(dropped.yi, COUNTS[f"{low}_drop_yi"])  # NaN where metafor gives NA
    assert np.isnan(dropped.yi).sum() == COUNTS[f"{low}_drop_yi"].isna().sum() > 0
    # the cells can be given as non-events instead of group sizes
    by_cells = escalc(
        measure, ai=COUNTS.ai, bi=COUNTS.n1i - COUNTS.ai, ci=COUNTS.ci, di=COUNTS.n2i - COUNTS.ci
    )
    _close(by_cells.yi, es.yi)


def test_escalc_rates_match_metafor() -> None:
    es = escalc("IRR", x1i=RATES.x1i, t1i=RATES.t1i, x2i=RATES.x2i, t2i=RATES.t2i)
    _close(es.yi, RATES.irr_yi)
    _close(es.vi, RATES.irr_vi)
    dropped = escalc("IRR", x1i=RATES.x1i, t1i=RATES.t1i, x2i=RATES.x2i, t2i=RATES.t2i, drop00=True)
    _close(dropped.yi, RATES.irr_drop_yi)
    assert (RATES.x1i == 0).any() and ((RATES.x1i == 0) & (RATES.x2i == 0)).any()


def test_escalc_continuous_measures_dispatch() -> None:
    cont = pd.read_csv(REFERENCE / "metafor_escalc_continuous.csv")
    args = {
        "m1i": cont.m1i, "sd1i": cont.sd1i, "n1i": cont.n1i,
        "m2i": cont.m2i, "sd2i": cont.sd2i, "n2i": cont.n2i,
    }  # fmt: skip
    _close(escalc("SMD", **args).yi, cont.smd_yi)
    _close(escalc("SMD", **args).vi, cont.smd_vi)
    _close(escalc("MD", **args).vi, cont.md_vi)


CASES = [(d, key) for d, fits in FIXTURE["datasets"].items() for key in fits]


@pytest.mark.parametrize(("dataset", "key"), CASES)
def test_pooling_matches_rma_mh_and_rma_peto(dataset: str, key: str) -> None:
    ref = FIXTURE["datasets"][dataset][key]
    if dataset == "hart":
        res = mantel_haenszel("IRR", x1i=RATES.x1i, t1i=RATES.t1i, x2i=RATES.x2i, t2i=RATES.t2i)
    else:
        rows = COUNTS[COUNTS.dataset == dataset]
        if key == "PETO":
            res = peto(**_table(rows))
        else:
            measure = key.split("_")[1]
            res = mantel_haenszel(measure, **_table(rows), correct=not key.endswith("nocorrect"))
    assert (res.k, res.k_yi) == (ref["k"], ref["k_yi"])
    _close(res.estimate, ref["beta"])
    _close(res.se, ref["se"])
    _close(res.ci, [ref["ci_lb"], ref["ci_ub"]])
    _close(res.statistic, ref["zval"])
    _close(res.p, ref["pval"])
    _close(res.q, ref["QE"])
    _close(res.q_p, ref["QEp"])
    _close(res.i2, ref["I2"])
    _close(res.h2, ref["H2"])
    for ours, theirs in (
        ("cochran", "CO"),
        ("cmh", "MH"),
        ("breslow_day", "BD"),
        ("tarone", "TA"),
    ):
        expected = ref.get(theirs)
        if expected is None:
            assert np.isnan(getattr(res, ours))
        else:
            _close(getattr(res, ours), expected)
            _close(getattr(res, ours + "_p"), ref[theirs + "p"])
    if ref.get("k_pos") is not None:
        assert res.k_pos == ref["k_pos"]
    assert len(res.to_frame()) == 1 and "Q =" in str(res)


def test_fixture_has_zero_cells_where_they_matter() -> None:
    zeros = FIXTURE["datasets"]["zeros"]
    assert zeros["MH_OR"]["k_yi"] < zeros["MH_OR"]["k"]  # double-zero / all-event tables
    assert FIXTURE["datasets"]["nielweise"]["MH_OR"]["k_yi"] > 1


def test_bad_tables_are_named() -> None:
    with pytest.raises(InputError, match="ci") as info:
        escalc("RR", ai=[1, 2], n1i=[10, 10], ci=[3, 12], n2i=[10, 10])
    assert info.value.row == 1
    with pytest.raises(SpecError, match="bi and di or n1i and n2i"):
        escalc("OR", ai=[1], ci=[2])
    with pytest.raises(SpecError, match="measure"):
        escalc("LOR", ai=[1], n1i=[3], ci=[2], n2i=[4])
    with pytest.raises(InputError, match="t2i"):
        escalc("IRR", x1i=[1], t1i=[10], x2i=[2], t2i=[0])
    with pytest.raises(InputError, match="undefined"):
        mantel_haenszel("OR", ai=[0, 0], n1i=[10, 12], ci=[0, 0], n2i=[9, 11])
    with pytest.raises(InputError, match="never occurred"):
        peto(ai=[0, 0], n1i=[10, 12], ci=[0, 0], n2i=[9, 11])
