"""Hooks of the analyses beyond the paper into the report: their figures (drawn when the
report's inputs are collected) and their sections (non-linear interactions, individual
prediction; the credibility assessment joins Appendix 9). All from the stored
``AnalysisResults.beyond`` frames."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..analysis import AnalysisResults
from ._credibility import credibility_figures, credibility_items
from ._nonlinear import nonlinear_figures, nonlinear_items, prediction_figures, prediction_items
from ._view import FigureView, Section, TableView, Text

__all__ = ["beyond_figures", "beyond_sections", "credibility_section_items"]


def beyond_figures(
    results: AnalysisResults,
    plan: Mapping[str, Any],
    trial_labels: Mapping[str, str],
    labels: Mapping[str, str],
    settings: Mapping[str, Any] | None = None,
) -> list[FigureView]:
    """Effect-curve panels, the calibration plot and the per-trial interaction forests."""
    beyond = results.beyond
    return [
        *nonlinear_figures(beyond, settings),
        *prediction_figures(beyond),
        *credibility_figures(beyond, plan, labels, trial_labels, settings),
    ]


def _figures(figures: tuple[FigureView, ...], prefix: str) -> list[FigureView]:
    return [f for f in figures if f.key.startswith(prefix)]


def beyond_sections(
    results: AnalysisResults | None, figures: tuple[FigureView, ...], labels: Mapping[str, str]
) -> list[Section]:
    """The non-linear interactions and individual prediction sections (empty if not run)."""
    if results is None:
        return []
    sections = []
    nonlinear = nonlinear_items(results.beyond, _figures(figures, "nonlinear_"), labels)
    if nonlinear:
        sections.append(
            Section("nonlinear-interactions", "Non-linear interactions", tuple(nonlinear))
        )
    prediction = prediction_items(
        results.beyond, _figures(figures, "prediction_calibration"), labels
    )
    if prediction:
        sections.append(
            Section(
                "effect-prediction", "Individual treatment-effect prediction", tuple(prediction)
            )
        )
    return sections


def credibility_section_items(
    results: AnalysisResults | None, figures: tuple[FigureView, ...], labels: Mapping[str, str]
) -> list[TableView | FigureView | Text]:
    """The credibility table, forests and criteria, placed after the Appendix 9 table."""
    if results is None:
        return []
    return credibility_items(results.beyond, _figures(figures, "appendix9_trials"), labels)
