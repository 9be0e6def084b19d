"""Each bad input is its own test with a clear message naming where and how to fix it."""

from __future__ import annotations

import numpy as np
import pyreadstat
import pytest
from tests.data.ingest.project import ALPHA_LABELS, alpha_frame, beta_frame, write_beta_csv

from ipdma.errors import DataFileError, InputError, SpecError
from ipdma.store import ingest


def _edit_spec(project, trial, old, new):
    path = project.parent / "trials" / f"{trial}.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _write_alpha(project, frame):
    pyreadstat.write_sav(frame, project.parent / "data" / "alpha.sav",
                         variable_value_labels=ALPHA_LABELS)  # fmt: skip


def test_missing_data_file(project):
    (project.parent / "data" / "gamma.dta").unlink()
    with pytest.raises(DataFileError, match="does not exist") as info:
        ingest(project)
    assert "gamma.dta" in str(info.value)


def test_spec_column_not_in_file(project):
    _edit_spec(project, "alpha", 'column = "age"', 'column = "agee"')
    with pytest.raises(SpecError) as info:
        ingest(project)
    text = str(info.value)
    assert "column 'agee' named in variables.age is not in the data file" in text
    assert "trial alpha" in text and "did you mean 'age'?" in text


def test_unmapped_arm_code(project):
    frame = alpha_frame()
    frame.loc[4, "group"] = 7.0
    _write_alpha(project, frame)
    with pytest.raises(InputError) as info:
        ingest(project)
    text = str(info.value)
    assert "arm code not mapped by the spec (mapped codes: 1, 2)" in text
    assert "row 5 (id 105)" in text and "value 7.0" in text
    assert "code = '7'" in text


def test_duplicate_participant_ids_wide(project):
    frame = alpha_frame()
    frame.loc[6, "subject"] = frame.loc[2, "subject"]
    _write_alpha(project, frame)
    with pytest.raises(InputError, match="duplicate participant ids") as info:
        ingest(project)
    assert "value '103'" in str(info.value)


def test_duplicate_participant_visits_long(project):
    frame = beta_frame()
    frame.loc[1, "month"] = 0
    write_beta_csv(frame, project.parent / "data" / "beta.csv")
    with pytest.raises(InputError, match="duplicate participant id and time") as info:
        ingest(project)
    assert "trial beta" in str(info.value)


def test_value_outside_instrument_range(project):
    frame = alpha_frame()
    frame.loc[7, "rmdq13"] = 25.0
    _write_alpha(project, frame)
    with pytest.raises(InputError) as info:
        ingest(project)
    text = str(info.value)
    assert "outside the RMDQ (24 items) range 0-24" in text
    for part in ("trial alpha", "variable rmdq13", "row 8 (id 108)", "value 25.0"):
        assert part in text


def test_non_numeric_value_in_numeric_column(project):
    frame = beta_frame()
    frame["age"] = frame["age"].astype(object)
    frame.loc[4, "age"] = "forty"
    write_beta_csv(frame, project.parent / "data" / "beta.csv")
    with pytest.raises(InputError) as info:
        ingest(project)
    text = str(info.value)
    assert "non-numeric value in a numeric column" in text
    assert "variable age" in text and "value 'forty'" in text and "id B01" in text


def test_unmapped_value_code(project):
    frame = beta_frame()
    frame.loc[0, "kon"] = "okänd"
    frame.loc[1:3, "kon"] = "okänd"
    write_beta_csv(frame, project.parent / "data" / "beta.csv")
    with pytest.raises(InputError, match="value not mapped by `codes`") as info:
        ingest(project)
    assert "okänd" in str(info.value)


def test_variable_outside_valid_range(project):
    frame = alpha_frame()
    frame.loc[0, "age"] = 140.0
    _write_alpha(project, frame)
    with pytest.raises(InputError, match="outside the valid range of age 16 to 100"):
        ingest(project)


def test_unknown_instrument_suggests(project):
    _edit_spec(project, "alpha", 'instrument = "rmdq_24"', 'instrument = "rmdq24"')
    with pytest.raises(SpecError, match=r"(?s)unknown instrument 'rmdq24'.*did you mean 'rmdq_24'"):
        ingest(project)


def test_identifier_as_id_needs_permission(project):
    _edit_spec(project, "alpha", 'keep = ["centre"]', 'keep = ["centre", "email"]')
    with pytest.raises(SpecError, match="looks like a direct identifier") as info:
        ingest(project)
    assert "allow_identifiers" in str(info.value)
    _edit_spec(
        project, "alpha", "missing = [999]", 'missing = [999]\nallow_identifiers = ["email"]'
    )
    result = ingest(project)
    report = result.identifiers.set_index("column")
    assert report.loc["email", "action"] == "copied (allowed by spec)"
    assert report.loc["name", "action"] == "left out"


def test_missing_codes_all_missing_column(project):
    frame = alpha_frame()
    frame["smoke"] = 9.0
    _write_alpha(project, frame)
    ingest(project)
    from ipdma.store import load

    smoker = load(project).participants.query("trial == 'alpha'")["smoker"]
    assert np.isnan(smoker).all()


def test_missing_visit_time_in_long_file(project):
    frame = beta_frame()
    frame["month"] = frame["month"].astype(float)
    frame.loc[5, "month"] = np.nan
    write_beta_csv(frame, project.parent / "data" / "beta.csv")
    with pytest.raises(InputError, match="visit time is missing") as info:
        ingest(project)
    assert "variable month" in str(info.value) and "row 6" in str(info.value)


def test_long_file_without_baseline_row_uses_earliest_visit(project):
    frame = beta_frame()
    frame = frame[~((frame["pnr"] == "B03") & (frame["month"] == 0))]
    frame.loc[frame["pnr"] == "B03", "age"] = [41.0, 42.0, 43.0]
    write_beta_csv(frame, project.parent / "data" / "beta.csv")
    ingest(project)
    from ipdma.store import load

    b03 = load(project).participants.query("trial == 'beta' and pid == 'B03'").iloc[0]
    assert b03["age"] == 41.0  # the earliest visit (month 3)
    assert np.isnan(b03["pain0"])  # no baseline measurement


def test_unknown_variable_suggests(project):
    _edit_spec(project, "alpha", "[variables.smoker]", "[variables.smokers]")
    with pytest.raises(SpecError, match=r"(?s)unknown variable 'smokers'.*did you mean 'smoker'"):
        ingest(project)


def test_binary_variable_not_coded_0_1(project):
    _edit_spec(
        project, "alpha", 'column = "sex"\ncodes = { male = 0, female = 1 }', 'column = "sex"'
    )
    with pytest.raises(InputError, match="outside the valid range of female 0 to 1") as info:
        ingest(project)
    assert "value 2.0" in str(info.value) and "codes" in str(info.value)
