"""The report's sensitivity section on multiple imputation (``[analysis.imputation]``).

Read from the results only (:class:`ipdma.analysis.AnalysisResults`: its ``imputation``
table, complete-case and pooled estimates side by side, and ``imputation_diagnostics``, the
availability of each covariate and the chain means kept in the results store); nothing is
refitted. Shown when the plan imputed (``m >= 2``):

* what was done and the rule for imputing (``min_trials``), and a warning for each modifier
  measured in too few trials to be imputed;
* per covariate: the trials that measured it, the trials where it was imputed (never
  measured), the participants missing and the convergence statistic (R-hat);
* the overall effects and Tables 4-6 (within-trial interactions at the primary window and
  comparison), complete cases beside multiple imputation, with the fraction of missing
  information (FMI) of each pooled estimate;
* the convergence figure: each imputed variable's chain means across iterations.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..analysis import AnalysisResults
from ._captions import comparison_phrase, primary_of, window_phrase
from ._labels import COMPARISON_LABELS, OUTCOME_LABELS, as_bool, variable_label
from ._view import FigureView, Section, TableView, Text, format_ci, format_number, format_p

__all__ = ["imputation_section"]

_TABLE_NUMBER = {"pain": 4, "function": 5, "recovery": 6}
_NOT_IMPUTED = "not imputed"


def imputation_section(
    results: AnalysisResults | None,
    plan: Mapping[str, Any] | None,
    labels: Mapping[str, str] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> list[Section]:
    """The "Multiple imputation" section, or nothing when the plan did not impute
    (``settings``: the harmonization settings, for the follow-up windows' targets)."""
    settings = dict((plan or {}).get("imputation") or {})
    if results is None or int(settings.get("m", 0) or 0) < 2 or results.imputation.empty:
        return []
    labels = dict(labels or {})
    window, comparison = primary_of(plan)
    diagnostics = {d.window: d for d in results.imputation_diagnostics}
    primary = diagnostics.get(window) or next(iter(diagnostics.values()), None)
    table = results.imputation
    items: list[TableView | FigureView | Text] = [Text(_method_text(settings))]
    items += [Text(text, "alert") for text in _warnings(table, settings, labels)]
    if primary is not None:
        items.append(_availability_view(primary.availability, primary.rhat, labels,
                                        window_phrase(primary.window, settings)))  # fmt: skip
    overall = table.loc[table["kind"] == "overall"]
    if not overall.empty:
        items.append(_overall_view(overall))
    for outcome, number in _TABLE_NUMBER.items():
        rows = table.loc[
            (table["kind"] == "interaction")
            & (table["outcome"] == outcome)
            & (table["window"] == window)
            & (table["comparison"] == comparison)
        ]
        if not rows.empty:
            items.append(_interaction_view(rows, outcome, number, labels, settings))
    if primary is not None and not primary.chains.empty:
        items.append(_chains_figure(primary, labels, window_phrase(primary.window, settings)))
    return [Section("imputation", "Sensitivity analysis: multiple imputation", tuple(items))]


def _label(name: str, labels: Mapping[str, str]) -> str:
    return labels.get(name) or variable_label(name)


def _method_text(settings: Mapping[str, Any]) -> str:
    m, iterations = settings.get("m"), settings.get("iterations")
    return (
        f"Missing covariates were multiply imputed (m = {m} completed datasets, "
        f"{iterations} iterations of each chain, seed {settings.get('seed')}) by chained "
        "equations with trial-specific parameters (two-stage method): each covariate's model "
        "holds the outcomes, the other covariates and their products with the treatment, "
        "with a residual variance per trial and arm, so that covariate distributions differ "
        "between trials and treatment-covariate interactions are kept. Every model below was "
        "fitted on each completed dataset and pooled by Rubin's rules with Barnard-Rubin "
        "degrees of freedom. The complete-case results of the other sections remain the "
        "primary analysis. Rule: a covariate measured in fewer than "
        f"{settings.get('min_trials')} trials (analysis.imputation.min_trials) is not "
        "imputed; its rows repeat the complete-case analysis."
    )


def _warnings(
    table: pd.DataFrame, settings: Mapping[str, Any], labels: Mapping[str, str]
) -> list[str]:
    rows = table.loc[(table["kind"] == "interaction") & ~table["imputed"].map(as_bool)]
    rows = rows.loc[rows["reason"].fillna("").astype(str) != ""]
    out = []
    for name, part in rows.groupby("modifier", sort=False):
        first = part.iloc[0]
        out.append(
            f"{_label(str(name), labels)} was not imputed: {first['reason']} "
            f"(analysis.imputation.min_trials = {settings.get('min_trials')}); its results in "
            "this section are complete-case only."
        )
    return out


def _count(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(int(value))


def _availability_view(
    availability: pd.DataFrame, rhat: pd.Series, labels: Mapping[str, str], when: str
) -> TableView:
    rows = []
    for rec in availability.to_dict("records"):
        name = str(rec["variable"])
        imputed = as_bool(rec["imputed"])
        value = float(rhat.get(name, math.nan)) if imputed else math.nan
        rows.append(
            {
                "Variable": _label(name, labels),
                "Trials": _count(rec["trials"]),
                "Trials that measured it": _count(rec["trials_measured"]),
                "Trials imputed (never measured)": _count(rec["trials_systematic"])
                if imputed
                else "0",
                "Participants missing (%)": format_number(100 * rec["fraction_missing"], 1),
                "Imputed": "yes" if imputed else (str(rec["reason"]) or "no (complete)"),
                "R-hat": format_number(value, 2),
            }
        )
    return TableView(
        key="imputation_availability",
        title=f"Availability of each covariate and imputation, {when}",
        frame=pd.DataFrame(rows),
        notes=(
            "Trials imputed: trials that never measured the covariate (systematically missing) "
            "and received imputed values for all their participants; sporadically missing "
            "values in the other trials are imputed too. R-hat: potential scale reduction of "
            "the chain means over the second half of the iterations (values near 1: the "
            "chains mixed; above 1.2, run more iterations).",
        ),
    )


def _effect(rec: Mapping[str, Any], prefix: str) -> str:
    text = format_ci(rec[f"{prefix}_estimate"], rec[f"{prefix}_ci_low"], rec[f"{prefix}_ci_high"])
    return f"{rec['scale']} {text}" if text else ""


def _overall_view(rows: pd.DataFrame) -> TableView:
    out = []
    for rec in rows.to_dict("records"):
        out.append(
            {
                "Outcome": OUTCOME_LABELS.get(rec["outcome"], rec["outcome"]),
                "Follow-up": rec["window"],
                "Comparison": COMPARISON_LABELS.get(rec["comparison"], rec["comparison"]),
                "Adjusted": "yes" if as_bool(rec["adjusted"]) else "no",
                "Complete cases: Studies": _count(rec["cc_studies"]),
                "Complete cases: Participants": _count(rec["cc_participants"]),
                "Complete cases: Effect (95% CI)": _effect(rec, "cc"),
                "Multiple imputation: Studies": _count(rec["mi_studies"]),
                "Multiple imputation: Participants": _count(rec["mi_participants"]),
                "Multiple imputation: Effect (95% CI)": _effect(rec, "mi"),
                "Multiple imputation: FMI": format_number(rec["fmi"], 2),
            }
        )
    return TableView(
        key="imputation_overall",
        title="Overall treatment effects: complete cases and multiple imputation",
        frame=pd.DataFrame(out),
        groups=(("", 4), ("Complete cases", 3), ("Multiple imputation", 4)),
        notes=(
            "MD: mean difference (0-100; negative favours exercise); OR: odds ratio of global "
            "recovery (above 1 favours exercise). FMI: fraction of missing information of the "
            "pooled estimate (0 when no variable of the model was imputed: the two columns "
            "then agree).",
        ),
        repeat_first=False,
    )


def _interaction_view(
    rows: pd.DataFrame,
    outcome: str,
    number: int,
    labels: Mapping[str, str],
    settings: Mapping[str, Any] | None,
) -> TableView:
    window, comparison = str(rows["window"].iloc[0]), str(rows["comparison"].iloc[0])
    out, classes = [], []
    for rec in rows.to_dict("records"):
        imputed = as_bool(rec["imputed"])
        measured = _count(rec["trials_measured"])
        out.append(
            {
                "Variable": _label(str(rec["modifier"]), labels),
                "Level": "" if pd.isna(rec["level"]) else str(rec["level"]),
                "Adjusted": "yes" if as_bool(rec["adjusted"]) else "no",
                "Trials measured": measured,
                "Trials imputed": _count(rec["trials_systematic"]) if imputed else "0",
                "Complete cases: Studies": _count(rec["cc_studies"]),
                "Complete cases: Participants": _count(rec["cc_participants"]),
                "Complete cases: Interaction (95% CI)": _effect(rec, "cc"),
                "Complete cases: p": format_p(rec["cc_p"]),
                "Multiple imputation: Studies": _count(rec["mi_studies"]),
                "Multiple imputation: Participants": _count(rec["mi_participants"]),
                "Multiple imputation: Interaction (95% CI)": _effect(rec, "mi")
                if imputed or not rec["reason"]
                else _NOT_IMPUTED,
                "Multiple imputation: p": format_p(rec["mi_p"]),
                "Multiple imputation: FMI": format_number(rec["fmi"], 2),
            }
        )
        classes.append("" if imputed or not rec["reason"] else "warning")
    word = OUTCOME_LABELS[outcome].lower()
    return TableView(
        key=f"imputation_table{number}",
        title=f"Table {number} with multiple imputation: treatment-variable interactions on "
        f"{word}, {window_phrase(window, settings)}, {comparison_phrase(comparison)}",
        frame=pd.DataFrame(out),
        groups=(("", 5), ("Complete cases", 4), ("Multiple imputation", 5)),
        row_classes=tuple(classes),
        notes=(
            "Within-trial interactions (modifier centred at its trial-specific mean), as in "
            f"Table {number}; complete cases beside the pooled imputed analysis. Trials "
            "measured / imputed: trials that measured the modifier and trials that never did "
            "and were imputed. Highlighted rows: the modifier was not imputed (see the rule "
            "above).",
        ),
        repeat_first=False,
    )


def _chains_figure(diagnostics: Any, labels: Mapping[str, str], when: str) -> FigureView:
    from ..plots import chain_means
    from ._figures import figure_view

    names = {str(v): _label(str(v), labels).split(" (")[0] for v in diagnostics.chains["variable"]}
    fig = chain_means(diagnostics.chains, labels=names, rhat=dict(diagnostics.rhat.items()))
    return figure_view(
        fig,
        key="imputation_chains",
        title="Convergence of the imputation: mean of each imputed variable across iterations, "
        f"one line per chain ({diagnostics.m} chains), {when}",
        notes=(
            "Each line is one imputation chain; converged chains overlap without trend. "
            "R-hat near 1: the chains mixed.",
        ),
    )
