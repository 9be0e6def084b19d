"""Tables 1-3 in the paper's layout, from the tidy frames of ``ipdma.describe``.

``table1``: one row per trial (``trial, study, country, population, participants,
pct_female, mean_age, arms, comparison_category, pain_instrument, function_instrument,
short, moderate, long``). ``table2``: ``section, row, kind, included, not_included, test,
p`` (+ numbers). ``table3``: ``variable, level, kind, characteristic, n, value`` (+ numbers).
A frame without the expected columns is shown as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ._captions import windows_note
from ._tables import frame_view
from ._view import TableView, format_number, format_p

__all__ = ["table1_view", "table2_view", "table3_view"]

_TABLE1 = {
    "study": "Trial author, year",
    "country": "Country",
    "population": "Population source",
    "participants": "Participants",
    "pct_female": "% Female",
    "mean_age": "Mean age",
    "arms": "# Ex; Comp",
    "comparison_category": "Comparison category",
    "pain_instrument": "Pain intensity",
    "function_instrument": "Functional limitations",
    "short": "Short",
    "moderate": "Mod.",
    "long": "Long",
}
TITLE1 = "Table 1. Characteristics of the trials with data available for the IPD meta-analysis"
TITLE2 = (
    "Table 2. Trial and group-level characteristics of the included trials compared with the "
    "eligible trials that did not provide data"
)
TITLE3 = "Table 3. Characteristics of the participants at baseline (% missing per characteristic)"


def table1_view(frame: pd.DataFrame, settings: Mapping[str, Any] | None = None) -> TableView:
    """Table 1 with the paper's column groups (trial groups, outcomes, follow-up periods);
    the note names each window's target from the harmonization ``settings``."""
    if not set(_TABLE1) <= set(frame.columns):
        return frame_view(frame, key="table1", title=TITLE1)
    shown = frame[list(_TABLE1)].rename(columns=_TABLE1)
    view = frame_view(shown, key="table1", title=TITLE1)
    groups = (
        ("", 6),
        ("Trial groups", 2),
        ("Outcomes available", 2),
        ("Follow-up periods", 3),
    )
    return TableView(
        key="table1",
        title=TITLE1,
        frame=view.frame,
        groups=groups,
        notes=(
            "# Ex; Comp: number of exercise and comparison groups. Follow-up periods: + the "
            "outcome was measured within the window. "
            + windows_note(("short", "moderate", "long"), settings),
        ),
    )


def table2_view(frame: pd.DataFrame) -> TableView:
    """Table 2: header rows per block (with the block's test), level rows indented."""
    needed = {"row", "kind", "included", "not_included"}
    if not needed <= set(frame.columns):
        return frame_view(frame, key="table2", title=TITLE2)
    rows, classes = [], []
    for rec in frame.to_dict("records"):
        header = rec["kind"] in ("header", "value")
        label = str(rec["row"])
        if rec.get("summary") and rec["kind"] == "value":
            label = f"{label} ({rec['summary']})"
        rows.append(
            {
                "Trial characteristic": label if header else f"\u2003{label}",
                "Included IPD trials": "" if rec["kind"] == "header" else rec["included"],
                "Not included eligible trials": ""
                if rec["kind"] == "header"
                else rec["not_included"],
                "Test": _text(rec.get("test")) if header else "",
                "p": format_p(rec.get("p")) if header else "",
            }
        )
        classes.append("header" if header else "")
    n = _totals(frame)
    table = pd.DataFrame(rows)
    if n:
        table = table.rename(
            columns={
                "Included IPD trials": f"Included IPD trials (N={n[0]})",
                "Not included eligible trials": f"Not included eligible trials (N={n[1]})",
            }
        )
    return TableView(
        key="table2",
        title=TITLE2,
        frame=table.fillna(""),
        row_classes=tuple(classes),
        notes=(
            "Number (%) unless noted; IQR: interquartile range. Each block's test compares "
            "included and not-included trials (trial-level values).",
        ),
    )


def _totals(frame: pd.DataFrame) -> tuple[int, int] | None:
    rows = frame.loc[frame["kind"] == "header"]
    if rows.empty or "included_n" not in frame or "not_included_n" not in frame:
        return None
    first = rows.iloc[0]
    if pd.isna(first["included_n"]) or pd.isna(first["not_included_n"]):
        return None
    return int(first["included_n"]), int(first["not_included_n"])


def table3_view(frame: pd.DataFrame) -> TableView:
    """Table 3: characteristic (with % missing), number of participants, % or mean (CI)."""
    needed = {"kind", "characteristic", "n", "value"}
    if not needed <= set(frame.columns):
        return frame_view(frame, key="table3", title=TITLE3)
    rows, classes = [], []
    for rec in frame.to_dict("records"):
        level = rec["kind"] == "level"
        rows.append(
            {
                "Participant characteristic at baseline": (
                    f"\u2003{rec['characteristic']}" if level else rec["characteristic"]
                ),
                "Number of participants": "" if rec["kind"] == "header" else _count(rec["n"]),
                "% or summary": rec["value"] or "",
            }
        )
        classes.append("" if level else "header")
    return TableView(
        key="table3",
        title=TITLE3,
        frame=pd.DataFrame(rows).fillna(""),
        row_classes=tuple(classes),
        notes=("Number and % of participants with a value unless noted; LBP: low back pain.",),
    )


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value)


def _count(value: object) -> str:
    if not isinstance(value, int | float | np.integer | np.floating) or pd.isna(value):
        return ""
    return format_number(float(value), 0)
