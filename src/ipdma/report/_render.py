"""Render a :class:`Document` to one self-contained HTML file, and tables/figures to files.

The HTML inlines its CSS and embeds every figure as a base64 PNG; it references no other
file and no URL, so it opens from the disk with no server. Tables are also written as CSV
(exactly the displayed cells, UTF-8 with a byte-order mark so Excel reads it) and as one
XLSX workbook (numbers as numbers with their displayed decimals, frozen header rows);
figures as PNG and SVG. Files get the mode the umask gives (0644 under umask 022). Nothing
written carries a timestamp, so the same results give byte-identical files.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import zipfile
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

import jinja2

from ._view import Document, FigureView, TableView

__all__ = ["render_html", "write_atomic", "write_figures", "write_tables"]

_NUMERIC = re.compile(r"^[\u2212\-<]?\d[\d.,]*( \(.*\))?[\u2020\u2021\u00a7\u00b6]*$|^--$")
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_UMASK = os.umask(0)
os.umask(_UMASK)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs are for sharing
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ipdma.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.tests["numeric_cell"] = lambda cell: bool(_NUMERIC.match(str(cell)))
    return env


def render_html(document: Document) -> str:
    """The report as one HTML string (CSS inline, figures as data URIs)."""
    css = resources.files("ipdma.report").joinpath("templates/report.css").read_text("utf-8")
    return _environment().get_template("report.html.j2").render(doc=document, css=css)


def write_tables(tables: Iterable[TableView], folder: Path, *, workbook: str) -> list[Path]:
    """Each table as ``folder/<key>.csv`` and all of them in ``folder/<workbook>``."""
    tables = list(tables)
    written = []
    for table in tables:
        path = folder / f"{table.key}.csv"
        text = table.frame.to_csv(index=False, lineterminator="\n")
        write_atomic(path, text.encode("utf-8-sig"))  # the BOM makes Excel read UTF-8
        written.append(path)
    path = folder / workbook
    write_atomic(path, _workbook(tables))
    written.append(path)
    return written


def _workbook(tables: list[TableView]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    book = Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    highlight = PatternFill("solid", fgColor="FFF4C2")
    used: set[str] = set()
    for table in tables:
        name = _sheet_name(table.sheet or table.key, used)
        sheet = book.create_sheet(name)
        sheet.append([table.title])
        sheet["A1"].font = bold
        header_row = 2
        if table.groups:
            cells: list[str] = []
            for label, span in table.groups:
                cells += [label] + [""] * (span - 1)
            sheet.append(cells)
            header_row = 3
        sheet.append(table.column_labels)
        for cell in sheet[header_row]:
            cell.font = bold
        classes = table.row_classes or ("",) * len(table.frame)
        for css, (_, cells) in zip(classes, table.display_rows(), strict=True):
            values = [_cell_value(c) for c in cells]
            sheet.append([v for v, _ in values])
            for cell, (_, number_format) in zip(sheet[sheet.max_row], values, strict=False):
                if number_format:
                    cell.number_format = number_format
                if "important" in css:
                    cell.fill = highlight
        sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1)
        for note in table.notes:
            sheet.append([note])
        for column in sheet.columns:
            width = max(len(str(c.value or "")) for c in list(column)[1:] or column)
            sheet.column_dimensions[column[0].column_letter].width = min(max(width + 2, 8), 60)
    fixed = __import__("datetime").datetime(2000, 1, 1)
    book.properties.created = fixed
    book.properties.modified = fixed
    buffer = io.BytesIO()
    book.save(buffer)
    return _normalize_zip(buffer.getvalue())


_INTEGER = re.compile(r"^-?\d{1,15}$")
_DECIMAL = re.compile(r"^-?\d{1,15}\.(\d{1,10})$")


def _cell_value(text: str) -> tuple[str | int | float, str]:
    """A displayed cell as an XLSX value: numbers as numbers with a format showing the same
    decimals ("0.00"), everything else (CIs, "<0.001", marks) as text."""
    plain = text.strip().replace("\u2212", "-")
    if _INTEGER.match(plain):
        return int(plain), "0"
    match = _DECIMAL.match(plain)
    if match:
        return float(plain), "0." + "0" * len(match.group(1))
    return text, ""


def _normalize_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed entry times, so identical content gives identical bytes."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2000-01-01T00:00:00Z", content
                )
            entry = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, content)
    return out.getvalue()


def _sheet_name(name: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "-", name)[:31] or "sheet"
    candidate, n = base, 1
    while candidate.lower() in used:
        n += 1
        candidate = f"{base[: 31 - len(str(n)) - 1]}-{n}"
    used.add(candidate.lower())
    return candidate


def write_figures(figures: Iterable[FigureView], folder: Path) -> list[Path]:
    """Each figure as ``folder/<key>.png`` and ``folder/<key>.svg``."""
    written = []
    for figure in figures:
        for suffix, data in ((".png", figure.png), (".svg", figure.svg)):
            path = folder / f"{figure.key}{suffix}"
            write_atomic(path, data)
            written.append(path)
    return written
