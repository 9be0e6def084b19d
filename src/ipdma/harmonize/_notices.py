"""Notices about a harmonized trial: what is legal but probably wrong, or cannot contribute.

* the follow-up schedule is implausible for its ``time_unit`` (visits at 3, 6, 12 "weeks"
  look like months; 52 "months" look like weeks; columns named ``..._12m`` read as weeks);
* the trial has no participant in an exercise arm, or only one arm with participants, or
  no follow-up outcome value at all: it cannot contribute to any treatment effect.

Notices do not stop ingest; they are printed by ``ipdma ingest`` and ``ipdma check`` and
stored in the master dataset.
"""

from __future__ import annotations

import re
from typing import Literal

import pandas as pd

from ..spec import TrialSpec

__all__ = ["grouped_notices", "trial_notices"]

Outcome = Literal["pain", "function"]

_MONTH_SCHEDULES = {1.0, 2.0, 3.0, 4.0, 6.0, 9.0, 12.0, 18.0, 24.0, 36.0}
_WEEK_MARKS = {13.0, 26.0, 39.0, 52.0, 78.0, 104.0}
_MONTH_NAME = re.compile(r"(\d+\s*(m|mo|mnd|mth|months?|maanden|monate?|mån)\b|month)", re.I)
_WEEK_NAME = re.compile(r"(\d+\s*(w|wk|wks|weeks?|weken|wochen|veckor|uger)\b|week)", re.I)


def _schedule(spec: TrialSpec, name: Outcome) -> tuple[list[float], list[str], str]:
    """Follow-up times in the spec's unit, the names that carry them, and the unit."""
    out = spec.outcomes[name]
    unit = out.time_unit or spec.source.time_unit
    base = spec.source.baseline_time
    if out.columns:
        times = [float(t) - base for t in out.columns]
        labels = [c for t, c in out.columns.items() if float(t) != base]
    else:
        times, labels = [], [spec.source.time or ""]
    return sorted(t for t in times if t > 0), labels, unit


def _schedule_notice(spec: TrialSpec, name: Outcome, long_times: list[float]) -> str | None:
    times, labels, unit = _schedule(spec, name)
    times = times or long_times
    if not times:
        return None
    shown = ", ".join(f"{t:g}" for t in times)
    where = f"outcomes.{name} (time_unit = {unit!r})"
    named_months = any(_MONTH_NAME.search(label) for label in labels)
    named_weeks = any(_WEEK_NAME.search(label) for label in labels)
    # 6, 12 and 24 weeks are common visits; a first visit at 3 "weeks" with later ones on a
    # monthly grid (3, 6, 12) is the typical signature of months written as weeks
    monthly = set(times) <= _MONTH_SCHEDULES and 3.0 in times and max(times) >= 6
    if unit == "weeks" and (named_months or (monthly and len(times) >= 2)):
        return (
            f"{where}: follow-up at {shown} weeks looks like a schedule in months"
            + (" (the column names say months)" if named_months else "")
            + "; if so, set time_unit = 'months' (else the 12-month visit is read as 3 months)"
        )
    if unit == "months" and (named_weeks or (max(times) >= 26 and set(times) & _WEEK_MARKS)):
        return (
            f"{where}: follow-up at {shown} months looks like a schedule in weeks"
            + (" (the column names say weeks)" if named_weeks else "")
            + "; if so, set time_unit = 'weeks'"
        )
    if unit in ("days", "weeks") and max(times) > (1826 if unit == "days" else 260):
        return f"{where}: follow-up at {shown} {unit} is over 5 years; is the unit right?"
    return None


def trial_notices(
    spec: TrialSpec, participants: pd.DataFrame, outcomes: pd.DataFrame, arms: pd.DataFrame
) -> list[str]:
    """Notices for one harmonized trial (each names the trial and says what to check)."""
    notices = []
    for name in spec.outcomes:
        rows = outcomes[(outcomes["outcome"] == name) & (outcomes["time_weeks"] > 0)]
        long_times = []
        if spec.source.layout == "long" and len(rows):
            unit = spec.outcomes[name].time_unit or spec.source.time_unit
            from ..spec import convert_unit

            factor = convert_unit(unit, "weeks")
            long_times = sorted({round(t / factor, 4) for t in rows["time_weeks"]})
        text = _schedule_notice(spec, name, long_times)
        if text:
            notices.append(f"trial {spec.id}: {text}")
    used = arms[arms["n"] > 0]
    if not (used["role"] == "exercise").any():
        notices.append(
            f"trial {spec.id}: no participant is in an exercise arm, so the trial cannot "
            "contribute to any treatment effect (check the arms' `category` in its spec)"
        )
    elif len(used) < 2:
        notices.append(
            f"trial {spec.id}: only one arm has participants, so the trial cannot contribute "
            "to any treatment effect (check [[arms]] and the arm column)"
        )
    elif not (used["role"] == "comparison").any():
        notices.append(
            f"trial {spec.id}: no participant is in a comparison arm (every arm is exercise), "
            "so the trial cannot contribute to exercise-vs-comparison effects (check the "
            "arms' `category` if one is a comparison)"
        )
    follow = outcomes[outcomes["time_weeks"] > 0]
    if outcomes.empty:
        notices.append(
            f"trial {spec.id}: every outcome value is missing, so the trial cannot contribute "
            "to any analysis (check the outcome columns and `missing` codes in its spec)"
        )
    elif follow.empty:
        notices.append(
            f"trial {spec.id}: no follow-up outcome value (only baseline), so the trial cannot "
            "contribute to any analysis (check [outcomes] times and columns)"
        )
    return notices


_TRIAL_NOTICE = re.compile(r"^trial (\S+): (.*)$", re.S)


def grouped_notices(notices: list[str]) -> list[str]:
    """Notices for printing: the same notice about several trials as one line naming them
    (``trials a, b, c: ...``), in order of first appearance; others unchanged.

    Exercise-vs-exercise trials are the commonest design in the paper (10 of 27), so one
    line per trial would bury the notices that need action.
    """
    groups: dict[str, list[str]] = {}
    for notice in notices:
        match = _TRIAL_NOTICE.match(notice)
        key, trial = (match.group(2), match.group(1)) if match else (notice, "")
        groups.setdefault(key, []).append(trial)
    lines = []
    for text, trials in groups.items():
        named = list(dict.fromkeys(t for t in trials if t))
        if not named:
            lines.append(text)
        elif len(named) == 1:
            lines.append(f"trial {named[0]}: {text}")
        else:
            lines.append(
                f"trials {', '.join(named)}: {text.replace('the trial cannot', 'they cannot')}"
            )
    return lines
