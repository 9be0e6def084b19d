"""Separation where an estimate is shown: the mark, and the notes that name the trials.

A row of the result tables whose model has a trial with separation (``separated``: the
trials whose own data perfectly predict the outcome, ``ipdma.analysis._separation``) gets
:data:`SEPARATION_MARK` beside its estimate and a note naming the trials and saying what
it means. A two-stage estimate that left trials out (``two_stage_note``) gets
:data:`LEFT_OUT_MARK` and a note naming them with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from ..analysis._separation import separation_note

__all__ = [
    "LEFT_OUT_MARK",
    "SEPARATION_MARK",
    "left_out_note",
    "left_out_text",
    "separated_in",
    "separation_legend",
]

SEPARATION_MARK = "\u2016"  # double vertical line: separation in a trial of the model
LEFT_OUT_MARK = "#"  # a trial left out of the two-stage estimate (named in the note)


def separated_in(rec: Mapping[str, Any]) -> tuple[str, ...]:
    """The trials with separation in a table row's model (``separated`` column)."""
    value = rec.get("separated")
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ()
    return tuple(t.strip() for t in str(value).split(",") if t.strip())


def left_out_text(rec: Mapping[str, Any]) -> str:
    """The two-stage notice of a row ("trial sept left out: separation ..."; "" if none)."""
    value = rec.get("two_stage_note")
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value).strip()


def separation_legend(rows: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """The note for :data:`SEPARATION_MARK` naming every separated trial of ``rows`` (empty
    when none is)."""
    trials = sorted({t for rec in rows for t in separated_in(rec)})
    return (separation_note(trials, SEPARATION_MARK),) if trials else ()


def left_out_note(rows: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """The note for :data:`LEFT_OUT_MARK`: which trials the two-stage estimates left out."""
    notices = list(dict.fromkeys(text for rec in rows if (text := left_out_text(rec))))
    if not notices:
        return ()
    return (
        f"{LEFT_OUT_MARK} two-stage estimate without some trials ({'; '.join(notices)}): "
        "stage 1 has no finite estimate for them (no continuity or Firth correction is "
        "applied), so the two-stage estimate pools the other trials only.",
    )
