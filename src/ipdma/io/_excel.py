"""Read an Excel workbook (.xlsx) with checks that pandas skips.

pandas turns Excel error cells (``#DIV/0!``, ``#REF!``, ``#VALUE!`` ...) into missing values
and renames a repeated column name to ``name.1``. Here a repeated name is a
:class:`~ipdma.errors.DataFileError`, and error cells are recorded per column
(:attr:`RawTable.cell_errors`) so that harmonization refuses them in the columns it uses.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataFileError

__all__ = ["read_workbook"]


def _scan(book: Any, sheet: str) -> tuple[list[str], dict[str, tuple[int, str, int]]]:
    """Header names and ``{column: (first data row, error text, count)}`` of error cells."""
    rows = book[sheet].iter_rows()
    header: list[str] = []
    for cells in rows:
        header = ["" if c.value is None else str(c.value).strip() for c in cells]
        if any(header):
            break
    errors: dict[str, tuple[int, str, int]] = {}
    for number, cells in enumerate(rows, start=1):
        for position, cell in enumerate(cells):
            if cell.data_type == "e" and position < len(header):
                name = header[position]
                first = errors.get(name)
                errors[name] = (number, str(cell.value), 1) if first is None else (
                    first[0], first[1], first[2] + 1)  # fmt: skip
    return header, errors


def read_workbook(
    path: Path, *, sheet: str | int | None, text_columns: tuple[str, ...] = ()
) -> tuple[pd.DataFrame, dict[str, tuple[int, str, int]]]:
    """The sheet as a DataFrame and its error cells per column."""
    import openpyxl

    with open(path, "rb") as handle:
        content = handle.read()
    try:
        book = pd.ExcelFile(io.BytesIO(content), engine="openpyxl")
        cells = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise DataFileError(
            f"the xlsx file is corrupt or not an xlsx file ({exc})",
            file=path,
            hint="re-save the workbook from Excel as .xlsx, or fix [source].format",
        ) from None
    chosen = 0 if sheet is None else sheet
    if (isinstance(chosen, str) and chosen not in book.sheet_names) or (
        isinstance(chosen, int) and not 0 <= chosen < len(book.sheet_names)
    ):
        raise DataFileError(
            f"sheet {chosen!r} is not in the workbook",
            file=path,
            hint=f"set [source].sheet to one of {book.sheet_names}",
        )
    name = chosen if isinstance(chosen, str) else book.sheet_names[chosen]
    try:
        header, errors = _scan(cells, name)
    finally:
        cells.close()
    seen: dict[str, int] = {}
    for position, column in enumerate(header, start=1):
        if column and column in seen:
            raise DataFileError(
                f"the column name {column!r} appears twice (columns {seen[column]} and "
                f"{position}) in sheet {name!r}",
                file=path,
                variable=column,
                hint="rename one of the two columns in the workbook (ipdma never guesses "
                "which one is meant)",
            )
        seen[column] = position
    dtype = {c: str for c in text_columns if c in seen}
    data = book.parse(name, dtype=dtype or None)
    data.columns = [str(c).strip() for c in data.columns]
    return data, errors
