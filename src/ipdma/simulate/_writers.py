"""Writers for the native file formats, deterministic to the byte.

SPSS (.sav), Stata (.dta) and SAS transport (.xpt) files carry the time they were written
in their headers, and .xlsx files (zip archives) carry it in the archive entries and the
document properties. The simulator stamps all of them with a fixed time
(:data:`FIXED_TIME`), so that the same seed gives byte-identical files. CSV files carry no
time. Every file is written to a temporary name and renamed into place (atomic).
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat

FIXED_TIME = datetime(2020, 1, 1, 0, 0, 0)
_MONTHS = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC"


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write(temporary_path)`` and move the result to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(handle)
    try:
        write(Path(temporary))
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _patch(path: Path, fix: Callable[[bytes], bytes]) -> None:
    path.write_bytes(fix(path.read_bytes()))


def _fix_sav(data: bytes) -> bytes:
    # header: "$FL2", 60-byte product, 5 int32 and a float64 -> creation date (9) + time (8)
    stamp = FIXED_TIME.strftime("%d %b %y%H:%M:%S").encode("ascii")
    return data[:92] + stamp + data[92 + len(stamp) :]


def _fix_dta(data: bytes) -> bytes:
    start = data.index(b"<timestamp>") + len(b"<timestamp>")
    length = data[start]
    stamp = FIXED_TIME.strftime("%d %b %Y %H:%M").encode("ascii")
    if length != len(stamp):
        return data
    return data[: start + 1] + stamp + data[start + 1 + length :]


def _fix_xpt(data: bytes) -> bytes:
    end = data.find(b"HEADER RECORD*******OBS")
    head = data[:end]
    stamp = FIXED_TIME.strftime("%d%b%y:%H:%M:%S").upper().encode("ascii")
    pattern = rb"\d\d(?:" + _MONTHS.encode() + rb")\d\d:\d\d:\d\d:\d\d"
    return re.sub(pattern, stamp, head) + data[end:]


def _fix_xlsx(data: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode("ascii")
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in sorted(source.infolist(), key=lambda i: i.filename):
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp,
                                 content)  # fmt: skip
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            target.writestr(entry, content)
    return out.getvalue()


def _numeric_labels(frame: pd.DataFrame, labels: dict[str, dict]) -> dict[str, dict]:
    """Value labels for numeric columns only (text columns carry their own words)."""
    return {
        column: {float(k): str(v) for k, v in mapping.items()}
        for column, mapping in labels.items()
        if column in frame and pd.api.types.is_numeric_dtype(frame[column])
    }


def _text_as_str(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].map(lambda v: "" if v is None else str(v))
    return frame


def write_native(
    frame: pd.DataFrame, path: Path, file_format: str, *, labels: dict[str, dict],
    column_labels: dict[str, str], encoding: str = "utf-8", missing_code: float | None = None,
    file_label: str = "", user_missing: dict[str, float] | None = None,
) -> None:  # fmt: skip
    """Write ``frame`` to ``path`` in ``file_format`` (sav | dta | xpt | xlsx | csv*)."""
    frame = _text_as_str(frame)
    if file_format == "sav":

        def write(tmp: Path) -> None:
            pyreadstat.write_sav(frame, tmp, file_label=file_label,
                                 column_labels={c: column_labels.get(c) for c in frame},
                                 variable_value_labels=_numeric_labels(frame, labels),
                                 missing_ranges={c: [v] for c, v in (user_missing or {}).items()})  # fmt: skip
            _patch(tmp, _fix_sav)

    elif file_format == "dta":

        def write(tmp: Path) -> None:
            pyreadstat.write_dta(frame, tmp, file_label=file_label[:80],
                                 column_labels={c: column_labels.get(c) for c in frame},
                                 variable_value_labels=_numeric_labels(frame, labels))  # fmt: skip
            _patch(tmp, _fix_dta)

    elif file_format == "xpt":

        def write(tmp: Path) -> None:
            pyreadstat.write_xport(frame, tmp, file_label=file_label[:40],
                                   column_labels={c: (column_labels.get(c) or "")[:40]
                                                  for c in frame},
                                   table_name=path.stem[:8].upper(), file_format_version=5)  # fmt: skip
            _patch(tmp, _fix_xpt)

    elif file_format == "xlsx":

        def write(tmp: Path) -> None:
            codebook = pd.DataFrame({"variable": list(frame.columns),
                                     "description": [column_labels.get(c, "") for c in frame]})  # fmt: skip
            with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
                frame.to_excel(writer, sheet_name="data", index=False)
                codebook.to_excel(writer, sheet_name="codebook", index=False)
            _patch(tmp, _fix_xlsx)

    else:
        semicolon = file_format == "csv-semicolon"
        out = frame
        if missing_code is not None:
            out = frame.copy()
            for column in out.columns:
                if pd.api.types.is_numeric_dtype(out[column]):
                    out[column] = out[column].where(out[column].notna(), missing_code)

        def write(tmp: Path) -> None:
            out.to_csv(tmp, index=False, sep=";" if semicolon else ",",
                       decimal="," if semicolon else ".", encoding=encoding,
                       lineterminator="\n", float_format=_float_format(out))  # fmt: skip

    atomic_write(path, write)


def _float_format(frame: pd.DataFrame) -> str | None:
    """Shortest fixed format that keeps every float exactly (values are rounded natively)."""
    floats = frame.select_dtypes("float").to_numpy(float)
    if floats.size == 0:
        return None
    finite = floats[np.isfinite(floats)]
    for decimals in range(0, 7):
        if np.allclose(finite, np.round(finite, decimals), atol=1e-9, rtol=0):
            return f"%.{decimals}f"
    return None
