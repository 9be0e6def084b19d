"""Compose the report from its inputs: what goes where, in the paper's order.

:class:`ReportInputs` holds results only (DataFrames, the recorded plan, figures already
drawn); :func:`compose` turns them into a :class:`~ipdma.report._view.Document` and the
flat list of tables that are also written as CSV/XLSX.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeGuard

import pandas as pd

from ..analysis import AnalysisResults
from ._aggregate import aggregate_section
from ._appendix1 import appendix1_items
from ._appendix9 import important_table
from ._beyond import beyond_sections, credibility_section_items
from ._captions import comparison_phrase, primary_of, window_phrase, windows_note
from ._descriptive import table1_view, table2_view, table3_view
from ._diagnostics import diagnostics_items
from ._imputation import imputation_section
from ._interactions import Block, interaction_table
from ._labels import COMPARISON_LABELS, OUTCOME_LABELS, as_bool, variable_label
from ._methods import methods_paragraphs
from ._summary import summary_section
from ._tables import (
    frame_view,
    overall_table,
)
from ._view import Document, FigureView, Section, TableView, Text

__all__ = ["ReportInputs", "compose"]

_LESS = {"pain": "less pain", "function": "fewer functional limitations"}
_TABLE_NUMBER = {"pain": 4, "function": 5, "recovery": 6}
_APPENDIX_WINDOWS = {"pain": 3, "function": 4, "recovery": 5}
_APPENDIX_COMPARISONS = {"pain": 6, "function": 7, "recovery": 8}
_CHECK_TITLES = {
    "replication": "replication of the trials' published aggregates (discrepancies first)",
    "missingness": "% missing per trial and variable (harmonized variables)",
}
_FIGURE_NUMBER = {"pain": 3, "function": 4, "recovery": 5}


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report shows; every field is a result, never an estimator.

    ``plan`` and ``settings`` are the recorded analysis plan and harmonization settings as
    plain dicts; ``truth`` the simulator's implied truth (simulated projects only);
    ``labels`` maps modifier names to their table labels; ``checks`` maps a check's name ("replication", "missingness", ...) to its table, in display order.
    ``results`` are the analysis results loaded from the results store (the typed model
    records); ``overall``, ``interactions``, ``important`` and ``models`` are its tables.
    """

    title: str
    version: str
    plan: Mapping[str, Any] | None = None
    settings: Mapping[str, Any] | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    n_trials: int | None = None
    n_participants: int | None = None
    provenance: pd.DataFrame | None = None
    checks: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    table1: pd.DataFrame | None = None
    table2: pd.DataFrame | None = None
    table3: pd.DataFrame | None = None
    followup: pd.DataFrame | None = None
    overall: pd.DataFrame | None = None
    interactions: pd.DataFrame | None = None
    important: pd.DataFrame | None = None
    models: pd.DataFrame | None = None
    results: AnalysisResults | None = None
    figures: tuple[FigureView, ...] = ()
    notices: tuple[str, ...] = ()
    truth: Mapping[str, float] | None = None
    codebook: str = ""


def _has(frame: pd.DataFrame | None) -> TypeGuard[pd.DataFrame]:
    return frame is not None and not frame.empty


def _outcomes(inputs: ReportInputs) -> list[str]:
    present = set(inputs.interactions["outcome"]) if _has(inputs.interactions) else set()
    return [o for o in OUTCOME_LABELS if o in present]


def _interaction_tables(inputs: ReportInputs) -> tuple[list[TableView], list[TableView]]:
    primary: list[TableView] = []
    sensitivity: list[TableView] = []
    frame = inputs.interactions
    if not _has(frame):
        return primary, sensitivity
    common: dict[str, Any] = {
        "important": inputs.important,
        "models": inputs.models,
        "labels": inputs.labels,
        "modifiers": tuple((inputs.plan or {}).get("modifiers") or ()),
    }
    window, comparison = primary_of(inputs.plan)
    settings = inputs.settings
    windows = tuple((inputs.plan or {}).get("windows") or ("short", "moderate", "long"))
    comparisons = tuple((inputs.plan or {}).get("comparisons") or tuple(COMPARISON_LABELS))
    for outcome in _outcomes(inputs):
        scale = "OR" if outcome == "recovery" else "MD"
        direction = (
            "An interaction OR above 1 indicates a greater likelihood of recovery with exercise "
            "for the level (or per unit)."
            if scale == "OR"
            else f"A negative interaction MD indicates {_LESS[outcome]} (better) with exercise "
            "for the level (or per unit)."
        )
        adjusted = "adjusted for age and sex and their interactions with treatment"
        primary.append(
            interaction_table(
                frame,
                [
                    Block("Unadjusted", outcome, window, comparison, adjusted=False),
                    Block("Adjusted", outcome, window, comparison, adjusted=True),
                ],
                key=f"table{_TABLE_NUMBER[outcome]}",
                title=f"Table {_TABLE_NUMBER[outcome]}. Treatment-variable interactions "
                f"(unadjusted and adjusted) on {OUTCOME_LABELS[outcome].lower()}, "
                f"{window_phrase(window, settings)}, {comparison_phrase(comparison)}",
                scale=scale,
                notes=(
                    direction,
                    "Participant-level covariates are centred at their "
                    f"trial-specific means; the adjusted models are {adjusted}.",
                ),
                **common,
            )
        )
        others = [
            w
            for w in windows
            if w != window and _present(frame, outcome, window=w, comparison=comparison)
        ]
        if others:
            number = _APPENDIX_WINDOWS[outcome]
            sensitivity.append(
                interaction_table(
                    frame,
                    [
                        Block(f"{w.capitalize()} term (adjusted)", outcome, w, comparison)
                        for w in others
                    ],
                    key=f"appendix{number}",
                    title=f"Appendix {number}. {OUTCOME_LABELS[outcome]}: "
                    + " and ".join(window_phrase(w, settings) for w in others)
                    + f", {comparison_phrase(comparison)}, adjusted models",
                    scale=scale,
                    notes=(direction,),
                    **common,
                )
            )
        sets = [
            c
            for c in comparisons
            if c != comparison and _present(frame, outcome, window=window, comparison=c)
        ]
        if sets:
            number = _APPENDIX_COMPARISONS[outcome]
            sensitivity.append(
                interaction_table(
                    frame,
                    [
                        Block(f"vs {COMPARISON_LABELS.get(c, c)} (adjusted)", outcome, window, c)
                        for c in sets
                    ],
                    key=f"appendix{number}",
                    title=f"Appendix {number}. {OUTCOME_LABELS[outcome]}: by comparison group "
                    f"type, {window_phrase(window, settings)}, adjusted models",
                    scale=scale,
                    notes=(direction,),
                    **common,
                )
            )
    sensitivity.sort(key=lambda t: int(t.key.removeprefix("appendix")))
    return primary, sensitivity


def _present(frame: pd.DataFrame, outcome: str, *, window: str, comparison: str) -> bool:
    rows = frame.loc[
        (frame["outcome"] == outcome)
        & (frame["window"] == window)
        & (frame["comparison"] == comparison)
    ]
    return bool(len(rows)) and bool(rows["adjusted"].map(as_bool).any())


def _plain(plan: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(plan or {})


def _figure(inputs: ReportInputs, key: str) -> list[FigureView]:
    return [f for f in inputs.figures if f.key == key]


def _followup_view(followup: pd.DataFrame) -> TableView:
    frame = followup.drop(columns="trial").rename(
        columns={"label": "Trial", "short": "Short term", "moderate": "Moderate term",
                 "long": "Long term"}
    )  # fmt: skip
    return TableView(
        key="followup_weeks",
        title="Follow-up week used per trial and window",
        frame=frame.fillna(""),
        notes=(
            "Weeks after randomization of the visit used for each window: the one closest to "
            "3 (short), 6 (moderate) and 12 months (long) within the allowed distance (see "
            "Methods); 'pain / function' when the outcomes were measured at different "
            "visits; blank: no visit in the window.",
        ),
    )


def _counts(inputs: ReportInputs) -> str:
    return str((inputs.plan or {}).get("counts", "contributing"))


def _short_label(inputs: ReportInputs, name: str) -> str:
    """A variable's label without its unit ("Fear avoidance beliefs"), for column headers."""
    return (inputs.labels.get(name) or variable_label(name)).split(" (")[0]


def _notices(inputs: ReportInputs) -> tuple[str, ...]:
    notices = list(inputs.notices)
    if not _has(inputs.models):
        notices.append("No model results were found; run the analysis first.")
    return tuple(notices)


def _data_items(inputs: ReportInputs) -> list[TableView | Text]:
    items: list[TableView | Text] = []
    if _has(inputs.provenance):
        view = frame_view(
            inputs.provenance,
            key="provenance",
            title="Data provenance: every input file with its SHA-256 hash and size in bytes",
            section="data",
        )
        items.append(replace(view, collapsed=True))
    if inputs.codebook:
        items.append(Text("Data dictionary of every trial's raw file (variables, labels, "
                          "codes, missing values, ranges, frequencies):",
                          href=inputs.codebook))  # fmt: skip
    for name, frame in inputs.checks.items():
        title = _CHECK_TITLES.get(name, name)
        if name == "missingness":
            frame = frame.rename(
                columns=lambda c: "Trial" if c == "trial" else _short_label(inputs, str(c))
            )
        view = frame_view(
            frame,
            key=f"checks_{name}",
            title=f"Data checks: {title}",
            digits=1 if name == "missingness" else 2,
            section="data",
        )
        items.append(replace(view, collapsed=True))
    if not items:
        items.append(Text("No provenance or data-checking results were found.", "empty"))
    return items


def compose(inputs: ReportInputs) -> tuple[Document, list[TableView]]:
    """The document to render and every table to export, in reading order.

    Order: summary of findings, methods, trials and participants, overall effects,
    modifiers, sensitivity analyses, Appendix 9, appendices (provenance and checks
    collapsed, model diagnostics grouped by kind).
    """
    sections: list[Section] = [
        summary_section(
            inputs.overall,
            inputs.important,
            inputs.plan,
            n_trials=inputs.n_trials,
            n_participants=inputs.n_participants,
            truth=inputs.truth,
        )
    ]
    methods = [
        Text(p)
        for p in methods_paragraphs(
            inputs.plan,
            inputs.settings,
            version=inputs.version,
            n_trials=inputs.n_trials,
            n_participants=inputs.n_participants,
            labels=inputs.labels,
        )
    ]
    sections.append(Section("methods", "Methods", tuple(methods)))

    descriptive: list[TableView | FigureView | Text] = [*_figure(inputs, "figure1")]
    for frame, make_view in (
        (inputs.table1, functools.partial(table1_view, settings=inputs.settings)),
        (inputs.table2, table2_view),
        (inputs.table3, table3_view),
    ):
        if _has(frame):
            descriptive.append(make_view(frame))
    if _has(inputs.followup):
        descriptive.append(_followup_view(inputs.followup))
    descriptive += _figure(inputs, "figure2") + _figure(inputs, "appendix2")
    sections.append(Section("trials", "Trials and participants", tuple(descriptive)))

    if _has(inputs.overall):
        forest = [f for f in inputs.figures if f.key.startswith("forest_")]
        sections.append(
            Section(
                "overall",
                "Overall treatment effects",
                (
                    overall_table(
                        inputs.overall,
                        counts=_counts(inputs),
                        follow_up=windows_note(
                            tuple(dict.fromkeys(inputs.overall["window"])), inputs.settings
                        ),
                    ),
                    *forest,
                ),
            )
        )

    primary, sensitivity = _interaction_tables(inputs)
    modifier_items: list[TableView | FigureView | Text] = []
    for table in primary:
        modifier_items.append(table)
        outcome = {v: k for k, v in _TABLE_NUMBER.items()}[int(table.key.removeprefix("table"))]
        modifier_items += _figure(inputs, f"figure{_FIGURE_NUMBER[outcome]}")
    if modifier_items:
        sections.append(Section("modifiers", "Treatment-effect modifiers", tuple(modifier_items)))
    sections += beyond_sections(inputs.results, inputs.figures, inputs.labels)
    if sensitivity:
        sections.append(Section("sensitivity", "Sensitivity analyses", tuple(sensitivity)))
    aggregate = aggregate_section(inputs.results, inputs.figures, inputs.settings)
    if aggregate is not None:  # [analysis] aggregate = true (report/_aggregate.py)
        sections.append(aggregate)
    sections += imputation_section(inputs.results, inputs.plan, inputs.labels, inputs.settings)
    if inputs.important is not None:
        view = important_table(inputs.important, plan=_plain(inputs.plan), truth=inputs.truth)
        credibility = credibility_section_items(inputs.results, inputs.figures, inputs.labels)
        sections.append(
            Section("important", "Potentially important modifiers", (view, *credibility))
        )

    appendix: list[TableView | FigureView | Text] = []
    appendix += appendix1_items(inputs.models, inputs.plan)
    appendix += [Text("Model diagnostics, by kind (details on demand):")]
    appendix += diagnostics_items(inputs.models)
    appendix += _data_items(inputs)
    sections.append(Section("appendices", "Appendices", tuple(appendix)))

    tables = [i for section in sections for i in section.items if isinstance(i, TableView)]
    document = Document(
        title=inputs.title,
        subtitle="Individual participant data meta-analysis: findings, methods, data, overall "
        "effects and treatment-effect modifiers",
        summary=(),  # the summary of findings states the counts
        alerts=_notices(inputs),
        sections=tuple(sections),
        version=inputs.version,
    )
    return document, tables
