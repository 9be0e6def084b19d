"""Reading raw files of every format, and each way a file can be bad."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from ipdma.errors import DataFileError
from ipdma.io import read_table

FRAME = pd.DataFrame(
    {"pid": [1.0, 2.0, 3.0], "group": [1.0, 2.0, 1.0], "age": [41.5, 52.0, np.nan]}
)
LABELS = {"group": {1.0: "exercise", 2.0: "usual care"}}


def _check(table, fmt):
    assert table.format == fmt
    assert list(table.data.columns) == ["pid", "group", "age"]
    assert table.data["age"].iloc[1] == 52.0
    assert np.isnan(table.data["age"].iloc[2])


@pytest.mark.parametrize("fmt", ["sav", "zsav", "dta", "xpt", "por"])
def test_readstat_formats_keep_value_labels(tmp_path, fmt):
    path = tmp_path / f"trial.{fmt}"
    if fmt == "sav":
        pyreadstat.write_sav(FRAME, path, variable_value_labels=LABELS)
    elif fmt == "zsav":
        pyreadstat.write_sav(FRAME, path, variable_value_labels=LABELS, compress=True)
    elif fmt == "dta":
        pyreadstat.write_dta(FRAME, path, variable_value_labels=LABELS)
    elif fmt == "por":
        pyreadstat.write_por(FRAME.rename(columns=str.upper), path)
    else:
        pyreadstat.write_xport(FRAME, path)
    table = read_table(path)
    if fmt == "por":
        table.data.columns = [c.lower() for c in table.data.columns]
    _check(table, fmt)
    if fmt in ("sav", "zsav", "dta"):
        assert table.label_of("group", 2.0) == "usual care"
        assert table.label_of("group", "1") == "exercise"


def test_sas7bdat_is_read_and_left_unchanged(tmp_path):
    """SAS7BDAT: a committed file written by R's haven (tests/data/io/make_sas7bdat.R)."""
    import hashlib
    import shutil
    from pathlib import Path

    source = Path(__file__).parents[1] / "data" / "io" / "trial.sas7bdat"
    path = tmp_path / "trial.sas7bdat"
    shutil.copyfile(source, path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    table = read_table(path)
    _check(table, "sas7bdat")
    assert table.data["group"].tolist() == [1.0, 2.0, 1.0]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    path.write_bytes(source.read_bytes()[:700])  # truncated: a clear error, no traceback
    with pytest.raises(DataFileError, match=r"corrupt, truncated.*trial\.sas7bdat"):
        read_table(path)


def test_csv_tsv_xlsx_parquet(tmp_path):
    FRAME.to_csv(tmp_path / "a.csv", index=False)
    FRAME.to_csv(tmp_path / "a.tsv", index=False, sep="\t")
    FRAME.to_excel(tmp_path / "a.xlsx", index=False, sheet_name="ipd")
    FRAME.to_parquet(tmp_path / "a.parquet")
    for name, fmt in [
        ("a.csv", "csv"),
        ("a.tsv", "tsv"),
        ("a.xlsx", "xlsx"),
        ("a.parquet", "parquet"),
    ]:
        _check(read_table(tmp_path / name, sheet="ipd" if fmt == "xlsx" else None), fmt)


def test_csv_semicolon_decimal_comma(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("pid;group;age\n1;1;41,5\n2;2;52\n3;1;\n", encoding="utf-8")
    _check(read_table(path, delimiter=";", decimal=","), "csv")


def test_latin1_csv_falls_back_and_keeps_text(tmp_path):
    path = tmp_path / "old.csv"
    path.write_bytes("pid,centre\n1,Zürich\n2,Malmö\n".encode("latin-1"))
    table = read_table(path)
    assert table.encoding == "latin-1"
    assert list(table.data["centre"]) == ["Zürich", "Malmö"]


def test_declared_encoding_that_does_not_fit(tmp_path):
    path = tmp_path / "old.csv"
    path.write_bytes("pid,centre\n1,Zürich\n".encode("latin-1"))
    with pytest.raises(DataFileError, match="cannot be decoded as 'utf-8'"):
        read_table(path, encoding="utf-8")


def test_missing_file(tmp_path):
    with pytest.raises(DataFileError, match="does not exist") as info:
        read_table(tmp_path / "gone.sav")
    assert "gone.sav" in str(info.value)


def test_unreadable_file_is_a_directory(tmp_path):
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(DataFileError, match="is a folder, not a file"):
        read_table(tmp_path / "dir.csv")


def test_unknown_format(tmp_path):
    path = tmp_path / "trial.rdata"
    path.write_bytes(b"RDX2")
    with pytest.raises(DataFileError, match=r"unknown file format '\.rdata'"):
        read_table(path)


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_truncated_file(tmp_path, fmt):
    good = tmp_path / f"good.{fmt}"
    getattr(pyreadstat, f"write_{fmt}")(FRAME, good)
    bad = tmp_path / f"bad.{fmt}"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    with pytest.raises(DataFileError, match=f"corrupt, truncated or not really a {fmt}"):
        read_table(bad)


def test_corrupt_sav(tmp_path):
    path = tmp_path / "junk.sav"
    path.write_bytes(b"this is not an SPSS file at all" * 10)
    with pytest.raises(DataFileError, match="corrupt"):
        read_table(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(DataFileError, match=r"empty \(0 bytes\)"):
        read_table(path)


def test_header_only_csv_has_no_rows(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("pid,group\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="no rows"):
        read_table(path)


def test_missing_sheet(tmp_path):
    FRAME.to_excel(tmp_path / "a.xlsx", index=False, sheet_name="ipd")
    with pytest.raises(DataFileError, match=r"(?s)sheet 'data'.*\['ipd'\]"):
        read_table(tmp_path / "a.xlsx", sheet="data")
