"""The report's other tables: descriptive tables, overall effects, Appendix 9, warnings.

Every function takes tidy DataFrames (results, never estimators) and returns a
:class:`~ipdma.report._view.TableView` of display strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..analysis._results import NOT_ESTIMABLE
from ._labels import (
    COMPARISON_LABELS,
    OUTCOME_LABELS,
    WINDOW_LABELS,
    as_bool,
)
from ._separation import (
    LEFT_OUT_MARK,
    SEPARATION_MARK,
    left_out_note,
    left_out_text,
    separated_in,
    separation_legend,
)
from ._view import TableView, format_ci, format_number, format_p

__all__ = [
    "count_not_estimable",
    "dropped_summary",
    "frame_view",
    "model_problems",
    "not_estimable",
    "overall_table",
    "problems_summary",
    "warnings_table",
]

_SHORT_COMPARISON = {
    "any": "any",
    "usual": "no treatment / usual care",
    "conservative": "other conservative",
}

_ORDER = {
    "outcome": list(OUTCOME_LABELS),
    "window": list(WINDOW_LABELS),
    "comparison": list(COMPARISON_LABELS),
}


def _display(value: Any, digits: int) -> str:
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        if np.isnan(number):
            return ""
        if number.is_integer() and abs(number) < 1e15:
            return str(int(number))
        return format_number(number, digits)
    return str(value)


def frame_view(
    frame: pd.DataFrame,
    *,
    key: str,
    title: str,
    notes: Sequence[str] = (),
    digits: int = 1,
    section: str = "results",
    repeat_first: bool = True,
    sheet: str = "",
) -> TableView:
    """Any tidy frame as a table: numbers formatted with ``digits`` decimals, index dropped."""
    data = frame.reset_index(drop=True)
    shown = pd.DataFrame(
        {str(c): [_display(v, digits) for v in data[c]] for c in data.columns},
        columns=[str(c) for c in data.columns],
    )
    return TableView(
        key=key,
        title=title,
        frame=shown,
        notes=tuple(notes),
        section=section,
        repeat_first=repeat_first,
        sheet=sheet,
    )


def _sort(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    keys = [c for c in columns if c in frame.columns]
    if not keys:
        return frame
    rank = frame[keys].apply(
        lambda col: col.map(
            lambda v, c=col.name: _ORDER[c].index(v) if v in _ORDER.get(c, []) else 99
        )
    )
    order = np.lexsort([rank[c].to_numpy() for c in reversed(keys)])
    return frame.iloc[order]


COUNT_NOTES = {
    "contributing": "Studies and participants: those contributing to the treatment comparison "
    "(both arms, complete data). The paper counted every trial in the model instead; set "
    'analysis.counts = "model" for that convention (the model counts are also in '
    "tables/models.csv: ngroups, nobs).",
    "model": "Studies and participants: every trial and participant in the model (the paper's "
    'convention, analysis.counts = "model"); the prediction interval uses the trials '
    "contributing to the treatment comparison.",
}


def overall_table(
    overall: pd.DataFrame,
    *,
    key: str = "overall_effects",
    title: str = "",
    counts: str = "contributing",
    follow_up: str = "",
) -> TableView:
    """Overall treatment effects: MD (pain, function) or OR (recovery) with 95% CI per cell."""
    frame = _sort(overall, ["outcome", "window", "comparison"])
    rows = []
    for rec in frame.to_dict("records"):
        scale = "OR" if rec.get("outcome") == "recovery" else "MD"
        rows.append(
            {
                "Outcome": OUTCOME_LABELS.get(rec.get("outcome"), rec.get("outcome")),
                "Follow-up": _display(rec.get("window"), 0),
                "Comparison": _SHORT_COMPARISON.get(rec.get("comparison"), rec.get("comparison")),
                "Studies": _display(rec.get("studies"), 0),
                "Participants": _display(rec.get("participants"), 0),
                "Effect (95% CI)": f"{scale} "
                + format_ci(rec.get("estimate"), rec.get("ci_low"), rec.get("ci_high"))
                + (SEPARATION_MARK if separated_in(rec) else ""),
                "95% prediction interval": format_ci(
                    rec.get("estimate"), rec.get("pi_low"), rec.get("pi_high")
                ).partition(" ")[2]
                if _text(rec.get("pi_low"))
                else "",
                "p": format_p(rec.get("p")),
                "\u03c4 (points; log odds for OR)": (
                    format_number(rec.get("tau"), 2)
                    + ("\u00a7" if as_bool(rec.get("singular", False)) else "")
                )
                if "tau" in rec
                else "",
                "Two-stage (95% CI)": format_ci(
                    rec.get("two_stage_estimate"),
                    rec.get("two_stage_ci_low"),
                    rec.get("two_stage_ci_high"),
                )
                + (LEFT_OUT_MARK if left_out_text(rec) else ""),
            }
        )
    table = pd.DataFrame(rows)
    if not table.empty:
        table = table.loc[:, [c for c in table.columns if table[c].astype(bool).any()]]
    return TableView(
        key=key,
        title=title
        or "Overall treatment effects of exercise therapy (one-stage IPD meta-analysis)",
        frame=table,
        notes=(
            (follow_up + " " if follow_up else "")
            + "MD: mean difference on the 0-100 scale (exercise minus comparison; negative favours "
            "exercise). OR: odds ratio of global recovery (above 1 favours exercise). Adjusted "
            "for the baseline value of the outcome (function for global recovery). \u03c4: "
            "between-trial standard deviation of the treatment effect, in points (MD) or log "
            "odds (OR). Prediction interval: the effect expected in a new trial (t with K-2 "
            "df; K >= 3). \u00a7 singular fit (\u03c4 estimated at 0; see Appendices).",
            COUNT_NOTES[counts],
            *separation_legend(frame.to_dict("records")),
            *left_out_note(frame.to_dict("records")),
        ),
        repeat_first=False,
    )


def warnings_table(models: pd.DataFrame) -> TableView:
    """Every model that failed or did not converge, with the reason (singular fits are
    counted in :func:`problems_summary` and marked in the tables)."""
    columns = ["Model", "Problem", "Rows dropped"]
    rows = []
    for rec in models.to_dict("records"):
        error = rec.get("error")
        if _text(error) and not_estimable(rec):
            problem = f"not estimable: {error}"
        elif _text(error):
            problem = f"failed: {error}"
        elif not as_bool(rec.get("converged", True)):
            problem = "did not converge"
            if _text(rec.get("message")):  # plain language, from the convergence record
                problem += f": {rec['message']}"
            elif _text(rec.get("convergence")):
                problem += f" ({rec['convergence']})"
        else:
            continue
        rows.append([_display(rec.get("id"), 0), problem, _display(rec.get("dropped"), 0)])
    return TableView(
        key="model_warnings",
        title="Models that failed, were not estimable or did not converge",
        frame=pd.DataFrame(rows, columns=columns),
        section="warnings",
    )


def problems_summary(models: pd.DataFrame) -> TableView:
    """Per kind of model, outcome and window: models, failed, not converged, singular fits,
    and the median number of rows dropped for missing values."""
    frame = models.copy()
    has_error = frame.get("error", pd.Series(index=frame.index, dtype=object)).map(_text)
    status = frame.get("status", pd.Series(index=frame.index, dtype=object))
    cannot = status == NOT_ESTIMABLE
    failed = has_error & ~cannot
    converged = frame.get("converged", pd.Series(True, index=frame.index)).map(as_bool)
    singular = frame.get("singular", pd.Series(False, index=frame.index)).map(as_bool)
    frame = frame.assign(
        _failed=failed,
        _cannot=cannot,
        _not_converged=~has_error & ~converged,
        _singular=~has_error & singular,
        _dropped=pd.to_numeric(frame.get("dropped"), errors="coerce"),
    )
    keys = [c for c in ("kind", "outcome", "window") if c in frame.columns]
    rows = []
    for key, group in _sort(frame, keys[1:]).groupby(keys, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        dropped = group["_dropped"].median()
        rows.append(
            [
                *[str(k) for k in key],
                str(len(group)),
                str(int(group["_failed"].sum())),
                str(int(group["_cannot"].sum())),
                str(int(group["_not_converged"].sum())),
                str(int(group["_singular"].sum())),
                "" if pd.isna(dropped) else str(int(dropped)),
            ]
        )
    columns = [k.capitalize() for k in keys]
    columns += ["Models", "Failed", "Not estimable", "Not converged", "Singular fit"]
    columns += ["Rows dropped (median)"]
    return TableView(
        key="model_problems",
        title="Model problems by kind of model, outcome and follow-up window",
        frame=pd.DataFrame(rows, columns=columns),
        notes=(
            "Not estimable: fewer than two trials have both arms and complete data for the "
            "model (a random-effects meta-analysis needs at least two); no model is fitted. "
            "Singular fit: a variance component (usually a random slope) is estimated at 0; the "
            "fixed effects remain valid. Every model, with its formula, method and convergence "
            "check, is listed in tables/models.csv.",
        ),
        section="warnings",
    )


def not_estimable(rec: dict[str, Any]) -> bool:
    """A grid cell with fewer than two trials (status ``not estimable``): no model was fitted."""
    return rec.get("status") == NOT_ESTIMABLE


def count_not_estimable(models: pd.DataFrame) -> int:
    """How many grid cells were not estimable (fewer than two trials)."""
    if "status" not in models.columns:
        return 0
    return int((models["status"] == NOT_ESTIMABLE).sum())


def model_problems(models: pd.DataFrame) -> tuple[int, int, int]:
    """Counts of models that failed (no estimate; not-estimable cells excluded), did not
    converge, and had a singular fit."""
    failed = not_converged = singular = 0
    for rec in models.to_dict("records"):
        if _text(rec.get("error")):
            failed += not not_estimable(rec)
            continue
        not_converged += not as_bool(rec.get("converged", True))
        singular += as_bool(rec.get("singular", False))
    return failed, not_converged, singular


def dropped_summary(models: pd.DataFrame) -> str:
    """One sentence on rows dropped for missing values across the grid."""
    if "dropped" not in models.columns or models.empty:
        return ""
    dropped = pd.to_numeric(models["dropped"], errors="coerce").fillna(0)
    with_drops = int((dropped > 0).sum())
    if not with_drops:
        return "No model dropped rows for missing values."
    return (
        f"{with_drops} of {len(models)} models dropped participants with missing values of a "
        f"model variable (median {int(dropped[dropped > 0].median())}, "
        f"maximum {int(dropped.max())} rows); the Studies and Participants columns count "
        "what each model used."
    )


def _text(value: Any) -> bool:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return False
    return str(value).strip() not in {"", "nan", "None", "<NA>"}


def _positive(value: Any) -> bool:
    try:
        return float(value) > 0
    except (TypeError, ValueError):
        return False
