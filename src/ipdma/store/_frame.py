"""The analysis frame: one follow-up window of the master dataset, one row per participant."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .._literals import Window, validate
from ._master import MasterData, load

__all__ = ["analysis_frame"]


def analysis_frame(master: MasterData | str | Path, window: Window = "short") -> pd.DataFrame:
    """Participants joined with one window's follow-up (one row per participant).

    Parameters
    ----------
    master
        A :class:`MasterData`, or a path accepted by :func:`ipdma.load` (a master file or a
        project file).
    window
        ``"short"`` (closest to 3 months), ``"moderate"`` (6) or ``"long"`` (12).

    Returns
    -------
    DataFrame
        The columns of ``participants`` plus ``pain``, ``function``, ``recovery``.
    """
    validate(window, Window, "window")
    data = master if isinstance(master, MasterData) else load(master)
    follow = data.followup[data.followup["window"] == window]
    follow = follow[["trial", "pid", "pain", "function", "recovery"]]
    return data.participants.merge(follow, on=["trial", "pid"], how="left")
