"""IPD + aggregate data in the two-stage analysis (Riley et al. 2008) against metafor rma on
the per-trial lm estimates plus published estimates (tests/reference/metafor_aggregate.R)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from tests.tolerances import META_ITERATIVE_RTOL, META_RTOL, META_TAU2_ATOL, META_TAU2_RTOL

from ipdma.errors import InputError
from ipdma.meta import AGGREGATE_MARK, aggregate_effects, aggregate_sensitivity, two_stage
from ipdma.store import MasterData

REFERENCE = Path(__file__).parents[1] / "reference"
IPD = pd.read_csv(REFERENCE / "metafor_twostage_ipd.csv")
FIXTURE = json.loads((REFERENCE / "metafor_aggregate.json").read_text())
AD = pd.DataFrame(FIXTURE["aggregate"])
ARGS = {"outcome": "pain", "baseline": "pain0"}


@pytest.mark.parametrize("key", sorted(FIXTURE["fits"]))
def test_ipd_plus_aggregate_matches_rma_on_the_union(key: str) -> None:
    method, test = key.split("_")
    ref = FIXTURE["fits"][key]
    table, ipd_only, combined = aggregate_sensitivity(
        IPD, AD, method=method, hksj=test == "knha", **ARGS
    )
    rtol = META_RTOL if method == "DL" else META_ITERATIVE_RTOL
    expected = ref["combined"]
    assert combined.estimate == pytest.approx(expected["estimate"], rel=rtol)
    assert combined.se == pytest.approx(expected["se"], rel=rtol)
    assert combined.ci == pytest.approx((expected["ci_low"], expected["ci_high"]), rel=rtol)
    assert combined.tau2 == pytest.approx(expected["tau2"], rel=META_TAU2_RTOL, abs=META_TAU2_ATOL)
    assert combined.pooled.k == expected["k"] == ipd_only.pooled.k + len(AD)
    assert ipd_only.estimate == pytest.approx(ref["ipd_only"]["estimate"], rel=rtol)
    assert list(table.analysis) == ["IPD only", "IPD + aggregate data"]
    assert table.k_aggregate.tolist() == [0, 3]
    assert table.estimate.tolist() == [ipd_only.estimate, combined.estimate]


def test_aggregate_trials_are_marked() -> None:
    res = two_stage(IPD, aggregate=AD, **ARGS)
    rows = res.trials.set_index("trial")
    assert (rows.loc[AD.trial, "source"] == "aggregate").all()
    assert np.isnan(rows.loc[AD.trial, "n"]).all()
    assert sum(label.endswith(AGGREGATE_MARK) for label in res.pooled.labels) == 3
    assert res.to_frame().iloc[-1].n == rows.n.sum()  # participants of the IPD trials only


def test_aggregate_effects_from_the_master_tables() -> None:
    trials = pd.DataFrame(
        {"trial": ["a", "b", "c"], "label": ["A", "B", "C"], "included": [True, False, False]}
    )
    published = pd.DataFrame(
        {
            "trial": ["a", "b", "b", "c", "c"],
            "outcome": ["pain", "pain", "pain", "pain", "function"],
            "comparison": "any",
            "md": [-5.0, -3.0, -4.0, -6.0, -1.0],
            "se": [2.0, 1.5, 1.0, 2.5, 1.0],
            "time_weeks": [12.0, 12.0, 26.0, 13.0, 12.0],
        }
    )
    empty = pd.DataFrame()
    master = MasterData(trials, empty, empty, empty, empty, empty, published, empty)
    ad = aggregate_effects(master, outcome="pain", time_weeks=24)
    assert ad.trial.tolist() == ["b", "c"]  # the included trial 'a' is not aggregate data
    assert ad.estimate.tolist() == [-4.0, -6.0]  # b: the 26-week result is closest to 24
    with pytest.raises(InputError, match="expected the master dataset"):
        aggregate_effects(SimpleNamespace(trials=trials, published=published))  # type: ignore[arg-type]


def test_bad_aggregate_rows_are_named() -> None:
    with pytest.raises(InputError, match="both as IPD") as info:
        two_stage(
            IPD,
            aggregate=pd.DataFrame({"trial": ["trial02"], "estimate": [1.0], "se": [1.0]}),
            **ARGS,
        )
    assert info.value.trial == "trial02"
    with pytest.raises(InputError, match="se > 0"):
        two_stage(IPD, aggregate=AD.assign(se=[1.0, 0.0, 2.0]), **ARGS)
    with pytest.raises(InputError, match="column 'se'"):
        two_stage(IPD, aggregate=AD.drop(columns="se"), **ARGS)
