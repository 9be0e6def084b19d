"""The report's figures, drawn by ``ipdma.plots`` from results (never from estimators).

* Figure 2 / Appendix 2: random-effects meta-analysis of the published aggregate results
  (exercise minus comparison, 0-100 scale) of trials included in the IPD vs eligible trials
  not included, with the test for subgroup differences (RevMan's DerSimonian-Laird model,
  as the paper used RevMan 5.3).
* Figures 3-5: treatment effect per category of each modifier (the ``subgroups`` table of
  ``ipdma.analysis.run``), pain, function and global recovery at short term.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ._captions import comparison_phrase, primary_of, window_phrase
from ._labels import as_bool
from ._view import FigureView

__all__ = ["aggregate_figures", "figure_view", "subgroup_figures"]

_COMPARISON_PREFERENCE = ("any", "usual", "conservative")
DPI = 150  # PNG resolution (embedded in the report); the SVG is the vector version
INCLUDED, NOT_INCLUDED = "Included in the IPD meta-analysis", "Eligible, not included"


def figure_view(fig: Any, *, key: str, title: str, notes: Sequence[str] = ()) -> FigureView:
    """PNG and SVG bytes of a matplotlib figure, written by ``ipdma.plots.save``."""
    from ..plots import save

    with tempfile.TemporaryDirectory() as folder:
        png, svg = save(fig, Path(folder) / key, dpi=DPI)
        return FigureView(
            key=key, title=title, png=png.read_bytes(), svg=svg.read_bytes(), notes=tuple(notes)
        )


def published_effects(published: pd.DataFrame, trials: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """One published MD per trial for ``outcome``: the 'any comparison' result if reported,
    else the first comparison set reported; with the trial's label and inclusion."""
    rows = published.loc[(published["outcome"] == outcome) & published["md"].notna()]
    rows = rows.loc[rows["se"].notna() & (rows["se"] > 0)]
    if rows.empty:
        return rows.assign(label=pd.Series(dtype=str), group=pd.Series(dtype=str))
    rank = rows["comparison"].map(
        lambda c: _COMPARISON_PREFERENCE.index(c) if c in _COMPARISON_PREFERENCE else 9
    )
    rows = rows.assign(_rank=rank).sort_values(["trial", "_rank"], kind="stable")
    rows = rows.drop_duplicates("trial").drop(columns="_rank")
    info = trials.set_index("trial")
    rows = rows.assign(
        label=[str(info["label"].get(t, t)) for t in rows["trial"]],
        group=[
            INCLUDED if as_bool(info["included"].get(t, False)) else NOT_INCLUDED
            for t in rows["trial"]
        ],
        year=[info["year"].get(t) if "year" in info else None for t in rows["trial"]],
    )
    return rows.sort_values(["group", "year", "label"], kind="stable").reset_index(drop=True)


def aggregate_figures(master: Any) -> list[FigureView]:
    """Figure 2 (pain) and Appendix 2 (function) from ``master.published``."""
    from ..meta import subgroup
    from ..plots import forest

    views = []
    for key, outcome, word in (("figure2", "pain", "pain"), ("appendix2", "function", "function")):
        rows = published_effects(master.published, master.trials, outcome)
        if rows.empty:
            continue
        result = subgroup(
            rows["md"].to_numpy(float),
            rows["se"].to_numpy(float) ** 2,
            rows["group"].tolist(),
            method="DL",
            labels=rows["label"].tolist(),
            order=[g for g in (INCLUDED, NOT_INCLUDED) if g in set(rows["group"])],
        )
        number = "Figure 2" if key == "figure2" else "Appendix 2"
        title = (
            f"{number}. Aggregate meta-analysis of published results, {word} (0-100): trials "
            "included in the IPD meta-analysis vs eligible trials not included"
        )
        fig = forest(result, measure="MD", xlabel=f"Mean difference in {word} (0-100)")
        views.append(
            figure_view(
                fig,
                key=key,
                title=title,
                notes=(
                    "Exercise minus any non-exercise comparison as published; random effects "
                    "(DerSimonian-Laird) within each group; negative favours exercise.",
                ),
            )
        )
    return views


def subgroup_figures(
    subgroups: pd.DataFrame,
    plan: Mapping[str, Any],
    settings: Mapping[str, Any] | None = None,
) -> list[FigureView]:
    """Figures 3-5: subgroup treatment effects at the plan's primary window and comparison.

    Captions name that window with its target (``settings``) and the comparison set.
    """
    from .. import plots

    draw = plots.subgroup_forest
    window, comparison = primary_of(plan)
    adjusted = plan.get("subgroup_adjustment", "adjusted") == "adjusted"
    level = f"{100 * float(plan.get('level', 0.95)):g}%"
    views = []
    for number, outcome, word in ((3, "pain", "pain"), (4, "function", "function"),
                                  (5, "recovery", "global recovery")):  # fmt: skip
        rows = subgroups.loc[
            (subgroups["outcome"] == outcome)
            & (subgroups["window"] == window)
            & (subgroups["comparison"] == comparison)
            & (subgroups["adjusted"].map(as_bool) == adjusted)
        ]
        if rows.empty:
            continue
        scale = "OR" if outcome == "recovery" else "MD"
        rows = rows.loc[rows["estimate"].notna()]
        if rows.empty:
            continue
        if "order" in rows.columns:  # plan order of modifiers, category order within each
            first = {m: i for i, m in enumerate(dict.fromkeys(rows["modifier"]))}
            rows = rows.assign(_first=rows["modifier"].map(first))
            rows = rows.sort_values(["_first", "order"], kind="stable").drop(columns="_first")
        names = dict(zip(rows["modifier"], rows.get("label", rows["modifier"]), strict=True))
        fig = draw(
            rows,
            measure=scale,
            ratio=scale == "OR",
            group_labels=names,
            xlabel="Odds ratio of global recovery"
            if scale == "OR"
            else f"Mean difference in {word} (0-100)",
            favours=("Favours comparison", "Favours exercise")
            if scale == "OR"
            else ("Favours exercise", "Favours comparison"),
        )
        views.append(
            figure_view(
                fig,
                key=f"figure{number}",
                title=f"Figure {number}. Treatment effect of exercise on {word} by subgroup of "
                f"each potential modifier ({'odds ratio' if scale == 'OR' else 'mean difference'}"
                f" with {level} CI), {window_phrase(window, settings)}, "
                f"{comparison_phrase(comparison)}",
                notes=(
                    f"{'Adjusted' if adjusted else 'Unadjusted'} one-stage models with "
                    "uncentred modifier categories (clinical cut-points or the median).",
                ),
            )
        )
    return views
