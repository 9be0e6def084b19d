"""Appendix 9's credibility assessment (ICEMAN-style, Schandelmaier et al. 2020), from the
stored frames of ``AnalysisResults.beyond`` (:mod:`ipdma.analysis._beyond_credibility`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..analysis import BeyondResults
from ._captions import comparison_phrase, primary_of, window_phrase
from ._figures import figure_view
from ._labels import OUTCOME_LABELS
from ._tables import _SHORT_COMPARISON, _sort
from ._view import FigureView, TableView, Text, format_number

__all__ = ["credibility_figures", "credibility_items"]

_KEY = ["outcome", "window", "comparison", "modifier", "level"]
_CRITERIA = (
    ("within-trial comparison", "Within-trial"),
    ("pre-specified with direction", "Pre-specified, direction"),
    ("chance (multiplicity)", "Chance (FDR)"),
    ("consistency across trials", "Across trials"),
    ("consistency across outcomes and follow-ups", "Across outcomes, follow-ups"),
    ("continuous analysis", "Continuous analysis"),
)


def _label(labels: Mapping[str, str], modifier: str) -> str:
    return labels.get(modifier) or modifier


def credibility_figures(
    beyond: BeyondResults,
    plan: Mapping[str, Any],
    labels: Mapping[str, str],
    trial_labels: Mapping[str, str] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> list[FigureView]:
    """Per-trial forests of the claimed modifiers' interactions, primary window and
    comparison (the other cells' numbers are in the table)."""
    from ..plots import trial_interactions

    window, comparison = primary_of(plan)
    rated = beyond.credibility
    chosen = rated.loc[
        (rated["window"] == window) & (rated["comparison"] == comparison) & (rated["k"] > 0)
    ]
    if chosen.empty:
        return []
    chosen = chosen.reset_index(drop=True)
    titles = {
        i: f"{str(r['outcome']).capitalize()}: {_label(labels, str(r['modifier']))}"
        + ("" if r["level"] == "per unit" else f" ({r['level']})")
        for i, r in chosen.iterrows()
    }
    xlabels = [
        "Interaction, log odds ratio"
        if r["scale"] == "log OR"
        else "Interaction, MD" + (" per unit" if r["level"] == "per unit" else "")
        for _, r in chosen.iterrows()
    ]
    fig = trial_interactions(chosen, beyond.credibility_trials, titles=titles,
                             trial_labels=trial_labels, xlabels=xlabels)  # fmt: skip
    return [figure_view(
        fig, key="appendix9_trials",
        title="Appendix 9 (credibility). Per-trial interaction estimates of the potentially "
        f"important modifiers, {window_phrase(window, settings)}, "
        f"{comparison_phrase(comparison)}",
        notes=(
            "Each trial's own regression (least squares; logistic for global recovery) with "
            "the model's adjustment, 95% CI; the diamond: pooled by REML; I\u00b2: "
            "heterogeneity between the trials' interactions.",
        ),
    )]  # fmt: skip


def credibility_items(
    beyond: BeyondResults, figures: list[FigureView], labels: Mapping[str, str]
) -> list[TableView | FigureView | Text]:
    """The credibility table (one row per Appendix 9 row), its reasons, and the forests."""
    rated = beyond.credibility
    if rated.empty:
        return []
    criteria = beyond.credibility_criteria
    answers = {
        (*(str(r[c]) for c in _KEY), str(r["criterion"])): str(r["answer"])
        for r in criteria.to_dict("records")
    }
    rows = []
    for rec in _sort(rated, ["outcome", "window", "comparison"]).to_dict("records"):
        key = tuple(str(rec[c]) for c in _KEY)
        row = {
            "Outcome": OUTCOME_LABELS.get(rec["outcome"], rec["outcome"]),
            "Follow-up": str(rec["window"]),
            "Comparison": _SHORT_COMPARISON.get(rec["comparison"], rec["comparison"]),
            "Variable": _label(labels, str(rec["modifier"])),
            "Level": str(rec["level"]),
        }
        for name, short in _CRITERIA:
            row[short] = answers.get((*key, name), "")
        row["Trials: k, same direction, I\u00b2"] = (
            f"{int(rec['k'])}, {format_number(100 * rec['share'], 0)}%, "
            f"{format_number(rec['i2'], 0)}%"
            if rec["k"] and rec["k"] > 0
            else "0"
        )
        row["Credibility"] = str(rec["rating"])
        row["Note"] = str(rec.get("reasons") or "") if rec["rating"] == "not assessed" else ""
        rows.append(row)
    table = TableView(
        key="appendix9_credibility",
        title="Appendix 9 (continued). Credibility of each potentially important modifier "
        "(ICEMAN-style)",
        frame=pd.DataFrame(rows).fillna(""),
        notes=(
            "Criteria after the ICEMAN instrument (Schandelmaier et al. 2020, CMAJ 192:E901): "
            "within-trial comparison (the interaction uses within-trial information only; "
            "'partly' when the across-trial term points the other way); pre-specified with "
            "a hypothesized direction (the plan's modifier settings) and the estimate in that "
            "direction; chance (Benjamini-Hochberg q below alpha across all modifiers and "
            "outcomes tested); consistency across trials (I\u00b2 < 50% and at least 60% of "
            "trials in the pooled direction: yes; I\u00b2 < 75%: partly); consistency of the "
            "same modifier level across the other outcomes, follow-ups and comparison sets "
            "(by direction of benefit); continuous modifiers analysed as continuous.",
            "Rating: high when the first four criteria are met and the fifth at least "
            "partly; low when the within-trial comparison fails, or chance is not excluded "
            "and at least three criteria are not met; moderate otherwise. The reason of every "
            "answer is in the table of criteria below.",
        ),
        repeat_first=False,
    )
    detail = criteria.assign(
        outcome=[OUTCOME_LABELS.get(o, o) for o in criteria["outcome"]],
        modifier=[_label(labels, str(m)) for m in criteria["modifier"]],
    ).rename(columns=str.capitalize)
    detail_view = TableView(
        key="appendix9_criteria",
        title="Appendix 9 (continued). Credibility criteria with their reasons",
        frame=detail.astype(str),
        repeat_first=False,
        collapsed=True,
    )
    return [table, *figures, detail_view]
