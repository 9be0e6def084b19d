"""The presentation model of the report: tables and figures as plain, immutable values.

A :class:`TableView` is what the HTML template, the CSV files and the XLSX workbook all
read: one flat DataFrame of display strings (the CSV is exactly that frame), the header
groups that sit above its columns, a CSS class per row (highlighting), a caption and notes.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field

import pandas as pd

__all__ = [
    "Document",
    "FigureView",
    "Section",
    "TableView",
    "Text",
    "format_ci",
    "format_number",
    "format_p",
]

MINUS = "\u2212"


@dataclass(frozen=True)
class TableView:
    """One table of the report.

    Parameters
    ----------
    key
        File stem and HTML anchor (``table4``); the CSV is ``tables/<key>.csv``.
    title
        The caption shown above the table ("Table 4. ...").
    frame
        Display strings, one row per table row; columns are the flat column names.
    groups
        Header groups above the columns: ``(label, span)`` pairs covering every column
        (an empty label leaves the cell blank). Empty for a one-row header.
    row_classes
        A CSS class per row ("" for none); ``important`` highlights a modifier,
        ``warning`` flags a row whose model had a problem.
    notes
        Footnotes printed below the table.
    repeat_first
        If False, the first column is shown only on the first row of each run of
        equal values (the paper's "variable, then its levels" layout).
    sheet
        Worksheet name in the XLSX workbook (<= 31 characters).
    collapsed
        Shown folded (``<details>``) in the HTML, opened on demand (provenance, diagnostics).
    """

    key: str
    title: str
    frame: pd.DataFrame
    groups: tuple[tuple[str, int], ...] = ()
    row_classes: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    repeat_first: bool = True
    sheet: str = ""
    section: str = "results"
    collapsed: bool = False

    kind = "table"

    def __post_init__(self) -> None:
        if self.groups and sum(span for _, span in self.groups) != self.frame.shape[1]:
            raise ValueError(f"header groups of {self.key} do not cover its columns")
        if self.row_classes and len(self.row_classes) != len(self.frame):
            raise ValueError(f"row classes of {self.key} do not match its rows")
        if not self.sheet:
            object.__setattr__(self, "sheet", self.key[:31])

    @property
    def column_labels(self) -> list[str]:
        """Column headers as shown: the part after ``"<group>: "`` when grouped."""
        return [str(c).split(": ", 1)[-1] for c in self.frame.columns]

    def display_rows(self) -> list[tuple[str, list[str]]]:
        """``(css_class, cells)`` per row, with repeated first cells blanked if asked."""
        classes = self.row_classes or ("",) * len(self.frame)
        rows: list[tuple[str, list[str]]] = []
        previous: str | None = None
        for css, values in zip(classes, self.frame.itertuples(index=False), strict=True):
            cells = ["" if _missing(v) else str(v) for v in values]
            if not self.repeat_first and cells:
                first = cells[0]
                if first == previous:
                    cells[0] = ""
                previous = first
            rows.append((css, cells))
        return rows


@dataclass(frozen=True)
class FigureView:
    """One figure: its PNG and SVG bytes, caption and anchor."""

    key: str
    title: str
    png: bytes = field(repr=False)
    svg: bytes = field(repr=False)
    notes: tuple[str, ...] = ()
    section: str = "results"

    kind = "figure"

    def data_uri(self) -> str:
        """The PNG as a ``data:`` URI, so the HTML needs no other file."""
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass(frozen=True)
class Text:
    """A paragraph of the report; ``css`` is "" or one of "alert", "ok", "empty", or
    "code" (preformatted, e.g. Appendix 1's R and Stata code)."""

    text: str
    css: str = ""
    href: str = ""

    kind = "text"


@dataclass(frozen=True)
class Section:
    """A numbered section of the report with its items in reading order."""

    key: str
    title: str
    items: tuple[TableView | FigureView | Text, ...] = ()


@dataclass(frozen=True)
class Document:
    """Everything the template renders."""

    title: str
    subtitle: str
    summary: tuple[tuple[str, str], ...]
    alerts: tuple[str, ...]
    sections: tuple[Section, ...]
    version: str


def _missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def format_number(value: float | None, digits: int = 2) -> str:
    """A number with ``digits`` decimals and a true minus sign; "" when missing."""
    if value is None or not math.isfinite(float(value)):
        return ""
    text = f"{float(value):.{digits}f}"
    if float(text) == 0:
        text = text.lstrip("-")
    return text.replace("-", MINUS)


def format_ci(estimate: float, low: float, high: float, digits: int = 2) -> str:
    """``estimate (low, high)`` as in the paper's tables; "" when the estimate is missing."""
    if _missing(estimate):
        return ""
    return (
        f"{format_number(estimate, digits)} "
        f"({format_number(low, digits)}, {format_number(high, digits)})"
    )


def format_p(p: float | None) -> str:
    """p-values: two decimals, three below 0.1 (so 0.049 never reads 0.05), ``<0.001``."""
    if p is None or _missing(p):
        return ""
    value = float(p)
    if value < 0.001:
        return "<0.001"
    return f"{value:.3f}" if value < 0.1 else f"{value:.2f}"
