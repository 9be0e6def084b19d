"""Tables on data from the other stages: the INGEST fixture project and the simulator."""

from __future__ import annotations

import pytest
from tests.data.ingest.project import make_project

from ipdma import describe
from ipdma.simulate import harmonized_ipd
from ipdma.store import ingest, load


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    return load(ingest(make_project(tmp_path_factory.mktemp("project"))).path)


def test_tables_on_ingested_master(ingested) -> None:
    included = ingested.trials[ingested.trials.included]
    t1 = describe.table1(ingested)
    assert sorted(t1.trial) == sorted(included.trial)
    t2 = describe.table2(ingested)
    size = t2[t2.row == "Number of participants per trial"].iloc[0]
    assert size.included_n == len(included)
    assert size.not_included_n == (~ingested.trials.included).sum()
    t3 = describe.table3(ingested)
    assert (t3[t3.kind != "level"].n <= len(ingested.participants)).all()
    assert set(t3.variable) <= set(ingested.participants.columns)


def test_table3_on_simulated_consortium_resembles_the_paper() -> None:
    frame = harmonized_ipd(seed=3)
    t3 = describe.table3(frame).set_index(["variable", "level"])
    assert len(frame) == 3514
    # the simulator is shaped like the paper's Table 3; allow sampling noise
    assert t3.loc[("age", ""), "estimate"] == pytest.approx(45.7, abs=1.0)
    assert t3.loc[("female", "female"), "pct"] == pytest.approx(55.5, abs=2.5)
    assert t3.loc[("lbp_history", ""), "missing_pct"] == pytest.approx(75, abs=4)
    assert t3.loc[("episode_months", ""), "estimate"] == pytest.approx(14.0, abs=3)
