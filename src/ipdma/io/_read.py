"""Read a raw trial file of any supported format into a DataFrame and its value labels.

Files are only ever opened for reading (``"rb"``, or by path for the ReadStat library) and
are never written. Every failure is a :class:`~ipdma.errors.DataFileError` naming the file.
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataFileError

__all__ = ["FORMATS", "RawTable", "infer_format", "read_table"]

#: extension -> format name (the format names a trial spec may give in ``[source].format``)
FORMATS: dict[str, str] = {
    ".sav": "sav",
    ".zsav": "zsav",
    ".por": "por",
    ".dta": "dta",
    ".sas7bdat": "sas7bdat",
    ".xpt": "xpt",
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".parquet": "parquet",
}
_FALLBACK_ENCODING = "latin-1"


@dataclass(frozen=True)
class RawTable:
    """A raw file as read: the data, the value labels and how it was read.

    Attributes
    ----------
    data
        One column per raw variable, exactly as stored (no recoding).
    value_labels
        ``{column: {code: label}}`` from SPSS / Stata / SAS metadata (empty for text files);
        codes are normalized as text (``1.0`` -> ``"1"``).
    path, format
        The file and its format name.
    encoding
        The text encoding used (text files), else None.
    """

    data: pd.DataFrame
    value_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    path: Path = Path()
    format: str = ""
    encoding: str | None = None

    def label_of(self, column: str, code: Any) -> str | None:
        """The value label of ``code`` in ``column``, or None."""
        return self.value_labels.get(column, {}).get(_code_text(code))


def _code_text(code: Any) -> str:
    if isinstance(code, float) and code.is_integer():
        return str(int(code))
    return str(code).strip()


def infer_format(path: Path, declared: str | None = None) -> str:
    """The format name from ``declared`` or the file extension; DataFileError if unknown."""
    if declared:
        return declared
    name = path.name.lower()
    for ext in sorted(FORMATS, key=len, reverse=True):
        if name.endswith(ext):
            return FORMATS[ext]
    raise DataFileError(
        f"unknown file format {path.suffix or '(no extension)'!r}",
        file=path,
        hint=f"use one of {', '.join(sorted(set(FORMATS)))} or set [source].format",
    )


def read_table(
    path: str | Path,
    *,
    format: str | None = None,
    sheet: str | int | None = None,
    delimiter: str | None = None,
    decimal: str = ".",
    encoding: str | None = None,
) -> RawTable:
    """Read ``path`` (read-only) into a :class:`RawTable`.

    Parameters
    ----------
    path
        The raw file.
    format
        Format name; inferred from the extension when None.
    sheet
        Excel sheet name or 0-based index (default: the first sheet).
    delimiter, decimal, encoding
        Text files: field delimiter (default ``,``; tab for ``.tsv``), decimal mark and
        encoding (default UTF-8, falling back to latin-1 when the file is not UTF-8).

    Raises
    ------
    DataFileError
        Missing, unreadable, unknown format, corrupt or truncated, or empty file.
    """
    path = Path(path)
    fmt = infer_format(path, format)
    if not path.exists():
        raise DataFileError(
            "the data file does not exist",
            file=path,
            hint="check [source].file (relative to the trial spec)",
        )
    if not path.is_file() or not os.access(path, os.R_OK):
        raise DataFileError("the data file cannot be read", file=path, hint="check permissions")
    if path.stat().st_size == 0:
        raise DataFileError("the data file is empty (0 bytes)", file=path)
    try:
        table = _READERS[fmt](
            path, sheet=sheet, delimiter=delimiter, decimal=decimal, encoding=encoding
        )
    except DataFileError:
        raise
    except Exception as exc:  # each reader library raises its own types
        raise DataFileError(
            f"the {fmt} file is corrupt, truncated or not really a {fmt} file "
            f"({type(exc).__name__}: {str(exc).strip()[:200]})",
            file=path,
            hint="re-export the file from its original software, or fix [source].format",
        ) from None
    if table.data.shape[1] == 0 or table.data.shape[0] == 0:
        raise DataFileError(
            f"the data file has no {'columns' if table.data.shape[1] == 0 else 'rows'}",
            file=path,
        )
    table.data.columns = [str(c) for c in table.data.columns]
    return table


def _labels(meta: Any) -> dict[str, dict[str, str]]:
    raw = getattr(meta, "variable_value_labels", None) or {}
    return {str(col): {_code_text(k): str(v) for k, v in m.items()} for col, m in raw.items()}


def _readstat(function: str, fmt: str):
    def reader(path: Path, **_: Any) -> RawTable:
        import pyreadstat

        data, meta = getattr(pyreadstat, function)(str(path))
        return RawTable(data, _labels(meta), path, fmt)

    return reader


def _read_text(path: Path, *, delimiter, decimal, encoding, fmt: str) -> RawTable:
    with open(path, "rb") as handle:
        raw = handle.read()
    sep = delimiter or ("\t" if fmt == "tsv" else ",")
    if encoding is None:
        try:
            text, used = raw.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError:
            text, used = raw.decode(_FALLBACK_ENCODING), _FALLBACK_ENCODING
    else:
        try:
            text, used = raw.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise DataFileError(
                f"the file cannot be decoded as {encoding!r}: {exc}",
                file=path,
                hint="fix [source].encoding (e.g. 'latin-1', 'cp1252') or remove it",
            ) from None
    if not text.strip():
        raise DataFileError("the data file is empty (only blank lines)", file=path)
    try:
        data = pd.read_csv(io.StringIO(text), sep=sep, decimal=decimal, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataFileError("the data file has no columns", file=path) from None
    return RawTable(data, {}, path, fmt, used)


def _read_csv(path: Path, *, delimiter=None, decimal=".", encoding=None, **_: Any) -> RawTable:
    return _read_text(path, delimiter=delimiter, decimal=decimal, encoding=encoding, fmt="csv")


def _read_tsv(path: Path, *, delimiter=None, decimal=".", encoding=None, **_: Any) -> RawTable:
    return _read_text(path, delimiter=delimiter, decimal=decimal, encoding=encoding, fmt="tsv")


def _read_xlsx(path: Path, *, sheet=None, **_: Any) -> RawTable:
    with open(path, "rb") as handle:
        content = handle.read()
    try:
        book = pd.ExcelFile(io.BytesIO(content), engine="openpyxl")
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise DataFileError(
            f"the xlsx file is corrupt or not an xlsx file ({exc})", file=path
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
    return RawTable(book.parse(chosen), {}, path, "xlsx")


def _read_parquet(path: Path, **_: Any) -> RawTable:
    with open(path, "rb") as handle:
        data = pd.read_parquet(io.BytesIO(handle.read()))
    return RawTable(data, {}, path, "parquet")


_READERS = {
    "sav": _readstat("read_sav", "sav"),
    "zsav": _readstat("read_sav", "zsav"),
    "por": _readstat("read_por", "por"),
    "dta": _readstat("read_dta", "dta"),
    "sas7bdat": _readstat("read_sas7bdat", "sas7bdat"),
    "xpt": _readstat("read_xport", "xpt"),
    "csv": _read_csv,
    "tsv": _read_tsv,
    "xlsx": _read_xlsx,
    "parquet": _read_parquet,
}
