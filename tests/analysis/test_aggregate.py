"""IPD + aggregate data in the grid (``[[aggregate_trials]]``, ``[analysis] aggregate``):
typed records in the results store, the exported table, the report section, bad input."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tomli_w

import ipdma.simulate as simulate
from ipdma.analysis import load_results, run
from ipdma.analysis._aggregate_records import AggregateAnalysis
from ipdma.cli import main
from ipdma.errors import SpecError
from ipdma.meta import pool
from ipdma.report._aggregate import aggregate_section
from ipdma.spec import load_project
from ipdma.store import ingest
from tests.tolerances import GRID_VS_DIRECT_RTOL, META_ITERATIVE_RTOL

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::ipdma.errors.IpdmaWarning")]

PLAN = {
    "outcomes": ["pain", "function"],
    "windows": ["short"],
    "comparisons": ["any"],
    "modifiers": ["age"],
    "adjustments": ["unadjusted"],
    "subgroups": False,
    "aggregate": True,
}
ENTRIES = [
    {"id": "smith2004", "label": "Smith 2004", "outcome": "pain", "follow_up": "short",
     "estimate": -8.2, "se": 2.9, "n_exercise": 40, "n_comparison": 38},
    {"id": "jones2010", "label": "Jones 2010", "outcome": "pain", "follow_up": 12,
     "estimate": -3.0, "ci_low": -9.0, "ci_high": 3.0},
    {"id": "lee2012", "label": "Lee 2012", "outcome": "function", "follow_up": 52,
     "estimate": -5.0, "se": 2.0},
]  # fmt: skip


def _write(project: Path, **changes: object) -> Path:
    data = tomllib.loads(project.read_text("utf-8"))
    data.update(changes)
    target = project.with_name(f"variant{len(list(project.parent.glob('variant*')))}.toml")
    target.write_text(tomli_w.dumps(data), "utf-8")
    return target


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("aggregate")
    config = simulate.default_config()
    config = dataclasses.replace(config, trials=config.trials[:6])
    simulate.consortium(folder, seed=5, config=config)
    path = folder / "project.toml"
    data = tomllib.loads(path.read_text("utf-8"))
    data["analysis"] = {**data.get("analysis", {}), **PLAN}
    data["aggregate_trials"] = ENTRIES
    path.write_text(tomli_w.dumps(data), "utf-8")
    ingest(path)
    return path


@pytest.fixture(scope="module")
def results(project: Path):
    return run(project, jobs=1)


def test_records_hold_ipd_only_and_ipd_plus_aggregate_per_approach(results) -> None:
    table = results.aggregate
    assert set(table.outcome) == {"pain", "function"}  # lee2012 is long-term: not here
    for record in results.aggregate_analyses:
        assert isinstance(record, AggregateAnalysis)
        kinds = {(e.approach, e.data) for e in record.estimates}
        assert len(kinds) == 4 and all(e.converged for e in record.estimates)
        trials = record.trials
        ad = trials[trials.source == "aggregate"]
        both = [e for e in record.estimates if e.data != "IPD only"]
        assert all(e.k_aggregate == len(ad) for e in both)
    pain = next(r for r in results.aggregate_analyses if r.outcome == "pain")
    labels = set(pain.trials.label)
    assert {"Smith 2004", "Jones 2010"} <= labels  # 12 weeks -> the short window
    jones = pain.trials.set_index("label").loc["Jones 2010"]
    assert jones.se == pytest.approx(12.0 / (2 * 1.959963984540054))


def test_ipd_only_rows_equal_the_grid_and_the_combined_rows_equal_pooling(results) -> None:
    overall = results.overall.set_index("outcome")
    for record in results.aggregate_analyses:
        rows = {(e.approach, e.data): e for e in record.estimates}
        one = rows[("one-stage", "IPD only")]
        grid = overall.loc[record.outcome]
        assert one.estimate == pytest.approx(grid.estimate, rel=GRID_VS_DIRECT_RTOL)
        two = rows[("two-stage", "IPD only")]
        assert two.estimate == pytest.approx(grid.two_stage_estimate, rel=GRID_VS_DIRECT_RTOL)
        used = record.trials[np.isfinite(record.trials.se)]
        ref = pool(used.estimate, used.se**2, method="REML")
        combined = rows[("two-stage", "IPD + aggregate data")]
        assert combined.estimate == pytest.approx(ref.estimate, rel=META_ITERATIVE_RTOL)
        assert combined.se == pytest.approx(ref.se, rel=META_ITERATIVE_RTOL)
        assert combined.tau2 == pytest.approx(ref.tau2, rel=META_ITERATIVE_RTOL, abs=1e-9)


def test_records_round_trip_through_the_results_store(project: Path, results) -> None:
    loaded = load_results(project)
    pairs = zip(loaded.aggregate_analyses, results.aggregate_analyses, strict=True)
    assert all(a.to_json() == b.to_json() for a, b in pairs)
    for a, b in zip(loaded.aggregate_analyses, results.aggregate_analyses, strict=True):
        pd.testing.assert_frame_equal(a.trials, b.trials, check_exact=True)
    pd.testing.assert_frame_equal(loaded.aggregate, results.aggregate)
    exported = pd.read_csv(project.parent / "output" / "tables" / "aggregate.csv")
    assert len(exported) == len(results.aggregate)
    section = aggregate_section(loaded, ())
    assert section is not None and section.title == "IPD and aggregate data"
    table = next(i for i in section.items if getattr(i, "key", "") == "aggregate_sensitivity")
    assert len(table.frame) == len(results.aggregate)


def test_off_by_default(project: Path) -> None:
    plan = {**PLAN, "aggregate": False}
    results = run(project, plan, jobs=1, output=project.parent / "off",
                  cache=project.parent / "off.duckdb")  # fmt: skip
    assert results.aggregate_analyses == () and len(results.aggregate) == 0
    assert not (project.parent / "off" / "tables" / "aggregate.csv").exists()


def test_an_entry_with_the_id_of_an_ipd_trial_is_an_error(project: Path, results, capsys) -> None:
    ipd = str(results.aggregate_analyses[0].trials.trial.iloc[0])
    clash = [dict(ENTRIES[0], id=ipd)]
    bad = _write(project, aggregate_trials=clash)
    with pytest.raises(SpecError) as info:
        run(bad, jobs=1, output=project.parent / "bad", cache=project.parent / "bad.duckdb")
    assert info.value.variable == "aggregate_trials[0].id" and info.value.value == ipd
    assert info.value.file is not None and info.value.file.endswith(bad.name)
    assert main(["-q", "analyze", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "aggregate_trials[0].id" in err and "Traceback" not in err
    # checked before any fit: the project's stored results are untouched
    assert len(load_results(project).aggregate_analyses) == len(results.aggregate_analyses)


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"se": None}, "se is missing"),
        ({"se": -1.0}, "aggregate_trials[0].se"),
        ({"outcome": "recovery"}, "aggregate_trials[0].outcome"),
        ({"follow_up": "shrt"}, "follow_up"),
    ],
)
def test_bad_entries_name_the_project_file_entry_and_field(
    project: Path, entry: dict, field: str
) -> None:
    bad_entry = {k: v for k, v in {**ENTRIES[0], **entry}.items() if v is not None}
    bad = _write(project, aggregate_trials=[bad_entry])
    with pytest.raises(SpecError) as info:
        load_project(bad)
    text = str(info.value)
    assert field in text and "aggregate_trials[0]" in text and bad.name in text


def test_the_report_shows_the_table_and_marks_aggregate_trials(project: Path, results) -> None:
    from ipdma.report import build

    html = build(project).read_text("utf-8")
    assert "IPD and aggregate data" in html
    assert "Sensitivity analysis: IPD only vs IPD + aggregate data" in html
    figures = project.parent / "output" / "figures"
    svg = (figures / "aggregate_forest_pain_any.svg").read_text("utf-8")
    assert "aggregate-markers" in svg and "Smith 2004 (AD)" in svg
