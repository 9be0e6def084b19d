"""Access to the master dataset's tables with clear errors when one is missing."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..errors import InputError

__all__ = ["require"]


def require(master: Any, table: str, columns: tuple[str, ...]) -> pd.DataFrame:
    """``master.<table>`` as a DataFrame that has ``columns``; InputError naming what is
    missing otherwise."""
    frame = getattr(master, table, None)
    if not isinstance(frame, pd.DataFrame):
        raise InputError(
            f"the master dataset has no {table!r} table",
            variable=table,
            hint="pass the result of ipdma.load(...) (an ipdma.store.MasterData)",
        )
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"the {table!r} table has no column {missing[0]!r}",
            variable=missing[0],
            hint=f"re-run ipdma ingest; the {table} table needs columns {', '.join(columns)}",
        )
    return frame
