"""Write the report, its tables and its figures into an output folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ._compose import ReportInputs, compose
from ._render import render_html, write_atomic, write_figures, write_tables
from ._view import FigureView

__all__ = ["ReportFiles", "write_report"]

WORKBOOK = "ipdma-tables.xlsx"


@dataclass(frozen=True)
class ReportFiles:
    """What :func:`write_report` wrote."""

    html: Path
    tables: tuple[Path, ...]
    figures: tuple[Path, ...]


def write_report(inputs: ReportInputs, output: Path) -> ReportFiles:
    """Write ``output/report/index.html``, ``output/tables/*`` and ``output/figures/*``.

    Parameters
    ----------
    inputs
        The results to show (DataFrames, recorded plan, drawn figures).
    output
        The project's output folder (``PROJECT/output`` by default).
    """
    output = Path(output)
    document, tables = compose(inputs)
    for folder in ("tables", "figures", "report"):  # a folder that cannot be made fails
        (output / folder).mkdir(parents=True, exist_ok=True)  # before anything is written
    table_files = write_tables(tables, output / "tables", workbook=WORKBOOK)
    known = {f.key for f in inputs.figures}  # and those a section drew from the results
    shown = [f for s in document.sections for f in s.items if isinstance(f, FigureView)]
    figures = [*inputs.figures, *(f for f in shown if f.key not in known)]
    figure_files = write_figures(figures, output / "figures")
    html = output / "report" / "index.html"
    write_atomic(html, render_html(document).encode("utf-8"))
    return ReportFiles(html=html, tables=tuple(table_files), figures=tuple(figure_files))
