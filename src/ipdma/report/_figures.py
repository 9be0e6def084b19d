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
from ._separation import separation_legend
from ._view import FigureView, format_p

__all__ = [
    "aggregate_figures",
    "figure_view",
    "flow_figure",
    "overall_figures",
    "subgroup_figures",
]

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


def _interaction_p(interactions: pd.DataFrame | None, outcome: str, window: str,
                   comparison: str, adjusted: bool) -> dict[str, str]:  # fmt: skip
    """Per modifier, its interaction p-value(s) as text ("p = 0.004"; one per level)."""
    if interactions is None or interactions.empty:
        return {}
    rows = interactions.loc[
        (interactions["outcome"] == outcome)
        & (interactions["window"] == window)
        & (interactions["comparison"] == comparison)
        & (interactions["adjusted"].map(as_bool) == adjusted)
    ]
    out = {}
    for modifier, part in rows.groupby("modifier", sort=False):
        values = [format_p(p) for p in part["p"] if pd.notna(p)]
        if values:
            out[str(modifier)] = "p " + "; ".join(
                f"< {v[1:]}" if v.startswith("<") else f"= {v}" for v in values
            )
    return out


def _overall_row(overall: pd.DataFrame | None, outcome: str, window: str, comparison: str):
    if overall is None or overall.empty:
        return None
    rows = overall.loc[
        (overall["outcome"] == outcome)
        & (overall["window"] == window)
        & (overall["comparison"] == comparison)
    ]
    if rows.empty or pd.isna(rows["estimate"].iloc[0]):
        return None
    return rows.iloc[0][["estimate", "ci_low", "ci_high", "participants"]].to_dict()


def subgroup_figures(
    subgroups: pd.DataFrame,
    plan: Mapping[str, Any],
    overall: pd.DataFrame | None = None,
    interactions: pd.DataFrame | None = None,
    settings: Mapping[str, Any] | None = None,
) -> list[FigureView]:
    """Figures 3-5: subgroup treatment effects at the plan's primary window and comparison,
    with the overall effect as the first row and each modifier's interaction p-value.

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
            overall=_overall_row(overall, outcome, window, comparison),
            interaction_p=_interaction_p(interactions, outcome, window, comparison, adjusted),
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
                    "uncentred modifier categories (clinical cut-points or the median). First "
                    "row: the overall effect; beside each modifier (p = ...) the p-value of its "
                    "within-trial interaction (Tables 4-6).",
                    *separation_legend(rows.to_dict("records")),
                ),
            )
        )
    return views


_COMPARISON_WORDS = {
    "any": "any non-exercise comparison",
    "usual": "no treatment / usual care",
    "conservative": "other conservative treatment",
}


def overall_figures(
    forest: pd.DataFrame,
    overall: pd.DataFrame,
    plan: Mapping[str, Any],
    trial_labels: Mapping[str, str] | None = None,
) -> list[FigureView]:
    """One-stage forest plot per outcome and comparison set (primary window): per-trial
    estimates (``forest`` table), the one-stage estimate, prediction interval and tau."""
    from .. import plots

    window = plan.get("primary_window", "short")
    views = []
    for outcome, word in (("pain", "pain"), ("function", "function"),
                          ("recovery", "global recovery")):  # fmt: skip
        for comparison in plan.get("comparisons", ("any", "usual", "conservative")):
            cell = overall.loc[
                (overall["outcome"] == outcome)
                & (overall["window"] == window)
                & (overall["comparison"] == comparison)
            ]
            trials = forest.loc[
                (forest["outcome"] == outcome)
                & (forest["window"] == window)
                & (forest["comparison"] == comparison)
            ]
            if cell.empty or trials.empty or pd.isna(cell["estimate"].iloc[0]):
                continue
            scale = "OR" if outcome == "recovery" else "MD"
            fig = plots.one_stage_forest(
                trials,
                cell.iloc[0].to_dict(),
                measure=scale,
                labels=trial_labels,
                xlabel="Odds ratio of global recovery"
                if scale == "OR"
                else f"Mean difference in {word} (0-100)",
                favours=("Favours comparison", "Favours exercise")
                if scale == "OR"
                else ("Favours exercise", "Favours comparison"),
                tau_scale="log odds" if scale == "OR" else "points",
            )
            vs = _COMPARISON_WORDS.get(comparison, comparison)
            cell_rows = cell.to_dict("records")
            views.append(
                figure_view(
                    fig,
                    key=f"forest_{outcome}_{comparison}",
                    title=f"One-stage forest plot: exercise vs {vs}, {word}, follow-up closest "
                    "to 3 months",
                    notes=(
                        "Per-trial estimates from each trial's own regression with the same "
                        "covariates (baseline value of the outcome; baseline function for "
                        "global recovery); square areas proportional to participants. The "
                        "diamond is the one-stage random-effects estimate with its 95% CI; "
                        "the red bar its 95% prediction interval for a new trial (t with K-2 "
                        "df). \u03c4: between-trial SD of the treatment effect.",
                        *separation_legend(cell_rows),
                    ),
                )
            )
    return views


def flow_figure(master: Any, overall: pd.DataFrame | None, flow: Any) -> list[FigureView]:
    """Figure 1: the flow of trials and participants (``ipdma.describe.flow_counts``)."""
    from ..describe import flow_counts
    from ..plots import flow_diagram

    counts = flow_counts(master, overall, flow)
    fig = flow_diagram(counts)
    return [
        figure_view(
            fig,
            key="figure1",
            title="Figure 1. Flow of trials and participants",
            notes=(
                "Eligible and requested trials come from the project's [[not_included]] "
                "trials and its optional [flow] section; participants from the IPD "
                "received. Analysed: participants of the one-stage overall model (exercise "
                "vs any non-exercise comparison) per outcome and follow-up window.",
            ),
        )
    ]
