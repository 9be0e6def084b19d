"""One follow-up window's analysis frame as numpy arrays, sorted by trial, reused by every model."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ModelError
from ._groups import TrialGroups

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
        self._present: dict[str, np.ndarray] = {}
        self._is_numeric: dict[str, bool] = {}
        self._trial_array: pd.api.extensions.ExtensionArray | None = None
        self._codes: tuple[np.ndarray, np.ndarray] | None = None

    def groups(self, rows: np.ndarray) -> TrialGroups:
        """The trial groups of ``rows`` (increasing row numbers), from the window's trial
        codes (the same as ``TrialGroups(self.trial[rows])``, without sorting strings)."""
        if self._codes is None:
            labels, codes = np.unique(self.trial, return_inverse=True)
            self._codes = (labels, codes)
        labels, codes = self._codes
        return TrialGroups.of_sorted(codes[rows], labels)

    def trial_column(self, rows: np.ndarray) -> pd.api.extensions.ExtensionArray:
        """The trial labels of ``rows`` as the pandas array a model's data frame holds (the
        dtype pandas infers for text; converted once per window, not once per model)."""
        if self._trial_array is None:
            self._trial_array = pd.Series(self.trial).array
        return self._trial_array.take(rows)

    def require(self, name: str) -> None:
        if name not in self.columns:
            raise ModelError(
                f"variable {name!r} is not in the analysis data",
                variable=name,
                hint="add it to the trial specs or remove it from the analysis plan",
            )

    def is_numeric(self, name: str) -> bool:
        if name not in self._is_numeric:
            self._is_numeric[name] = pd.api.types.is_numeric_dtype(self.frame[name])
        return self._is_numeric[name]

    def numeric(self, name: str) -> np.ndarray:
        if name not in self._numeric:
            self._numeric[name] = self.frame[name].to_numpy(dtype=float, na_value=np.nan)
        return self._numeric[name]

    def present(self, name: str) -> np.ndarray:
        """Rows where the column is not missing."""
        if name not in self._present:
            if self.is_numeric(name):
                self._present[name] = ~np.isnan(self.numeric(name))
            else:
                self._present[name] = self.frame[name].notna().to_numpy()
            self._present[name].flags.writeable = False
        return self._present[name]

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
