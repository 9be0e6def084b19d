"""Captions, titles and notes generated from the analysis plan and the harmonization settings.

Nothing here is written for one analysis: the follow-up window is named with its target
(from ``[settings.windows]``), the comparison set by its name, so a plan with
``primary_window = "moderate"`` gets "follow-up closest to 26 weeks (6 months)".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._labels import COMPARISON_LABELS

__all__ = ["comparison_phrase", "primary_of", "window_phrase", "windows_note"]

_WEEKS_PER_MONTH = 52 / 12


def _target(window: str, settings: Mapping[str, Any] | None) -> float | None:
    windows = (settings or {}).get("windows")
    if not isinstance(windows, Mapping):
        return None
    setting = windows.get(window)
    target = setting.get("target") if isinstance(setting, Mapping) else None
    return None if target is None else float(target)


def _weeks(target: float) -> str:
    """``"13 weeks, 3 months"`` (the months only when the target is a whole number of them)."""
    text = f"{target:g} weeks"
    months = target / _WEEKS_PER_MONTH
    if abs(months - round(months)) < 1e-9:
        text += f", {round(months):d} months"
    return text


def window_phrase(window: str, settings: Mapping[str, Any] | None) -> str:
    """``"short-term follow-up (closest to 13 weeks, 3 months)"``: a window and its target.

    Without a target in ``settings`` just ``"short-term follow-up"``.
    """
    target = _target(window, settings)
    if target is None:
        return f"{window}-term follow-up"
    return f"{window}-term follow-up (closest to {_weeks(target)})"


def windows_note(windows: tuple[str, ...], settings: Mapping[str, Any] | None) -> str:
    """``"Follow-up: the visit closest to 13 weeks, 3 months (short); 26 weeks, ..."``"""
    parts = []
    for window in windows:
        target = _target(window, settings)
        parts.append(f"{_weeks(target)} ({window})" if target is not None else window)
    return "Follow-up: the visit closest to " + "; ".join(parts) + "." if parts else ""


def comparison_phrase(comparison: str) -> str:
    """``"exercise vs any non-exercise comparison"``."""
    return f"exercise vs {COMPARISON_LABELS.get(comparison, comparison)}"


def primary_of(plan: Mapping[str, Any] | None) -> tuple[str, str]:
    """The plan's primary window and comparison set (the plan's defaults when absent)."""
    from ..analysis import AnalysisPlan

    default = AnalysisPlan()
    plan = plan or {}
    window = str(plan.get("primary_window") or default.primary_window)
    comparison = str(plan.get("primary_comparison") or default.primary_comparison)
    return window, comparison
