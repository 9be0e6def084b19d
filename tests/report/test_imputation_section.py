"""The report's multiple-imputation section: read from the results (complete cases beside
multiple imputation, availability, the min_trials warning, the convergence figure)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import ipdma.analysis as analysis
from ipdma.report._compose import ReportInputs, compose
from ipdma.report._imputation import imputation_section
from ipdma.report._write import write_report

from ..analysis._data import frame

PLAN = {"modifiers": ["medication", "bmi", "age"], "windows": ["short"], "comparisons": ["any"],
        "imputation": {"m": 3, "iterations": 4, "min_trials": 4}}  # fmt: skip


def _incomplete(seed: int = 3) -> pd.DataFrame:
    data = frame(seed, trials=12).copy()
    trials = data["trial"].unique()
    data.loc[data["trial"].isin(trials[:7]), "medication"] = np.nan  # measured in 5 trials
    data.loc[~data["trial"].isin(trials[:3]), "bmi"] = np.nan  # measured in 3 (< min_trials)
    rng = np.random.default_rng(seed)
    data.loc[rng.random(len(data)) < 0.1, "age"] = np.nan
    return data


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> analysis.AnalysisResults:
    store = tmp_path_factory.mktemp("imputed_report")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # singular fits, bmi not imputed (DataWarning)
        analysis.run(_incomplete(), PLAN, jobs=1, cache=store / "results.duckdb")
    # the report reads the results store, never the fits
    return analysis.load_results(store)


def _plan(results: analysis.AnalysisResults) -> dict:
    return results.plan.model_dump(mode="json")


def test_section_shows_cc_beside_mi_with_trials_measured_and_imputed(results) -> None:
    [section] = imputation_section(results, _plan(results), {"medication": "LBP medication"})
    tables = {item.key: item for item in section.items if item.kind == "table"}
    assert {"imputation_availability", "imputation_overall", "imputation_table4",
            "imputation_table5", "imputation_table6"} <= set(tables)  # fmt: skip
    table4 = tables["imputation_table4"].frame
    medication = table4[table4["Variable"] == "LBP medication"]
    assert (medication["Trials measured"] == "5").all()
    assert (medication["Trials imputed"] == "7").all()
    cc = results.imputation
    cc = cc[(cc["modifier"] == "medication") & (cc["outcome"] == "pain")]
    assert (cc["mi_studies"] > cc["cc_studies"]).all()  # the imputed trials come in
    shown = medication["Multiple imputation: Studies"].astype(int).to_numpy()
    np.testing.assert_array_equal(np.sort(shown), np.sort(cc["mi_studies"].to_numpy()))
    fmi = medication["Multiple imputation: FMI"].astype(float)
    assert fmi.between(0, 1).all() and (fmi > 0).all()
    availability = tables["imputation_availability"].frame.set_index("Variable")
    assert availability.loc["LBP medication", "Trials that measured it"] == "5"
    assert availability.loc["LBP medication", "Imputed"] == "yes"


def test_too_few_trials_is_warned_with_the_rule_and_rows_flagged(results) -> None:
    [section] = imputation_section(results, _plan(results), {})
    alerts = [item.text for item in section.items if item.kind == "text" and item.css == "alert"]
    assert len(alerts) == 1
    assert "measured in 3 trial(s); imputation needs at least 4" in alerts[0]
    assert "min_trials = 4" in alerts[0]
    table4 = next(i for i in section.items if i.kind == "table" and i.key == "imputation_table4")
    flagged = [row for row, css in zip(table4.frame.to_dict("records"), table4.row_classes,
                                       strict=True) if css == "warning"]  # fmt: skip
    assert flagged and all(r["Multiple imputation: Interaction (95% CI)"] == "not imputed"
                           for r in flagged)  # fmt: skip
    assert all("bmi" in r["Variable"].lower() or "body mass" in r["Variable"].lower()
               for r in flagged)  # fmt: skip


def test_convergence_figure_and_no_section_without_imputation(results, tmp_path) -> None:
    [section] = imputation_section(results, _plan(results), {})
    [figure] = [item for item in section.items if item.kind == "figure"]
    assert figure.key == "imputation_chains" and figure.png.startswith(b"\x89PNG")
    plan = _plan(results) | {"imputation": {"m": 0}}
    assert imputation_section(results, plan, {}) == []
    assert imputation_section(None, _plan(results), {}) == []
    inputs = ReportInputs(title="t", version="0", plan=_plan(results), results=results)
    document, _ = compose(inputs)
    assert "imputation" in [s.key for s in document.sections]
    files = write_report(inputs, tmp_path)
    assert (tmp_path / "figures" / "imputation_chains.svg").is_file()
    assert (tmp_path / "tables" / "imputation_table4.csv").is_file()
    assert "Sensitivity analysis: multiple imputation" in files.html.read_text("utf-8")
