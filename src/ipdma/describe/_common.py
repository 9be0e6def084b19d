"""Access to the master dataset's tables with clear errors when one is missing."""

from __future__ import annotations

from typing import Literal

import pandas as pd

from ..errors import InputError
from ..store import MasterData

__all__ = ["MasterTable", "require"]

MasterTable = Literal["trials", "arms", "participants", "windows"]


def require(master: MasterData, table: MasterTable, columns: tuple[str, ...]) -> pd.DataFrame:
    """``master.<table>`` as a DataFrame that has ``columns``; InputError naming what is
    missing otherwise."""
    if not isinstance(master, MasterData):
        raise InputError(
            f"expected the master dataset (for its {table!r} table), got {type(master).__name__}",
            variable=table,
            hint="pass the result of ipdma.load(...) (an ipdma.store.MasterData)",
        )
    frame: pd.DataFrame = getattr(master, table)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"the {table!r} table has no column {missing[0]!r}",
            variable=missing[0],
            hint=f"re-run ipdma ingest; the {table} table needs columns {', '.join(columns)}",
        )
    return frame
