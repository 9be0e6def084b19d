"""Read a raw trial file of any supported format into a DataFrame and its value labels.

Files are only ever opened for reading (``"rb"``, or by path for the ReadStat library) and
are never written. Every failure is a :class:`~ipdma.errors.DataFileError` naming the file.
"""

from __future__ import annotations

import io
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataFileError
from ._excel import read_workbook
from ._text import read_delimited

__all__ = ["FORMATS", "RawTable", "check_readable", "infer_format", "read_table"]

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
    cell_errors
        Excel error cells (``#DIV/0!``, ``#REF!`` ...), read as missing by the reader:
        ``{column: (first data row, error text, count)}``.
    """

    data: pd.DataFrame
    value_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    path: Path = Path()
    format: str = ""
    encoding: str | None = None
    cell_errors: dict[str, tuple[int, str, int]] = field(default_factory=dict)

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
    text_columns: tuple[str, ...] = (),
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
        encoding (default: by byte-order mark, else UTF-8, falling back to latin-1).
    text_columns
        Columns read as text in CSV/TSV/Excel files (participant ids: "0001" stays "0001").

    Raises
    ------
    DataFileError
        Missing, unreadable, unknown format, corrupt or truncated, or empty file.
    """
    path = Path(path)
    fmt = infer_format(path, format)
    check_readable(path)
    try:
        table = _READERS[fmt](
            path, sheet=sheet, delimiter=delimiter, decimal=decimal, encoding=encoding,
            text_columns=tuple(text_columns),
        )  # fmt: skip
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
            hint="re-export the data (with its header row and all participants' rows), or "
            "fix [source].sheet / [source].file",
        )
    table.data.columns = [str(c) for c in table.data.columns]
    return table


def check_readable(path: str | Path) -> None:
    """DataFileError unless ``path`` is an existing, readable, non-empty regular file.

    Says what is there instead (nothing, a folder, a named pipe or device, a symlink loop)
    and how to fix it; called before a file is hashed or read.
    """
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise DataFileError(
            "the data file does not exist",
            file=path,
            hint="check [source].file (relative to the trial spec)",
        ) from None
    except OSError as exc:
        from .._fs import os_error

        error = os_error(exc, path)
        raise DataFileError(f"the data file cannot be opened: {error.message}", file=path,
                            hint=error.hint) from None  # fmt: skip
    if stat.S_ISDIR(info.st_mode):
        raise DataFileError(
            "the data file is a folder, not a file",
            file=path,
            hint="point [source].file at the data file inside that folder",
        )
    if not stat.S_ISREG(info.st_mode):
        kind = "a named pipe (FIFO)" if stat.S_ISFIFO(info.st_mode) else "a device or socket"
        raise DataFileError(
            f"the data file is {kind}, not a regular file",
            file=path,
            hint="point [source].file at a regular file (copy the data into a file first)",
        )
    if not os.access(path, os.R_OK):
        raise DataFileError(
            "the data file cannot be read: permission denied",
            file=path,
            hint="give your user read permission (chmod u+r FILE) or copy the file",
        )
    if info.st_size == 0:
        raise DataFileError(
            "the data file is empty (0 bytes)", file=path, hint="re-export the data file"
        )


def _labels(meta: Any) -> dict[str, dict[str, str]]:
    raw = getattr(meta, "variable_value_labels", None) or {}
    return {str(col): {_code_text(k): str(v) for k, v in m.items()} for col, m in raw.items()}


def _readstat(function: str, fmt: str):
    def reader(path: Path, **_: Any) -> RawTable:
        import pyreadstat

        data, meta = getattr(pyreadstat, function)(str(path))
        return RawTable(data, _labels(meta), path, fmt)

    return reader


def _read_text(path: Path, *, delimiter, decimal, encoding, text_columns, fmt: str) -> RawTable:
    with open(path, "rb") as handle:
        raw = handle.read()
    sep = delimiter or ("\t" if fmt == "tsv" else ",")
    data, used = read_delimited(raw, path, sep=sep, decimal=decimal, encoding=encoding,
                                text_columns=text_columns)  # fmt: skip
    return RawTable(data, {}, path, fmt, used)


def _read_csv(path: Path, *, delimiter=None, decimal=".", encoding=None, text_columns=(),
              **_: Any) -> RawTable:  # fmt: skip
    return _read_text(path, delimiter=delimiter, decimal=decimal, encoding=encoding,
                      text_columns=text_columns, fmt="csv")  # fmt: skip


def _read_tsv(path: Path, *, delimiter=None, decimal=".", encoding=None, text_columns=(),
              **_: Any) -> RawTable:  # fmt: skip
    return _read_text(path, delimiter=delimiter, decimal=decimal, encoding=encoding,
                      text_columns=text_columns, fmt="tsv")  # fmt: skip


def _read_xlsx(path: Path, *, sheet=None, text_columns=(), **_: Any) -> RawTable:
    data, errors = read_workbook(path, sheet=sheet, text_columns=text_columns)
    return RawTable(data, {}, path, "xlsx", cell_errors=errors)


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
