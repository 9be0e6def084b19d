"""The report's "IPD and aggregate data" section (``[analysis] aggregate = true``).

Reads the typed records of :mod:`ipdma.analysis._aggregate_records` (results store), never
refits: a sensitivity table "IPD only vs IPD + aggregate data" (two-stage and one-stage,
every overall cell with aggregate-data trials) and, for the primary follow-up window, one
forest plot per outcome and comparison set in which the aggregate-data trials are open
circles marked "(AD)".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ._captions import comparison_phrase, window_phrase
from ._labels import COMPARISON_LABELS, OUTCOME_LABELS
from ._view import FigureView, Section, TableView, Text, format_ci, format_number, format_p

__all__ = ["aggregate_figures_of", "aggregate_section"]

_KEY = "aggregate_forest_"


def aggregate_figures_of(
    results: Any, plan: Mapping[str, Any], trial_labels: Mapping[str, str] | None = None
) -> list[FigureView]:
    """Forest plots (primary window) of the IPD + aggregate-data records of ``results``."""
    from ..plots._aggregate import aggregate_forest
    from ._figures import figure_view

    window = plan.get("primary_window", "short")
    views = []
    for record in getattr(results, "aggregate_analyses", ()):
        if record.window != window or not record.estimates:
            continue
        word = {"pain": "pain", "function": "function"}.get(record.outcome, record.outcome)
        fig = aggregate_forest(
            record, labels=trial_labels, xlabel=f"Mean difference in {word} (0-100)"
        )
        views.append(
            figure_view(
                fig,
                key=f"{_KEY}{record.outcome}_{record.comparison}",
                title=f"IPD and aggregate data: {comparison_phrase(record.comparison)}, "
                f"{word}, {window_phrase(window, None)}",
                notes=(
                    "Filled squares: trials with IPD (each trial's own ANCOVA on the baseline "
                    "value, area proportional to participants). Open circles marked (AD): "
                    "trials with aggregate data only, by their published mean difference and "
                    "standard error. Diamonds: pooled effect from IPD only (light) and from "
                    "IPD + aggregate data (dark), two-stage (REML) and one-stage (the "
                    "aggregate-data trials share the treatment effect and its between-trial "
                    "variance; Riley et al. 2008); 95% Wald CIs.",
                ),
            )
        )
    return views


def _table(frame: pd.DataFrame, settings: Mapping[str, Any] | None) -> TableView:
    rows = []
    for rec in frame.to_dict("records"):
        trials = f"{int(rec['k_ipd'])}"
        if int(rec["k_aggregate"]):
            trials += f" + {int(rec['k_aggregate'])}"
        rows.append(
            {
                "Outcome": OUTCOME_LABELS.get(rec["outcome"], rec["outcome"]),
                "Follow-up": window_phrase(str(rec["window"]), None).removesuffix(" follow-up"),
                "Comparison": COMPARISON_LABELS.get(rec["comparison"], rec["comparison"]),
                "Approach": str(rec["approach"]),
                "Trials": str(rec["data"]),
                "Trials (IPD + AD)": trials,
                "Participants (IPD)": str(int(rec["participants"])),
                "MD (95% CI)": format_ci(rec["estimate"], rec["ci_low"], rec["ci_high"]),
                "p": format_p(rec["p"]),
                "\u03c4\u00b2": format_number(rec["tau2"]),
            }
        )
    view = pd.DataFrame(rows)
    classes = tuple("" if bool(c) else "warning" for c in frame["converged"])
    return TableView(
        key="aggregate_sensitivity",
        title="Sensitivity analysis: IPD only vs IPD + aggregate data (overall effects)",
        frame=view,
        row_classes=classes,
        notes=(
            "Mean differences on the 0-100 scale, exercise minus comparison (negative "
            "favours exercise). Aggregate data (AD): [[aggregate_trials]] of the project "
            "file and the published effects of trials that did not provide IPD. Two-stage: "
            "per-trial ANCOVA, REML random-effects pooling with the AD estimates. One-stage: "
            "the linear mixed model of the plan with each AD trial as one observation of its "
            "published estimate (known variance), sharing the treatment effect and tau\u00b2 "
            "(Riley et al. 2008, Stat Med 27:1870). 95% Wald (z) CIs for both.",
        ),
    )


def aggregate_section(
    results: Any, figures: tuple[FigureView, ...], settings: Mapping[str, Any] | None = None
) -> Section | None:
    """The section, or None when the results hold no IPD + aggregate-data records."""
    frame = getattr(results, "aggregate", None)
    if frame is None or len(frame) == 0:
        return None
    items: list[TableView | FigureView | Text] = [
        Text(
            "Trials that did not provide IPD enter through their published treatment effect "
            "(Riley et al. 2008). The IPD-only rows repeat the IPD analysis with the same "
            "inference, so the two rows of each approach differ only by the aggregate data."
        ),
        _table(frame, settings),
    ]
    notes = {n for r in getattr(results, "aggregate_analyses", ()) for n in r.notes}
    items += [Text(f"Note: {note}.") for note in sorted(notes)]
    items += [f for f in figures if f.key.startswith(_KEY)]
    return Section("aggregate", "IPD and aggregate data", tuple(items))
