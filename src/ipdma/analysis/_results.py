"""The results of an analysis run: tidy tables, the plan that produced them, and run counts."""

from __future__ import annotations

import html
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ._plan import AnalysisPlan

__all__ = [
    "NOT_ESTIMABLE",
    "TABLE_NAMES",
    "AnalysisResults",
    "write_csv_atomic",
    "write_text_atomic",
]

TABLE_NAMES = ("overall", "interactions", "subgroups", "important", "models", "forest")
_UMASK = os.umask(0)  # read once at import (os.umask can only be read by setting it)
os.umask(_UMASK)
NOT_ESTIMABLE = "not estimable"  # models-table status of a cell with fewer than two trials


def write_text_atomic(text: str, path: Path) -> Path:
    """Write ``text`` (UTF-8) via a temporary file and ``os.replace`` (never a partial file),
    with the mode the umask gives a new file (0644 under the usual umask 022)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temp, 0o666 & ~_UMASK)  # mkstemp makes 0600; results are for sharing
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def write_csv_atomic(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as CSV atomically."""
    return write_text_atomic(frame.to_csv(index=False, lineterminator="\n"), path)


@dataclass(frozen=True)
class AnalysisResults:
    """Everything an analysis run produced (immutable).

    Attributes
    ----------
    overall, interactions, subgroups, important, models : DataFrame
        The tidy tables (see ``ipdma.analysis`` for their columns).
    forest : DataFrame
        Per-trial treatment effects of the overall models in the primary window (the
        one-stage forest plots; ``ipdma.analysis._forest``).
    plan : AnalysisPlan
        The plan used (also recorded as JSON in ``plan.json`` beside the tables).
    fitted, cached, failed : int
        Models fitted in this run, reused from the results cache, and failed.
    not_estimable : int
        Grid cells with fewer than two trials with both arms and complete data (status
        ``not estimable`` in ``models``; no fit is attempted, the reason is in ``error``).
    seconds : float
        Wall time of the run.
    tables : dict
        Paths of the written CSV files (empty when nothing was written).
    """

    overall: pd.DataFrame
    interactions: pd.DataFrame
    subgroups: pd.DataFrame
    important: pd.DataFrame
    models: pd.DataFrame
    plan: AnalysisPlan
    fitted: int = 0
    cached: int = 0
    failed: int = 0
    seconds: float = 0.0
    tables: dict[str, Path] = field(default_factory=dict)
    not_estimable: int = 0
    forest: pd.DataFrame = field(default_factory=pd.DataFrame)

    def table(self, name: str) -> pd.DataFrame:
        """One of the tables by name (``overall``, ``interactions``, ...)."""
        if name not in TABLE_NAMES:
            raise KeyError(f"no table {name!r}; tables: {', '.join(TABLE_NAMES)}")
        return getattr(self, name)

    def tidy(self) -> pd.DataFrame:
        """The interactions table (the main result; one row per modifier level)."""
        return self.interactions

    to_frame = tidy

    def summary(self) -> str:
        """A short text summary: models fitted/cached/failed, tables, important modifiers."""
        lines = [
            f"models: {len(self.models)} ({self.fitted} fitted, {self.cached} cached, "
            f"{self.failed} failed) in {self.seconds:.1f} s",
            f"overall effects: {len(self.overall)} rows; interactions: "
            f"{len(self.interactions)} rows; subgroups: {len(self.subgroups)} rows",
            f"potentially important modifiers (Appendix 9): {len(self.important)}",
        ]
        if self.tables:
            lines.append(f"tables: {Path(next(iter(self.tables.values()))).parent}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        text = "<br>".join(html.escape(line) for line in self.summary().splitlines())
        return f"<div><b>ipdma analysis</b><br>{text}</div>" + self.overall.to_html(index=False)
