"""The report: one self-contained HTML file, every table as CSV/XLSX, every figure as PNG/SVG.

``build(project_path)`` reads the project's results and writes
``output/report/index.html``; :func:`write_report` renders given results (DataFrames and
drawn figures) and is what ``build`` calls. Presentation only: nothing here estimates.
"""

from __future__ import annotations

from ._build import build
from ._compose import ReportInputs, compose
from ._render import render_html
from ._view import Document, FigureView, Section, TableView, Text
from ._write import ReportFiles, write_report

__all__ = [
    "Document",
    "FigureView",
    "ReportFiles",
    "ReportInputs",
    "Section",
    "TableView",
    "Text",
    "build",
    "compose",
    "render_html",
    "write_report",
]
