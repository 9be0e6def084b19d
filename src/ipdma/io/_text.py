"""Read delimited text files (CSV/TSV) with checks that catch what pandas accepts silently.

Before pandas parses the text, the file is decoded (byte-order marks for UTF-8/16/32 are
honoured; UTF-16 without a BOM is recognised by its NUL bytes) and its rows are counted with
the ``csv`` module, so that these become clear :class:`~ipdma.errors.DataFileError`\\ s:

* the same column name twice (pandas would rename the second to ``name.1``);
* a row with fewer fields than the header (a truncated file) or more (a stray delimiter,
  or a decimal comma in a comma-separated file);
* a header that is one field holding another delimiter (``delimiter`` not set);
* ``decimal`` equal to the delimiter.

Columns listed in ``text_columns`` (participant ids) are read as text, so ``"0001"`` stays
``"0001"``.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..errors import DataFileError

__all__ = ["decode_text", "read_delimited"]

_FALLBACK_ENCODING = "latin-1"
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_OTHER_DELIMITERS = {";": "';'", "\t": "'\\t' (tab)", "|": "'|'", ",": "','"}


def _guess_encoding(raw: bytes) -> str | None:
    for bom, name in _BOMS:
        if raw.startswith(bom):
            return name
    head = raw[:4096]
    if head.count(b"\x00") > len(head) // 4:  # UTF-16 without a BOM: every other byte NUL
        even, odd = head[0::2].count(0), head[1::2].count(0)
        return "utf-16-le" if odd > even else "utf-16-be"
    return None


def decode_text(raw: bytes, path: Path, encoding: str | None) -> tuple[str, str]:
    """``(text, encoding used)``; the declared ``encoding``, else by BOM, UTF-8, latin-1."""
    if encoding is not None:
        try:
            return raw.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            guess = _guess_encoding(raw)
            raise DataFileError(
                f"the file cannot be decoded as {encoding!r}: {exc}",
                file=path,
                hint=f"the file looks {guess}-encoded: set [source].encoding = '{guess}'"
                if guess
                else "fix [source].encoding (e.g. 'latin-1', 'cp1252', 'utf-16') or remove it",
            ) from None
    guess = _guess_encoding(raw)
    if guess is not None:
        try:
            return raw.decode(guess), guess.removesuffix("-sig")
        except UnicodeDecodeError:
            pass
    if b"\x00" in raw[:4096]:
        raise DataFileError(
            "the file holds NUL bytes: it is not a text file (or a text encoding that could "
            "not be recognised)",
            file=path,
            hint="set [source].encoding (e.g. 'utf-16'), or [source].format if it is not CSV",
        )
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode(_FALLBACK_ENCODING), _FALLBACK_ENCODING


def _check_rows(text: str, path: Path, sep: str, decimal: str) -> list[str]:
    """The header; DataFileError on duplicate names, a wrong delimiter or a broken row."""
    reader = csv.reader(io.StringIO(text), delimiter=sep, skipinitialspace=True)
    try:
        header = next(reader)
        while not any(h.strip() for h in header):
            header = next(reader)
    except StopIteration:
        raise DataFileError(
            "the data file has no columns", file=path, hint="re-export the data"
        ) from None
    except csv.Error as exc:
        raise DataFileError(f"the header line cannot be parsed ({exc})", file=path) from None
    names = [h.strip() for h in header]
    if len(names) == 1:
        for other, shown in _OTHER_DELIMITERS.items():
            if other != sep and other in names[0]:
                raise DataFileError(
                    f"the header is a single column {names[0][:80]!r}: the fields seem to be "
                    f"separated by {shown}, not {_OTHER_DELIMITERS.get(sep, repr(sep))}",
                    file=path,
                    hint=f"set [source].delimiter = {shown.split(' ')[0]} in the trial spec",
                )
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if name in seen and name:
            raise DataFileError(
                f"the column name {name!r} appears twice (columns {seen[name]} and {position})",
                file=path,
                variable=name,
                hint="rename one of the two columns in the data file (ipdma never guesses "
                "which one is meant)",
            )
        seen[name] = position
    width = len(names)
    try:
        for row in reader:
            if not row or not any(field.strip() for field in row):
                continue
            if len(row) == width:
                continue
            line = reader.line_num
            if len(row) < width:
                raise DataFileError(
                    f"line {line} has {len(row)} field(s) but the header has {width}: the row "
                    "is incomplete (a truncated file?)",
                    file=path,
                    row=line,
                    value=sep.join(row)[:80],
                    hint="re-export the complete file, or fill in the missing fields "
                    "(empty fields still need their delimiters)",
                )
            hint = "remove the stray delimiter, or quote values that contain it"
            if sep == ",":
                hint += (
                    "; if numbers use a decimal comma, export with ';' as delimiter and set "
                    "delimiter = ';', decimal = ','"
                )
            raise DataFileError(
                f"line {line} has {len(row)} fields but the header has {width}",
                file=path,
                row=line,
                value=sep.join(row)[:80],
                hint=hint,
            )
    except csv.Error as exc:
        raise DataFileError(
            f"line {reader.line_num} cannot be parsed ({exc})",
            file=path,
            row=reader.line_num,
            hint="fix the quoting on that line (an unclosed quote?)",
        ) from None
    return names


def read_delimited(
    raw: bytes,
    path: Path,
    *,
    sep: str,
    decimal: str,
    encoding: str | None,
    text_columns: Sequence[str] = (),
) -> tuple[pd.DataFrame, str]:
    """The parsed table and the encoding used (see the module docstring for the checks)."""
    if decimal == sep:
        raise DataFileError(
            f"decimal and delimiter are both {sep!r}",
            file=path,
            hint="a comma-separated file cannot use a decimal comma: set [source].delimiter "
            "to the file's real delimiter (often ';') or decimal = '.'",
        )
    text, used = decode_text(raw, path, encoding)
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise DataFileError(
            "the data file is empty (only blank lines)", file=path, hint="re-export the data"
        )
    names = _check_rows(text, path, sep, decimal)
    dtype = {name: str for name in text_columns if name in names}
    try:
        data = pd.read_csv(
            io.StringIO(text), sep=sep, decimal=decimal, skipinitialspace=True, dtype=dtype
        )
    except pd.errors.EmptyDataError:
        raise DataFileError(
            "the data file has no columns", file=path, hint="re-export the data"
        ) from None
    except pd.errors.ParserError as exc:
        match = re.search(r"EOF inside string starting at row (\d+)", str(exc))
        if match is None:
            raise
        raise DataFileError(
            f"a quote opened on line {int(match[1]) + 1} is never closed",
            file=path,
            row=int(match[1]) + 1,
            hint='close or remove the stray quote character (") on that line',
        ) from None
    data.columns = [str(c).strip() for c in data.columns]
    return data, used
