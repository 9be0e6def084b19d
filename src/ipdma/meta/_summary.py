"""A small printable summary shared by the meta-analysis results (text and HTML)."""

from __future__ import annotations

import html
from dataclasses import dataclass

import pandas as pd

__all__ = ["Summary"]


@dataclass(frozen=True)
class Summary:
    """Title, one table and notes; ``str()`` gives text, ``_repr_html_`` gives HTML."""

    title: str
    table: pd.DataFrame
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        body = self.table.to_string(index=False, float_format=lambda x: f"{x:.4g}")
        lines = [self.title, "=" * len(self.title), body]
        lines.extend(self.notes)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        table = self.table.to_html(index=False, float_format=lambda x: f"{x:.4g}", border=0)
        notes = "".join(f"<p>{html.escape(note)}</p>" for note in self.notes)
        return f"<div><strong>{html.escape(self.title)}</strong>{table}{notes}</div>"
