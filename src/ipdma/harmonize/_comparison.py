"""Comparison sets: exercise vs any non-exercise, vs no treatment/usual care, vs other
conservative treatment (multi-arm trials: all exercise arms vs all comparison arms of the set)."""

from __future__ import annotations

import pandas as pd

from .._literals import Comparison, validate

__all__ = ["comparison_set"]


def comparison_set(frame: pd.DataFrame, comparison: Comparison = "any") -> pd.DataFrame:
    """Rows of ``frame`` (participants layout) in the comparison set.

    Keeps every exercise row (``treat == 1``) and the comparison rows whose ``comparison``
    is the set (``"usual"``: no treatment, usual care, placebo; ``"conservative"``: other
    conservative treatment; ``"any"``: both), then drops trials left without both an
    exercise and a comparison arm (they carry no information on the treatment effect).
    """
    validate(comparison, Comparison, "comparison")
    treat = frame["treat"] == 1
    keep = treat | (frame["comparison"].notna() if comparison == "any"
                    else frame["comparison"] == comparison)  # fmt: skip
    rows = frame[keep]
    sides = rows.groupby("trial")["treat"].agg(lambda t: t.nunique())
    both = sides.index[sides == 2]
    return rows[rows["trial"].isin(both)]
