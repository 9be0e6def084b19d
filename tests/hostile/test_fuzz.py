"""Property-based fuzzing of the spec loader and the CSV/XLSX readers.

Random mutations of a valid trial spec, CSV file and workbook (bytes deleted, inserted,
replaced; lines dropped or repeated; the file cut short) must either load or raise an
``ipdma.errors`` exception; through the CLI they exit 0 or 1, never 2, never a traceback.
Examples are derandomized, so every run tries the same inputs.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipdma.cli import main
from ipdma.errors import DataFileError, IpdmaError
from ipdma.io import read_table
from ipdma.spec import load_trial_spec

from ._project import CSVT, make_project

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_ALPHABET = b" \t\n\r\",;=[]{}#\\'.0123456789-+eE\x00\xff\xc3\xa9azAZ"


@st.composite
def _mutated(draw, content: bytes) -> bytes:
    data = bytearray(content)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["delete", "insert", "replace", "cut", "line", "repeat"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "delete" and data:
            del data[at : at + draw(st.integers(1, 8))]
        elif kind == "insert":
            data[at:at] = bytes(draw(st.lists(st.sampled_from(_ALPHABET), min_size=1,
                                              max_size=6)))  # fmt: skip
        elif kind == "replace" and data:
            data[at] = draw(st.sampled_from(_ALPHABET))
        elif kind == "cut":
            del data[at:]
        else:
            lines = bytes(data).split(b"\n")
            index = draw(st.integers(0, max(0, len(lines) - 1)))
            if kind == "line":
                del lines[index]
            else:
                lines.insert(index, lines[index])
            data = bytearray(b"\n".join(lines))
    return bytes(data)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fuzz") / "project"
    make_project(root)
    return root


@SETTINGS
@given(content=_mutated(CSVT.encode()))
def test_spec_loader_raises_only_spec_errors(content, base, tmp_path_factory):
    path = tmp_path_factory.mktemp("spec") / "csvt.toml"
    path.write_bytes(content)
    try:
        load_trial_spec(path)
    except IpdmaError as exc:
        assert "fix:" in str(exc) or exc.file is not None


def _csv_bytes(base: Path) -> bytes:
    return (base / "data" / "csvt.csv").read_bytes()


@SETTINGS
@given(data=st.data())
def test_csv_reader_raises_only_data_file_errors(data, base, tmp_path_factory):
    content = data.draw(_mutated(_csv_bytes(base)))
    path = tmp_path_factory.mktemp("csv") / "trial.csv"
    path.write_bytes(content)
    delimiter = data.draw(st.sampled_from([None, ";", "\t"]))
    decimal = data.draw(st.sampled_from([".", ","]))
    try:
        table = read_table(path, delimiter=delimiter, decimal=decimal, text_columns=("pid",))
    except DataFileError as exc:
        assert exc.file == str(path)
    else:
        assert table.data.shape[0] > 0 and table.data.shape[1] > 0


@settings(SETTINGS, max_examples=30)
@given(data=st.data())
def test_xlsx_reader_raises_only_data_file_errors(data, base, tmp_path_factory):
    content = (base / "data" / "xlst.xlsx").read_bytes()
    mutated = bytearray(content)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(mutated) - 1))
        mutated[at] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        del mutated[data.draw(st.integers(0, len(mutated) - 1)) :]
    path = tmp_path_factory.mktemp("xlsx") / "trial.xlsx"
    path.write_bytes(bytes(mutated))
    try:
        table = read_table(path, text_columns=("pid",))
    except DataFileError as exc:
        assert exc.file == str(path)
    else:
        assert table.data.shape[1] > 0


_CELLS = st.one_of(
    st.none(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["#DIV/0!", "#REF!", "#N/A", "#VALUE!", "", " ", "abc", "1,5", "0001"]),
    st.text(max_size=12),
)


def _cell(value: object) -> object:
    if isinstance(value, str):  # openpyxl refuses control characters in cells
        return "".join(ch for ch in value if ch.isprintable())
    return value


@settings(SETTINGS, max_examples=15)
@given(data=st.data())
def test_cli_on_fuzzed_inputs_exits_0_or_1(data, base, tmp_path_factory, capsys):
    root = tmp_path_factory.mktemp("cli") / "project"
    shutil.copytree(base, root)
    target = data.draw(st.sampled_from(["spec", "csv", "xlsx"]))
    if target == "spec":
        path = root / "trials" / "csvt.toml"
        path.write_bytes(data.draw(_mutated(path.read_bytes())))
    elif target == "csv":
        path = root / "data" / "csvt.csv"
        path.write_bytes(data.draw(_mutated(path.read_bytes())))
    else:
        book = openpyxl.load_workbook(io.BytesIO((root / "data" / "xlst.xlsx").read_bytes()))
        sheet = book.active
        for _ in range(data.draw(st.integers(1, 5))):
            row = data.draw(st.integers(1, 11))
            column = data.draw(st.integers(1, 8))
            sheet.cell(row=row, column=column, value=_cell(data.draw(_CELLS)))
        book.save(root / "data" / "xlst.xlsx")
    code = main(["--quiet", "ingest", str(root)])
    text = capsys.readouterr()
    output = text.out + text.err
    assert code in (0, 1), output
    assert "Traceback" not in output and "internal error" not in output, output
