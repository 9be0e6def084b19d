"""Figure 1's numbers: the flow of trials and participants (PRISMA-IPD style).

Trials: eligible (the project's trials with IPD plus its ``[[not_included]]`` trials, or
``[flow].eligible``), IPD requested (``[flow].requested``, default all eligible), IPD
provided (the project's trials), included in the analysis (trials with an outcome and its
baseline value in at least one window). Participants: received (rows of
the included trials' IPD), and per follow-up window and outcome those analysed (the
participants of the overall model, exercise vs any comparison) and those not, with the
reason: no measurement in the window, no baseline value, or in a trial (or arm) without a
non-exercise comparison at that window, so not in the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..errors import SpecError

__all__ = ["FlowCounts", "WindowFlow", "flow_counts"]

_BASELINE = {"pain": "pain0", "function": "function0", "recovery": "function0"}


@dataclass(frozen=True)
class WindowFlow:
    """Participants of one follow-up window and outcome: analysed and not (with reasons)."""

    window: str
    outcome: str
    analysed: int
    no_outcome: int
    no_baseline: int
    not_contributing: int


@dataclass(frozen=True)
class FlowCounts:
    """The numbers of Figure 1 (see the module docstring)."""

    eligible: int
    requested: int
    provided: int
    included: int
    not_provided: tuple[tuple[str, int], ...]
    received: int
    windows: tuple[WindowFlow, ...]


def flow_counts(master: Any, overall: pd.DataFrame | None, flow: Any = None) -> FlowCounts:
    """Count the flow of trials and participants.

    Parameters
    ----------
    master
        The master dataset (``trials``, ``participants``, ``followup``).
    overall
        The overall-effects table (participants analysed per outcome and window); without
        it the analysed counts are those with outcome and baseline values.
    flow
        The project's ``[flow]`` settings (``ipdma.spec.FlowSpec``) or None.

    Raises
    ------
    SpecError
        When ``[flow]`` contradicts the data (fewer requested than provided, ...).
    """
    trials = master.trials
    provided = len(trials.loc[trials["included"].astype(bool)])
    not_included = len(trials) - provided
    eligible = getattr(flow, "eligible", None) or provided + not_included
    requested = getattr(flow, "requested", None) or eligible
    reasons = dict(getattr(flow, "not_provided", {}) or {})
    if not provided <= requested <= eligible:
        raise SpecError(
            "[flow] is inconsistent with the data: need provided <= requested <= eligible",
            value=f"eligible {eligible}, requested {requested}, provided {provided}",
            hint="fix [flow].eligible / [flow].requested in project.toml",
        )
    if sum(reasons.values()) > requested - provided:
        raise SpecError(
            "[flow].not_provided counts more trials than were requested and not provided",
            value=sum(reasons.values()),
            hint=f"at most {requested - provided} trials (requested minus provided)",
        )
    participants = master.participants
    received = len(participants)
    base = participants.set_index(["trial", "pid"])
    windows = []
    analysable: set[str] = set()
    for window, rows in master.followup.groupby("window", sort=False):
        joined = rows.join(base, on=["trial", "pid"])
        for outcome in ("pain", "function", "recovery"):
            if outcome not in joined.columns:
                continue
            measured = joined[outcome].notna()
            with_baseline = measured & joined[_BASELINE[outcome]].notna()
            available = int(with_baseline.sum())
            analysable.update(joined.loc[with_baseline, "trial"].astype(str))
            analysed = _analysed(overall, outcome, str(window), available)
            no_outcome = received - int(measured.sum())
            windows.append(
                WindowFlow(
                    window=str(window),
                    outcome=outcome,
                    analysed=analysed,
                    no_outcome=no_outcome,
                    no_baseline=int(measured.sum()) - available,
                    not_contributing=max(available - analysed, 0),
                )
            )
    return FlowCounts(
        eligible=int(eligible),
        requested=int(requested),
        provided=provided,
        included=len(analysable),
        not_provided=tuple(reasons.items()),
        received=received,
        windows=tuple(windows),
    )


def _analysed(overall: pd.DataFrame | None, outcome: str, window: str, available: int) -> int:
    if overall is None or overall.empty:
        return available
    rows = overall.loc[
        (overall["outcome"] == outcome)
        & (overall["window"] == window)
        & (overall["comparison"] == "any")
    ]
    if rows.empty or pd.isna(rows["participants"].iloc[0]):
        return available
    return int(rows["participants"].iloc[0])


def followup_weeks(master: Any) -> pd.DataFrame:
    """The follow-up week used per trial and window (``trial, label, short, moderate, long``).

    The week of the visit chosen for the window (the most common among the trial's
    participants); ``"pain / function"`` weeks when the two outcomes differ; empty when the
    trial has no visit in the window.
    """
    followup = master.followup
    labels = dict(zip(master.trials["trial"], master.trials["label"], strict=True))
    rows: dict[str, dict[str, str]] = {}
    for (trial, window), group in followup.groupby(["trial", "window"], sort=True):
        weeks = [_mode(group[f"{o}_weeks"]) for o in ("pain", "function")]
        shown = [w for w in weeks if w]
        text = shown[0] if len(set(shown)) == 1 else " / ".join(w or "-" for w in weeks)
        rows.setdefault(str(trial), {})[str(window)] = text if shown else ""
    windows = [w for w in ("short", "moderate", "long") if w in set(followup["window"])]
    frame = pd.DataFrame(
        [
            {"trial": t, "label": labels.get(t, t), **{w: rows[t].get(w, "") for w in windows}}
            for t in rows
        ],
        columns=["trial", "label", *windows],
    )
    return frame


def _mode(values: pd.Series) -> str:
    values = values.dropna()
    if values.empty:
        return ""
    week = float(values.mode().iloc[0])
    return f"{week:g}" if week == round(week) else f"{week:.1f}"
