"""Summary of findings: a generated plain-language abstract and the key-results table.

Reads the tidy ``overall`` table (estimate, CI, prediction interval, tau, trials and
participants per outcome and comparison set) and Appendix 9 (``important``); states them
at the primary follow-up window. For simulated projects the planted truth
(``truth.json``: what the analyses should estimate) is shown beside each estimate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ._appendix9 import importance_rule_short
from ._labels import OUTCOME_LABELS
from ._separation import SEPARATION_MARK, separated_in, separation_legend
from ._view import Section, TableView, Text, format_ci, format_number, format_p

__all__ = ["summary_section", "truth_value"]

_VERSUS = {
    "any": "any non-exercise comparison",
    "usual": "no treatment or usual care",
    "conservative": "other conservative treatment",
}
_WINDOW = {"short": "closest to 3 months", "moderate": "closest to 6 months",
           "long": "closest to 12 months"}  # fmt: skip
_WORD = {"pain": "pain", "function": "functional limitations", "recovery": "global recovery"}
_SHORT = {"pain": "pain", "function": "function", "recovery": "recovery"}
_OUTCOME_SHORT = {"pain": "Pain (0-100)", "function": "Function (0-100)",
                  "recovery": "Global recovery"}  # fmt: skip
_VERSUS_SHORT = {"any": "any comparison", "usual": "no treatment / usual care",
                 "conservative": "other conservative"}  # fmt: skip


def truth_value(truth: Mapping[str, float] | None, outcome: str, what: str) -> float:
    """The planted (implied) value of an overall effect (``what`` = comparison) or an
    interaction (``what`` = ``"x:<modifier>"``) at the short-term window; NaN if unknown."""
    if not truth:
        return math.nan
    if what.startswith("x:"):
        modifier = what[2:]
        key = (
            f"or_interaction_{modifier}"
            if outcome == "recovery"
            else f"interaction_{outcome}_{modifier}"
        )
    else:
        key = f"or_{what}" if outcome == "recovery" else f"md_{outcome}_{what}"
    value = truth.get(key)
    return float(value) if value is not None else math.nan


def _span(low: Any, high: Any, digits: int = 1) -> str:
    if pd.isna(low) or pd.isna(high):
        return ""
    return f"{format_number(low, digits)} to {format_number(high, digits)}"


def _effect_sentence(row: Mapping[str, Any], detail: bool) -> str:
    """``pain MD -4.1 (-9.1 to 0.8)``; with ``detail`` the prediction interval and tau."""
    odds = row["outcome"] == "recovery"
    digits = 2 if odds else 1
    what = _WORD[row["outcome"]]
    estimate = format_number(row["estimate"], digits)
    ci = _span(row["ci_low"], row["ci_high"], digits)
    head = f"{what} OR {estimate}" if odds else f"{what} MD {estimate}"
    parts = [ci]
    pi = _span(row.get("pi_low"), row.get("pi_high"), digits)
    if detail and pi:
        parts.append(f"PI {pi}")
    tau = row.get("tau")
    if detail and tau is not None and not pd.isna(tau):
        parts.append(f"\u03c4 {format_number(tau, 2)} {'log odds' if odds else 'points'}")
    return f"{head} ({'; '.join(parts)})"


def _abstract(
    overall: pd.DataFrame, window: str, comparisons: list[str], primary: str
) -> list[str]:
    lines = []
    order = {o: i for i, o in enumerate(OUTCOME_LABELS)}
    for comparison in sorted(comparisons, key=lambda c: c != primary):
        rows = overall.loc[(overall["window"] == window) & (overall["comparison"] == comparison)]
        rows = rows.loc[rows["estimate"].notna()]
        if rows.empty:
            continue
        rows = rows.sort_values("outcome", key=lambda s: s.map(order))
        detail = comparison == primary
        sentences = [_effect_sentence(r, detail) for r in rows.to_dict("records")]
        joined = sentences[0] if len(sentences) == 1 else (
            ", ".join(sentences[:-1]) + " and " + sentences[-1]
        )  # fmt: skip
        lines.append(f"Exercise vs {_VERSUS.get(comparison, comparison)}: {joined}.")
    return lines


#: modifiers named in the summary (the smallest p first); the rest are in Appendix 9
_MAX_LISTED = 4


def _modifier_text(important: pd.DataFrame | None, window: str, comparison: str, plan: Any) -> str:
    rule = importance_rule_short(dict(plan or {}))
    if important is None or important.empty:
        return f"No modifier met the importance rule ({rule})."
    rows = important.loc[(important["window"] == window) & (important["comparison"] == comparison)]
    if rows.empty:
        return (
            f"No modifier met the importance rule in the primary analysis ({rule}); "
            f"{len(important)} rows of the sensitivity analyses did (Appendix 9)."
        )
    by_modifier: dict[str, list[str]] = {}
    for rec in rows.sort_values("p", kind="stable").to_dict("records"):
        label = str(rec.get("label") or rec["modifier"]).split(" (")[0]
        if rec.get("level") not in (None, "per unit") and not pd.isna(rec.get("level")):
            label += f" ({rec['level']})"
        odds = rec["outcome"] == "recovery"
        estimate = format_number(rec["estimate"], 2 if odds else 1)
        text = (
            f"{_SHORT[rec['outcome']]} {'OR' if odds else 'MD'} {estimate} "
            f"(p {_p(rec['p'])}, q {_p(rec['p_fdr'])})"
        )
        by_modifier.setdefault(label, []).append(text)
    shown = list(by_modifier.items())[:_MAX_LISTED]
    listed = "; ".join(f"{k}: {', '.join(v)}" for k, v in shown)
    if len(by_modifier) > _MAX_LISTED:
        listed += f"; and {len(by_modifier) - _MAX_LISTED} more"
    return (
        f"Potential modifiers ({rule}; adjusted interactions; CIs in Appendix 9): "
        f"{listed}. Exploratory: many interactions were tested (q: false discovery rate) and "
        "each modifier was measured in only some trials."
    )


def _p(p: Any) -> str:
    text = format_p(p)
    return text if text.startswith("<") else f"= {text}"


def _key_table(
    overall: pd.DataFrame, window: str, truth: Mapping[str, float] | None, counts: str
) -> TableView:
    rows = []
    order = {o: i for i, o in enumerate(OUTCOME_LABELS)}
    frame = overall.loc[overall["window"] == window]
    frame = frame.sort_values(
        ["outcome", "comparison"],
        key=lambda s: (
            s.map(order)
            if s.name == "outcome"
            else s.map({"any": 0, "usual": 1, "conservative": 2})
        ),
    )
    for rec in frame.to_dict("records"):
        odds = rec["outcome"] == "recovery"
        row = {
            "Outcome": _OUTCOME_SHORT.get(rec["outcome"], rec["outcome"]),
            "Exercise vs": _VERSUS_SHORT.get(rec["comparison"], rec["comparison"]),
            "Trials / participants": f"{int(rec['studies'])} / {int(rec['participants'])}",
            "Effect (95% CI)": f"{'OR' if odds else 'MD'} "
            + format_ci(rec["estimate"], rec["ci_low"], rec["ci_high"])
            + (SEPARATION_MARK if separated_in(rec) else ""),
            "95% prediction interval": _span(rec.get("pi_low"), rec.get("pi_high"), 2),
            "\u03c4 (scale)": ""
            if pd.isna(rec.get("tau"))
            else f"{format_number(rec['tau'], 2)} ({'log odds' if odds else 'points'})"
            + ("\u00a7" if str(rec.get("singular")) in ("True", "true", "1") else ""),
            "p": format_p(rec["p"]),
        }
        if truth:
            value = truth_value(truth, rec["outcome"], rec["comparison"])
            row["Planted truth"] = format_number(value, 2) if math.isfinite(value) else ""
        rows.append(row)
    count_note = {
        "contributing": "Trials / participants: those contributing to the comparison (the "
        'paper counted every trial in the model: analysis.counts = "model").',
        "model": "Trials / participants: every trial and participant in the model (the "
        'paper\'s convention, analysis.counts = "model").',
    }[counts]
    note = (
        "One-stage random-effects model adjusted for the outcome's baseline (baseline "
        "function for recovery). PI: the effect expected in a new trial (t, K-2 df). "
        "\u00a7 singular fit: \u03c4 estimated at 0. " + count_note
    )
    if truth:
        note += (
            " Planted truth: what the analysis should estimate (simulated data, truth.json; "
            "blank where the simulator does not state it)."
        )
    notes = [note, *separation_legend(frame.to_dict("records"))]
    return TableView(
        key="key_results",
        title=f"Key results: overall effects of exercise, follow-up {_WINDOW.get(window, window)}",
        frame=pd.DataFrame(rows),
        notes=tuple(notes),
        repeat_first=False,
    )


def summary_section(
    overall: pd.DataFrame | None,
    important: pd.DataFrame | None,
    plan: Mapping[str, Any] | None,
    *,
    n_trials: int | None = None,
    n_participants: int | None = None,
    truth: Mapping[str, float] | None = None,
) -> Section:
    """The report's first section: abstract paragraphs and the key-results table."""
    plan = dict(plan or {})
    window = str(plan.get("primary_window", "short"))
    comparisons = list(plan.get("comparisons") or ("any", "usual", "conservative"))
    primary = str(plan.get("primary_comparison", "any"))
    items: list[Text | TableView] = []
    head = "Individual participant data"
    if n_trials is not None and n_participants is not None:
        head += f" from {n_trials} trials ({n_participants} participants)"
    head += (
        f", follow-up {_WINDOW.get(window, window)} (95% CIs; PI: 95% prediction interval; MD "
        "on 0-100, negative favours exercise; OR above 1 favours exercise)."
    )
    if overall is None or overall.empty:
        items.append(Text(head + " No analysis results were found: run the analysis first."))
        return Section("summary", "Summary of findings", tuple(items))
    lines = [head, *_abstract(overall, window, comparisons, primary)]
    items.append(Text(" ".join(lines)))
    items.append(Text(_modifier_text(important, window, primary, plan)))
    counts = str(plan.get("counts", "contributing"))
    items.append(_key_table(overall, window, truth, counts))
    return Section("summary", "Summary of findings", tuple(items))
