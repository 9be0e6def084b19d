"""Subgroup-effect forest plot: treatment effect within modifier categories (paper Figs 3-5)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from ..errors import InputError
from ._forest import _interval_text
from ._rows import Row, render

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["subgroup_forest"]


def subgroup_forest(
    frame: pd.DataFrame,
    *,
    group: str = "modifier",
    label: str = "level",
    estimate: str = "estimate",
    ci_low: str = "ci_low",
    ci_high: str = "ci_high",
    count: str | None = "participants",
    measure: str = "MD",
    exponentiate: bool = False,
    ratio: bool = False,
    group_labels: Mapping[str, str] | None = None,
    favours: tuple[str, str] | None = ("Favours exercise", "Favours comparison"),
    title: str | None = None,
    xlabel: str | None = None,
    decimals: int | None = None,
    xlim: tuple[float, float] | None = None,
    overall: Mapping[str, float] | None = None,
    interaction_p: Mapping[str, str] | None = None,
) -> Figure:
    """Forest plot of subgroup effects: one header row per modifier (``group`` column), one
    row per category (``label``) with its effect and CI, as the paper's Figures 3-5.

    ``exponentiate=True`` takes log odds ratios and plots odds ratios; ``ratio=True`` takes
    ratios as they are; both use a log axis with the null line at 1. ``count`` (optional)
    is shown as a column (e.g. participants per category). Rows keep the frame's order.
    ``decimals`` defaults to 1 for differences and 2 for ratios; ``xlim`` fixes the axis
    (intervals beyond it end in arrow heads). ``overall`` (``estimate, ci_low, ci_high`` on
    the plotted scale, optional ``participants``) adds a first row with the overall effect
    as a diamond; ``interaction_p`` maps a modifier to the text of its interaction p-value,
    shown beside its name.
    """
    needed = [group, label, estimate, ci_low, ci_high] + ([count] if count else [])
    missing = [c for c in needed if c not in frame.columns]
    if count in missing:
        needed.remove(count)
        missing.remove(count)
        count = None
    if missing:
        raise InputError(
            f"column {missing[0]!r} is missing from the subgroup table",
            variable=missing[0],
            hint=f"pass a frame with columns {', '.join(needed)} (or name them via keywords)",
        )
    if frame.empty:
        raise InputError("the subgroup table is empty", hint="pass at least one category")
    names = dict(group_labels or {})
    log = exponentiate or ratio
    if decimals is None:
        decimals = 2 if log else 1
    rows: list[Row] = []
    if overall is not None:
        est, low, high = (float(overall[c]) for c in ("estimate", "ci_low", "ci_high"))
        n = overall.get("participants")
        text = _interval_text(est, low, high, decimals)
        cells = (str(int(n)) if n is not None and pd.notna(n) else "", text) if count else (text,)
        rows += [Row("pooled", "Overall (all participants)", est, low, high, cells=cells)]
        rows.append(Row("blank"))
    p_texts = dict(interaction_p or {})
    for name, part in frame.groupby(group, sort=False):
        heading = names.get(str(name), str(name))
        if p_texts.get(str(name)):
            heading += f"  ({p_texts[str(name)]})"
        rows.append(Row("group", heading))
        for _, item in part.iterrows():
            est, low, high = (float(item[c]) for c in (estimate, ci_low, ci_high))
            if exponentiate:
                est, low, high = math.exp(est), math.exp(low), math.exp(high)
            text = _interval_text(est, low, high, decimals) if math.isfinite(est) else "n/a"
            cells = (
                (f"{int(item[count])}" if pd.notna(item[count]) else "", text) if count else (text,)
            )
            rows.append(Row("study", str(item[label]), est, low, high, cells=cells, indent=1))
    headers = ("n", f"{measure} [95% CI]") if count else (f"{measure} [95% CI]",)
    return render(
        rows,
        label_header="Subgroup",
        cell_headers=headers,
        xlabel=xlabel or measure,
        null=1.0 if log else 0.0,
        log=log,
        favours=favours,
        title=title,
        xlim=xlim,
    )
