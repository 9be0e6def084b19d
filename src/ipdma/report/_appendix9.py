"""Appendix 9: the potentially important modifiers, and the importance rule in words.

Reads the ``important`` table of :func:`ipdma.analysis.run` (adjusted rows primary, the other
adjustment's estimate beside them; see :mod:`ipdma.analysis._importance`).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from ._labels import OUTCOME_LABELS, as_bool, variable_label
from ._tables import _SHORT_COMPARISON, _display, _sort, _text
from ._view import TableView, format_ci, format_number, format_p

__all__ = ["importance_rule_short", "importance_rule_text", "important_table"]


def importance_rule_text(plan: Any) -> str:
    """The importance rule of the plan in words, thresholds in points (and OR terms)."""
    rules = dict((plan or {}).get("importance") or {}) if isinstance(plan, dict) else {}
    rule = rules.get("rule", "results")
    alpha = format_number(rules.get("alpha", 0.05), 2)
    if rule == "methods":
        fraction = 100 * float(rules.get("swe_fraction", 0.2))
        size = (
            f"a difference in treatment effect of at least {fraction:g}% of the mean baseline "
            "value (in points on the 0-100 scale, shown per row) or an interaction odds ratio "
            f"of at least {format_number(rules.get('odds_ratio', 2.0), 1)} (or its inverse)"
        )
    else:
        size = (
            f"a difference in treatment effect of at least "
            f"{format_number(rules.get('md_points', 3.3), 1)} points on the 0-100 scale, or a "
            f"difference in odds ratio of at least "
            f"{format_number(rules.get('or_difference', 0.7), 1)}"
        )
    if rules.get("direction_change", True):
        size += ", or a change of direction across subgroups with one of important size"
    return (
        f"statistically significant (p < {alpha}; the FDR q beside it) and important in size: "
        f"{size}; rows from unstable fits (failed, not converged, separation, CI wider than "
        f"{format_number(rules.get('max_ci_width', 40.0), 0)} points or an OR CI whose upper "
        f"limit exceeds {format_number(rules.get('max_ci_ratio', 25.0), 0)} times its lower "
        "limit) are never listed"
    )


def importance_rule_short(plan: Any) -> str:
    """The importance rule in a few words, for the summary of findings."""
    rules = dict((plan or {}).get("importance") or {}) if isinstance(plan, dict) else {}
    alpha = format_number(rules.get("alpha", 0.05), 2)
    if rules.get("rule", "results") == "methods":
        fraction = 100 * float(rules.get("swe_fraction", 0.2))
        size = f"{fraction:g}% of baseline or OR {format_number(rules.get('odds_ratio', 2.0), 1)}"
    else:
        md = format_number(rules.get("md_points", 3.3), 1)
        size = f"{md} points or a difference in OR of {format_number(rules.get('or_difference', 0.7), 1)}"
    return f"p < {alpha} and a difference of at least {size}"


def important_table(
    important: pd.DataFrame, *, key: str = "appendix9", plan: Any = None, truth: Any = None
) -> TableView:
    """Appendix 9: the potentially important modifiers, primary adjustment first, the other
    adjustment beside, the rule each one met."""
    frame = _sort(important, ["outcome", "window", "comparison"])
    rows = []
    primary = "Adjusted"
    for rec in frame.to_dict("records"):
        scale = "OR" if rec.get("outcome") == "recovery" else "MD"
        primary = "Adjusted" if as_bool(rec.get("adjusted", True)) else "Unadjusted"
        other = "Unadjusted" if primary == "Adjusted" else "Adjusted"
        compatible = rec.get("ci_compatible")
        rows.append(
            {
                "Outcome": OUTCOME_LABELS.get(rec.get("outcome"), rec.get("outcome")),
                "Follow-up": _display(rec.get("window"), 0),
                "Comparison": _SHORT_COMPARISON.get(
                    rec.get("comparison"), rec.get("comparison", "")
                ),
                "Variable": rec.get("label")
                if _text(rec.get("label"))
                else variable_label(str(rec.get("modifier"))),
                "Level": _display(rec.get("level"), 2),
                "Studies / participants": f"{_display(rec.get('studies'), 0)} / "
                f"{_display(rec.get('participants'), 0)}",
                f"{primary} interaction (95% CI)": f"{scale} "
                + format_ci(
                    rec.get("estimate"),
                    rec.get("ci_low"),
                    rec.get("ci_high"),
                    digits=_digits(rec),
                ),
                "p": format_p(rec.get("p")),
                "q (FDR)": format_p(rec.get("p_fdr")),
                f"{other} (95% CI), p": _other(rec),
                "CI reaches an important size": ""
                if not _text(compatible)
                else ("yes" if as_bool(compatible) else "no"),
                "Why": _display(rec.get("importance"), 2),
            }
        )
        if truth:
            value = _planted(truth, rec)
            rows[-1]["Planted truth"] = format_number(value, 2) if value else ""
    columns = [
        "Outcome", "Follow-up", "Comparison", "Variable", "Level", "Studies / participants",
        f"{primary} interaction (95% CI)", "p", "q (FDR)",
        f"{'Unadjusted' if primary == 'Adjusted' else 'Adjusted'} (95% CI), p",
        "CI reaches an important size", "Why",
    ]  # fmt: skip
    table = pd.DataFrame(rows).fillna("") if rows else pd.DataFrame(columns=columns)
    return TableView(
        key=key,
        title="Appendix 9. Summary of statistically significant and clinically important "
        "potential effect modifiers",
        frame=table,
        notes=(
            "A modifier is listed when its interaction is " + importance_rule_text(plan) + ".",
            "One row per modifier level; exploratory: many interactions were tested, q (FDR) "
            "is the Benjamini-Hochberg adjusted p-value across the whole grid. CI reaches an "
            "important size: the confidence interval reaches the threshold (not defined per unit of "
            "a continuous modifier, which is judged on its subgroup effects, Figures 3-5).",
        ),
        repeat_first=False,
    )


def _planted(truth: Any, rec: dict[str, Any]) -> float | None:
    """The simulator's implied interaction (short term, any comparison) of this row."""
    if rec.get("window") != "short" or rec.get("comparison") != "any":
        return None
    outcome, modifier = rec.get("outcome"), rec.get("modifier")
    key = (
        f"or_interaction_{modifier}"
        if outcome == "recovery"
        else f"interaction_{outcome}_{modifier}"
    )
    value = truth.get(key)
    return None if value is None else float(value)


def _digits(rec: dict[str, Any]) -> int:
    """Per-unit odds ratios near 1 need three decimals ("1.004 (0.992, 1.016)")."""
    if rec.get("level") == "per unit" and rec.get("outcome") == "recovery":
        return 3
    return 2


def _other(rec: dict[str, Any]) -> str:
    text = format_ci(
        rec.get("other_estimate", math.nan), rec.get("other_ci_low", math.nan),
        rec.get("other_ci_high", math.nan), digits=_digits(rec),
    )  # fmt: skip
    p = format_p(rec.get("other_p"))
    return f"{text}; p {'' if p.startswith('<') else '= '}{p}" if text else ""
