"""Arms matched by value label, Excel sources, comparison sets, project variables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.data.ingest.project import gamma_frame

from ipdma.harmonize import comparison_set
from ipdma.store import ingest, load


def _edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_arm_matched_by_value_label(project):
    spec = project.parent / "trials" / "alpha.toml"
    _edit(spec, "code = 1\n", 'code = "Exercise"\n')  # the SPSS value label of 1
    ingest(project)
    alpha = load(project).participants.query("trial == 'alpha'")
    assert set(alpha["arm_code"]) == {"Exercise", "2"}
    assert alpha.loc[alpha["arm_code"] == "Exercise", "treat"].eq(1.0).all()


def test_excel_source_with_sheet_and_project_variable(project):
    root = project.parent
    frame = gamma_frame().assign(height_m=np.linspace(1.6, 1.9, 9))
    with pd.ExcelWriter(root / "data" / "gamma.xlsx") as writer:
        pd.DataFrame({"note": ["cover sheet"]}).to_excel(writer, sheet_name="readme")
        frame.to_excel(writer, sheet_name="ipd", index=False)
    spec = root / "trials" / "gamma.toml"
    _edit(spec, 'file = "../data/gamma.dta"', 'file = "../data/gamma.xlsx"\nsheet = "ipd"')
    _edit(spec, "[variables.age]", '[variables.height_cm]\ncolumn = "height_m"\nunit = "m"\n\n'
          "[variables.age]")  # fmt: skip
    _edit(project, "[settings.recovery]", '[variables.height_cm]\nlabel = "Height"\n'
          'kind = "continuous"\nunit = "cm"\nmin = 100\nmax = 230\n\n[settings.recovery]')  # fmt: skip
    ingest(project)
    gamma = load(project).participants.query("trial == 'gamma'")
    np.testing.assert_allclose(gamma["height_cm"], frame["height_m"] * 100)
    assert load(project).participants.query("trial == 'alpha'")["height_cm"].isna().all()


def test_comparison_sets(master):
    frame = master.participants
    usual = comparison_set(frame, "usual")
    assert set(usual["trial"]) == {"alpha", "gamma"}  # beta's comparison is manual therapy
    assert usual.query("trial == 'gamma'")["treat"].eq(1).sum() == 6  # both exercise arms
    conservative = comparison_set(frame, "conservative")
    assert set(conservative["trial"]) == {"beta"}
    assert len(comparison_set(frame, "any")) == len(frame)
    exercise_only = frame[frame["treat"] == 1]
    assert comparison_set(exercise_only, "any").empty


def test_comparison_set_rejects_unknown(master):
    from ipdma.errors import SpecError

    with pytest.raises(SpecError, match="comparison='placebo' is not an option"):
        comparison_set(master.participants, "placebo")


def test_age_derived_from_dates_without_copying_birth_dates(project):
    import datetime as dt

    root = project.parent
    frame = gamma_frame()
    frame["dob"] = [dt.date(1950 + 3 * i, 1 + i, 10) for i in range(9)]
    frame["rand_date"] = [dt.date(2011, 6, 1)] * 9
    frame.to_parquet(root / "data" / "gamma.parquet")
    spec = root / "trials" / "gamma.toml"
    _edit(spec, 'file = "../data/gamma.dta"', 'file = "../data/gamma.parquet"')
    _edit(spec, '[variables.age]\ncolumn = "age"',
          '[variables.age]\nderive = "age"\nbirth = "dob"\nat = "rand_date"')  # fmt: skip
    result = ingest(project)
    gamma = load(project).participants.query("trial == 'gamma'").reset_index(drop=True)
    expected = [(dt.date(2011, 6, 1) - d).days / 365.25 for d in frame["dob"]]
    np.testing.assert_allclose(gamma["age"], expected)
    report = result.identifiers.set_index(["trial", "column"])
    assert report.loc[("gamma", "dob"), "action"] == "left out"
    assert "dob" not in load(project).participants.columns
