"""ModelResult: the frozen per-model record (issue 12)."""

import dataclasses
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from ipdma.analysis import TIDY_COLUMNS, AnalysisPlan, ModelResult, ModelSpec, prepare
from ipdma.analysis._fit import fit_prepared

from ._data import frame


@pytest.fixture(scope="module")
def record() -> ModelResult:
    plan = AnalysisPlan(outcomes=("pain",), comparisons=("usual",), modifiers=("medication",))
    spec = ModelSpec("interaction", "pain", "short", "usual", "medication", True)
    prepared = prepare(spec, frame(5, trials=6), plan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_prepared(prepared, plan).record


def test_record_states_its_inference_and_has_one_tidy_frame(record):
    assert record.status in ("fitted", "not converged")
    assert record.df_method == "satterthwaite" and record.level == 0.95
    tidy = record.tidy()
    assert tuple(tidy.columns) == TIDY_COLUMNS
    assert set(tidy.role) == {"treatment", "interaction", "across"}
    row = record.rows("interaction")[0]
    assert np.isfinite(row["df"]) and row["ci_low"] < row["estimate"] < row["ci_high"]
    assert row["studies"] > 1 and row["participants"] > 10
    assert record.nobs > 0 and 2 <= record.ngroups <= 6
    assert record.convergence is not None and record.message
    text = str(record)
    assert record.model_id in text and "Satterthwaite" in text and "medication" in text
    assert "<table" in record._repr_html_()


def test_record_is_frozen_and_its_frames_read_only(record):
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.status = "failed"  # type: ignore[misc]
    with pytest.raises(TypeError, match="read-only"):
        record.terms.loc[0, "estimate"] = 0.0
    with pytest.raises(TypeError, match="read-only"):
        record.varcomp["sd"] = 0.0
    copy = record.tidy()
    copy.loc[0, "estimate"] = 123.0  # a copy
    assert record.terms["estimate"].iloc[0] != 123.0


def test_json_round_trip_is_exact(record):
    again = ModelResult.from_json(record.to_json())
    assert again.to_json() == record.to_json()
    pd.testing.assert_frame_equal(again.tidy(), record.tidy())
    pd.testing.assert_frame_equal(pd.DataFrame(again.varcomp), pd.DataFrame(record.varcomp))
    assert again.convergence == record.convergence and again.spec == record.spec
    assert again.tau == record.tau


def test_message_is_generated_from_the_convergence_record():
    from ipdma.analysis import ConvergenceRecord

    ok = ConvergenceRecord(True, 1e-7, 1e-9, ("sd(treat)",))
    assert "verified" in ok.message and "sd(treat) estimated at 0" in ok.message
    assert ok.singular
    bad = ConvergenceRecord(False, 0.2, 3.5)
    assert "could not be verified" in bad.message and "2.0e-01" in bad.message
    separated = ConvergenceRecord(False, separated_terms=("rare",))
    assert "rare" in separated.message and "separation" in separated.message
    assert math.isnan(
        ConvergenceRecord.from_dict(bad.to_dict() | {"gradient_max": None}).gradient_max
    )


def test_tidy_columns_are_checked():
    with pytest.raises(ValueError, match="tidy frame columns"):
        ModelResult(
            spec=ModelSpec("overall", "pain", "short", "any"),
            status="failed",
            level=0.95,
            df_method="wald",
            terms=pd.DataFrame({"term": []}),
        )
