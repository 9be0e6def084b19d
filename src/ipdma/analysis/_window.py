"""One follow-up window's analysis frame as numpy arrays, sorted by trial, reused by every model."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ModelError

__all__ = ["WindowArrays"]


class WindowArrays:
    """Columns of an analysis frame as arrays (rows sorted by trial), converted once.

    ``numeric(name)`` gives a float array (NaN = missing); ``series(name, rows)`` the
    original values of a (possibly non-numeric) column for the chosen rows.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        trial = frame["trial"].astype(str).to_numpy()
        order = np.argsort(trial, kind="stable")
        self.frame = frame.iloc[order].reset_index(drop=True)
        self.trial = trial[order]
        self.columns = set(frame.columns)
        self._numeric: dict[str, np.ndarray] = {}
        self._comparison: dict[str, np.ndarray] = {}

    def require(self, name: str) -> None:
        if name not in self.columns:
            raise ModelError(
                f"variable {name!r} is not in the analysis data",
                variable=name,
                hint="add it to the trial specs or remove it from the analysis plan",
            )

    def is_numeric(self, name: str) -> bool:
        return pd.api.types.is_numeric_dtype(self.frame[name])

    def numeric(self, name: str) -> np.ndarray:
        if name not in self._numeric:
            self._numeric[name] = self.frame[name].to_numpy(dtype=float, na_value=np.nan)
        return self._numeric[name]

    def present(self, name: str) -> np.ndarray:
        """Rows where the column is not missing."""
        if self.is_numeric(name):
            return ~np.isnan(self.numeric(name))
        return self.frame[name].notna().to_numpy()

    def series(self, name: str, rows: np.ndarray) -> pd.Series:
        if self.is_numeric(name):
            return pd.Series(self.numeric(name)[rows], name=name)
        return pd.Series(self.frame[name].to_numpy()[rows], name=name)

    def comparison(self, comparison: str) -> np.ndarray:
        """Rows of the comparison set: exercise rows plus the chosen comparison arms."""
        if comparison not in self._comparison:
            treat = self.numeric("treat")
            if comparison == "any":
                mask = ~np.isnan(treat)
            else:
                arms = self.frame["comparison"].eq(comparison).fillna(False).to_numpy(bool)
                mask = (treat == 1) | arms
            self._comparison[comparison] = mask
        return self._comparison[comparison]
