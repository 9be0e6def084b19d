"""Profile a raw file: every column's label, type, range, distinct values, codes and labels.

The profile is what drafting and the codebook read. The data come from
:func:`ipdma.io.read_table` (read-only); the metadata that the reader does not keep
(variable labels, SPSS user-missing values, the file label) are read with
``pyreadstat``'s ``metadataonly`` mode; a text file's delimiter and decimal mark are sniffed
from its first lines; an Excel workbook's second sheet is read as a codebook when it has a
column of variable names and one of descriptions.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataFileError
from ..io import RawTable, infer_format, read_table

__all__ = ["ColumnProfile", "FileProfile", "profile_file", "profile_table"]

_MAX_VALUES = 30


@dataclass(frozen=True)
class ColumnProfile:
    """One raw column as found.

    Attributes
    ----------
    name, label
        Column name and its variable label ("" when the file has none).
    kind
        ``"numeric"``, ``"text"`` or ``"date"``.
    n, missing
        Rows, and rows empty or system-missing.
    distinct
        Number of distinct non-missing values.
    minimum, maximum
        Numeric columns: range of the non-missing values (user-missing codes excluded).
    integer
        Numeric columns whose values are all whole numbers.
    values
        The most frequent values as ``(value text, count)``, at most 30.
    value_labels
        ``{code: label}`` from SPSS/Stata/SAS metadata.
    missing_codes
        Codes the file itself declares missing (SPSS user-missing values).
    """

    name: str
    label: str
    kind: str
    n: int
    missing: int
    distinct: int
    minimum: float | None
    maximum: float | None
    integer: bool
    values: tuple[tuple[str, int], ...]
    value_labels: dict[str, str] = field(default_factory=dict)
    missing_codes: tuple[float, ...] = ()

    @property
    def text(self) -> str:
        """Name and label together (what the vocabulary is matched against)."""
        return f"{self.name} {self.label}".strip()


@dataclass(frozen=True)
class FileProfile:
    """A raw file's profile: how it was read and one :class:`ColumnProfile` per column."""

    path: Path
    format: str
    rows: int
    columns: tuple[ColumnProfile, ...]
    file_label: str = ""
    delimiter: str | None = None
    decimal: str = "."
    encoding: str | None = None
    sheet: str | None = None
    table: RawTable | None = field(default=None, repr=False, compare=False)

    def column(self, name: str) -> ColumnProfile:
        """The profile of column ``name``."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def data(self) -> pd.DataFrame:
        """The data as read (no recoding)."""
        assert self.table is not None
        return self.table.data

    def to_frame(self) -> pd.DataFrame:
        """One row per column: the data dictionary (also the codebook's CSV)."""
        rows = []
        for c in self.columns:
            rows.append({
                "variable": c.name, "label": c.label, "type": c.kind, "n": c.n,
                "missing": c.missing,
                "pct_missing": round(100.0 * c.missing / c.n, 1) if c.n else math.nan,
                "distinct": c.distinct, "min": c.minimum, "max": c.maximum,
                "value_labels": "; ".join(f"{k} = {v}" for k, v in c.value_labels.items()),
                "missing_codes": "; ".join(f"{v:g}" for v in c.missing_codes),
                "frequencies": "; ".join(f"{v}: {n}" for v, n in c.values[:12])
                if c.distinct <= 12 else "",
            })  # fmt: skip
        return pd.DataFrame(rows)


def _sniff_text(path: Path) -> tuple[str, str]:
    """Delimiter and decimal mark of a text file, from its first lines."""
    with open(path, "rb") as handle:
        head = handle.read(65536).decode("latin-1", errors="replace")
    lines = [line for line in head.splitlines()[:50] if line.strip()]
    if not lines:
        return ",", "."
    counts = {d: min(line.count(d) for line in lines) for d in (";", "\t", ",", "|")}
    delimiter = max(counts, key=lambda d: (counts[d], d == ","))
    if counts[delimiter] == 0:
        delimiter = ","
    decimal = "."
    if delimiter != ",":
        body = "\n".join(lines[1:])
        cells = [c.strip() for line in body.splitlines() for c in line.split(delimiter)]
        comma = sum(1 for c in cells if _is_number(c.replace(",", ".")) and "," in c)
        point = sum(1 for c in cells if _is_number(c) and "." in c)
        if comma > point:
            decimal = ","
    return delimiter, decimal


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _readstat_meta(path: Path, fmt: str) -> Any:
    import pyreadstat

    function = {"sav": "read_sav", "zsav": "read_sav", "por": "read_por", "dta": "read_dta",
                "sas7bdat": "read_sas7bdat", "xpt": "read_xport"}.get(fmt)  # fmt: skip
    if function is None:
        return None
    options = {"user_missing": True} if function in ("read_sav", "read_dta") else {}
    try:
        _, meta = getattr(pyreadstat, function)(str(path), metadataonly=True, **options)
    except Exception:  # metadata are a help; the data reader reports a broken file
        return None
    return meta


def _xlsx_codebook(path: Path, data_sheet: str | None) -> dict[str, str]:
    """Descriptions from a codebook sheet (a column of variable names and one of text)."""
    try:
        with open(path, "rb") as handle:
            book = pd.ExcelFile(io.BytesIO(handle.read()), engine="openpyxl")
        data_sheet = data_sheet or book.sheet_names[0]
        sheets = [s for s in book.sheet_names if s != data_sheet][:3]
        for sheet in sheets:
            frame = book.parse(sheet).dropna(how="all")
            if frame.shape[1] < 2 or frame.empty:
                continue
            names = frame.iloc[:, 0].astype(str)
            text = frame.iloc[:, 1].fillna("").astype(str)
            return dict(zip(names, text, strict=True))
    except Exception:  # a help only
        return {}
    return {}


def _user_missing(meta: Any) -> dict[str, tuple[float, ...]]:
    out: dict[str, tuple[float, ...]] = {}
    for column, ranges in (getattr(meta, "missing_ranges", None) or {}).items():
        codes = []
        for item in ranges:
            low, high = item.get("lo"), item.get("hi")
            if isinstance(low, int | float) and low == high:
                codes.append(float(low))
            elif isinstance(low, int | float) and isinstance(high, int | float):
                codes += [float(v) for v in range(int(low), int(high) + 1)][:20]
        out[str(column)] = tuple(codes)
    return out


def _numeric(values: pd.Series) -> pd.Series | None:
    if pd.api.types.is_bool_dtype(values):
        return values.astype(float)
    if pd.api.types.is_numeric_dtype(values):
        return values.astype(float)
    return None


def _column(name, values: pd.Series, label, value_labels, missing_codes) -> ColumnProfile:
    n = len(values)
    numeric = _numeric(values)
    if numeric is not None:
        present = numeric[numeric.notna()]
    else:
        present = values[values.notna()]  # text: object or pandas' string dtype
        present = present[~present.map(lambda v: isinstance(v, str) and not v.strip())]
    if pd.api.types.is_datetime64_any_dtype(values) or (
        numeric is None and len(present)
        and present.map(lambda v: hasattr(v, "year") and hasattr(v, "month")).all()
    ):  # fmt: skip
        kind = "date"
    elif numeric is not None:
        kind = "numeric"
    else:
        kind = "text"
    minimum = maximum = None
    integer = False
    if numeric is not None:
        real = present[~present.isin(missing_codes)].to_numpy(float)
        real = real[np.isfinite(real)]
        if len(real):
            minimum, maximum = float(real.min()), float(real.max())
            integer = bool(np.all(real == np.round(real)))
    counts = present.value_counts()
    top = counts.head(_MAX_VALUES)
    values_top = tuple((_text(k), int(v)) for k, v in top.items())
    return ColumnProfile(str(name), label or "", kind, n, n - len(present), len(counts),
                         minimum, maximum, integer, values_top, value_labels,
                         missing_codes)  # fmt: skip


def _text(value: Any) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def profile_table(table: RawTable, *, labels: dict[str, str] | None = None,
                  user_missing: dict[str, tuple[float, ...]] | None = None) -> list[ColumnProfile]:  # fmt: skip
    """Column profiles of a table already read."""
    labels = labels or {}
    user_missing = user_missing or {}
    return [
        _column(
            c,
            table.data[c],
            labels.get(c, ""),
            table.value_labels.get(c, {}),
            user_missing.get(c, ()),
        )
        for c in table.data.columns
    ]


def profile_file(path: str | Path, *, sheet: str | int | None = None) -> FileProfile:
    """Read ``path`` (read-only) and profile it, metadata included.

    Raises
    ------
    DataFileError
        The file cannot be read (missing, corrupt, unknown format, empty).
    """
    path = Path(path)
    fmt = infer_format(path)
    delimiter = decimal = None
    chosen_sheet = sheet
    if fmt in ("csv", "tsv") and path.is_file():
        delimiter, decimal = _sniff_text(path)
    if fmt == "xlsx" and sheet is None and path.is_file():
        chosen_sheet = _data_sheet(path)
    table = read_table(path, sheet=chosen_sheet, delimiter=delimiter, decimal=decimal or ".")
    meta = _readstat_meta(path, fmt)
    labels: dict[str, str] = {}
    if meta is not None:
        labels = {str(k): str(v) for k, v in (meta.column_names_to_labels or {}).items() if v}
    elif fmt == "xlsx":
        labels = _xlsx_codebook(path, chosen_sheet if isinstance(chosen_sheet, str) else None)
        labels = {k: v for k, v in labels.items() if k in table.data.columns and v}
    columns = profile_table(table, labels=labels, user_missing=_user_missing(meta))
    return FileProfile(path, fmt, len(table.data), tuple(columns),
                       str(getattr(meta, "file_label", "") or ""),
                       delimiter if delimiter not in (None, ",") or fmt == "tsv" else None,
                       decimal or ".", table.encoding,
                       chosen_sheet if isinstance(chosen_sheet, str) else None, table)  # fmt: skip


def _data_sheet(path: Path) -> str | None:
    """The sheet holding the data: the widest of the first sheets (a codebook has 2 columns)."""
    try:
        with open(path, "rb") as handle:
            book = pd.ExcelFile(io.BytesIO(handle.read()), engine="openpyxl")
        names = book.sheet_names
        if len(names) <= 1:
            return None
        widths = {s: book.parse(s, nrows=5).shape[1] for s in names[:5]}
        best = max(widths, key=lambda s: widths[s])
        return None if best == names[0] else best
    except Exception:
        raise DataFileError("the xlsx file cannot be opened", file=path) from None
