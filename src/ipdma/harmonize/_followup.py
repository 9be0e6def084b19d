"""Follow-up windows and global recovery.

Windows: for each trial and outcome, the post-baseline visit time closest to the window's
target (13, 26, 52 weeks by default), if within ``max_distance``; equally close visits are
resolved by the ``ties`` setting. Global recovery (the paper's definition): improvement
``d = baseline - followup`` (0-100, higher = worse) with ``d >= relative * baseline`` and
``d >= points`` (20 for pain, 10 for function), in pain OR function; missing when neither
can be computed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._literals import Window
from ..spec import RecoverySettings, Settings

__all__ = ["WINDOWS", "choose_windows", "followup_table", "recovered"]

WINDOWS: tuple[Window, ...] = ("short", "moderate", "long")
_EPS = 1e-9  # float slack so that e.g. 50 -> 35 counts as exactly 30 % improvement


def _closest(times: np.ndarray, target: float, max_distance: float, ties: str) -> float:
    if times.size == 0:
        return np.nan
    distance = np.abs(times - target)
    best = distance.min()
    if best > max_distance + _EPS:
        return np.nan
    tied = times[np.abs(distance - best) <= _EPS]
    return float(tied.max() if ties == "later" else tied.min())


def choose_windows(outcomes: pd.DataFrame, trials: list[str], settings: Settings) -> pd.DataFrame:
    """``trial, outcome, window, time_weeks`` (NaN when no visit is close enough)."""
    rows = []
    for trial in trials:
        for outcome in ("pain", "function"):
            sel = outcomes[(outcomes["trial"] == trial) & (outcomes["outcome"] == outcome)]
            times = np.unique(sel.loc[sel["time_weeks"] > 0, "time_weeks"].to_numpy(float))
            for window in WINDOWS:
                w = settings.windows[window]
                chosen = _closest(times, w.target, w.max_distance, settings.ties)
                rows.append((trial, outcome, window, chosen))
    return pd.DataFrame(rows, columns=["trial", "outcome", "window", "time_weeks"])


def recovered(baseline, followup, *, relative: float, points: float) -> np.ndarray:
    """1.0 / 0.0 when improvement >= relative x baseline and >= points, NaN if unknown."""
    base = np.asarray(baseline, dtype=float)
    follow = np.asarray(followup, dtype=float)
    gain = base - follow
    hit = (gain >= relative * base - _EPS) & (gain >= points - _EPS)
    return np.where(np.isnan(base) | np.isnan(follow), np.nan, hit.astype(float))


def _global_recovery(pain_rec: np.ndarray, function_rec: np.ndarray) -> np.ndarray:
    both = np.vstack([pain_rec, function_rec])
    known = ~np.isnan(both)
    any_yes = np.nansum(np.where(known, both, 0.0), axis=0) > 0
    return np.where(known.any(axis=0), any_yes.astype(float), np.nan)


def followup_table(
    participants: pd.DataFrame,
    outcomes: pd.DataFrame,
    windows: pd.DataFrame,
    recovery: RecoverySettings,
) -> pd.DataFrame:
    """``trial, pid, window, pain, function, recovery, pain_weeks, function_weeks``."""
    keys = participants[["trial", "pid", "pain0", "function0"]]
    frames = []
    for window in WINDOWS:
        frame = keys.copy()
        frame["window"] = window
        for outcome in ("pain", "function"):
            chosen = windows[(windows["window"] == window) & (windows["outcome"] == outcome)]
            chosen = chosen.dropna(subset=["time_weeks"])[["trial", "time_weeks"]]
            sel = outcomes[outcomes["outcome"] == outcome].merge(chosen, on=["trial", "time_weeks"])
            sel = sel[["trial", "pid", "value", "time_weeks"]].rename(
                columns={"value": outcome, "time_weeks": f"{outcome}_weeks"}
            )
            frame = frame.merge(sel, on=["trial", "pid"], how="left")
        frame["pain_weeks"] = frame["pain_weeks"].where(frame["pain"].notna())
        frame["function_weeks"] = frame["function_weeks"].where(frame["function"].notna())
        pain_rec = recovered(frame["pain0"], frame["pain"], relative=recovery.relative,
                             points=recovery.pain_points)  # fmt: skip
        function_rec = recovered(frame["function0"], frame["function"],
                                 relative=recovery.relative, points=recovery.function_points)  # fmt: skip
        frame["recovery"] = _global_recovery(pain_rec, function_rec)
        frames.append(frame)
    columns = ["trial", "pid", "window", "pain", "function", "recovery", "pain_weeks",
               "function_weeks"]  # fmt: skip
    return pd.concat(frames, ignore_index=True)[columns]
