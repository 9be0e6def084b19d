"""Figure 2: published results of included vs not-included trials (RevMan-style subgroups)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.tolerances import META_RTOL

from ipdma.errors import DataWarning, InputError
from ipdma.meta import published_comparison, subgroup
from ipdma.store import MasterData


def _master(trials: pd.DataFrame, published: pd.DataFrame) -> MasterData:
    empty = pd.DataFrame()
    return MasterData(trials, empty, empty, empty, empty, empty, published, empty)


@pytest.fixture
def master() -> MasterData:
    trials = pd.DataFrame(
        {
            "trial": ["a", "b", "c", "d", "e", "f"],
            "label": ["A, 2001", "B, 2002", "C, 2003", "D, 2004", "E, 2005", "F, 2006"],
            "included": [True, True, True, False, False, False],
        }
    )
    published = pd.DataFrame(
        {
            "trial": ["a", "b", "c", "d", "e", "f", "a"],
            "outcome": ["pain"] * 6 + ["function"],
            "comparison": ["any"] * 7,
            "md": [-2.0, 4.0, -5.0, -12.0, -8.0, -11.0, -3.0],
            "se": [3.0, 2.5, 4.0, 3.5, 2.0, 5.0, 2.0],
        }
    )
    return _master(trials, published)


def test_groups_and_dl_pooling(master) -> None:
    res = published_comparison(master)
    assert res.names == ("Included in the IPD analysis", "Eligible, not providing IPD")
    direct = subgroup(
        [-2, 4, -5, -12, -8, -11], np.square([3, 2.5, 4, 3.5, 2, 5]), list("iiinnn"), method="DL"
    )
    assert res.overall.method == "DL"
    assert res.q_between == pytest.approx(direct.q_between, rel=META_RTOL)
    assert res.groups[0][1].labels == ("A, 2001", "B, 2002", "C, 2003")
    assert res.groups[0][1].estimate == pytest.approx(direct["i"].estimate, rel=META_RTOL)


def test_missing_results_warn_and_unknown_trials_fail(master) -> None:
    master.published.loc[1, "se"] = np.nan
    with pytest.warns(DataWarning, match="left out: b"):
        res = published_comparison(master)
    assert res.overall.k == 5
    master.published.loc[0, "trial"] = "zz"
    with pytest.raises(InputError, match="trial zz"):
        published_comparison(master)
    with pytest.raises(InputError, match="no published recovery"):
        published_comparison(
            _master(master.trials, master.published.iloc[2:]),
            outcome="recovery",
        )
