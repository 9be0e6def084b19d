"""One follow-up window's analysis frame as numpy arrays, sorted by trial, reused by every model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import ModelError
from ._groups import TrialGroups

__all__ = ["WindowArrays"]


_REMEMBERED = 64  # row sets whose trial groups and labels are kept (a chunk of models)


class _Trials:
    """What depends only on the trials of the rows: the integer trial codes, and the trial
    groups and labels of the latest row sets (the m completed versions of a window share
    them, and so do the m datasets of one model: the same rows)."""

    def __init__(self, trial: np.ndarray) -> None:
        self.labels, self.codes = np.unique(trial, return_inverse=True)
        self.array = pd.Series(trial).array  # the dtype pandas infers for text
        self._groups: dict[bytes, TrialGroups] = {}
        self._columns: dict[bytes, pd.api.extensions.ExtensionArray] = {}

    def groups(self, rows: np.ndarray) -> TrialGroups:
        key = rows.tobytes()
        found = self._groups.get(key)
        if found is None:
            found = TrialGroups.of_sorted(self.codes[rows], self.labels)
            _remember(self._groups, key, found)
        return found

    def column(self, rows: np.ndarray) -> pd.api.extensions.ExtensionArray:
        key = rows.tobytes()
        found = self._columns.get(key)
        if found is None:
            found = self.array.take(rows)
            _remember(self._columns, key, found)
        return found


def _remember(memo: dict, key: bytes, value: object) -> None:
    if len(memo) >= _REMEMBERED:
        del memo[next(iter(memo))]
    memo[key] = value


class WindowArrays:
    """Columns of an analysis frame as arrays (rows sorted by trial), converted once.

    ``numeric(name)`` gives a float array (NaN = missing); ``series(name, rows)`` the
    original values of a (possibly non-numeric) column for the chosen rows.
    :meth:`completed` gives a completed version (multiple imputation) that shares the
    trials and the unchanged columns with this one.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        trial = frame["trial"].astype(str).to_numpy()
        order = np.argsort(trial, kind="stable")
        self.frame = frame.iloc[order].reset_index(drop=True)
        self.order = order
        self.trial = trial[order]
        self.columns = set(frame.columns)
        self._base: WindowArrays | None = None  # the window this is a completed version of
        self._own: frozenset[str] = frozenset()  # the columns that differ from the base's
        self._trials: _Trials | None = None
        self._numeric: dict[str, np.ndarray] = {}
        self._comparison: dict[str, np.ndarray] = {}
        self._present: dict[str, np.ndarray] = {}
        self._is_numeric: dict[str, bool] = {}

    def completed(self, frame: pd.DataFrame, changed: Sequence[str]) -> WindowArrays:
        """A completed version of this window: ``frame`` has this window's rows in the
        original order (e.g. :meth:`ipdma.impute.Imputation.completed`) and differs from
        it in the columns ``changed`` only. The same as ``WindowArrays(frame)``; the trials
        and the arrays of the other columns are shared with this window, not made again.
        """
        trial = frame["trial"].astype(str).to_numpy()
        if len(trial) != len(self.trial) or not np.array_equal(trial[self.order], self.trial):
            raise ValueError("a completed frame must have the rows of the window, in order")
        out = WindowArrays.__new__(WindowArrays)
        out.frame = frame.iloc[self.order].reset_index(drop=True)
        out.order, out.trial, out.columns = self.order, self.trial, set(frame.columns)
        out._base, out._own = self, frozenset(changed)
        out._trials = self._shared_trials()
        out._numeric, out._comparison, out._present, out._is_numeric = {}, {}, {}, {}
        return out

    def _shared_trials(self) -> _Trials:
        if self._trials is None:
            self._trials = _Trials(self.trial)
        return self._trials

    def _inherits(self, name: str) -> WindowArrays | None:
        """The window whose arrays of ``name`` this one shares (None: its own)."""
        return self._base if self._base is not None and name not in self._own else None

    def groups(self, rows: np.ndarray) -> TrialGroups:
        """The trial groups of ``rows`` (increasing row numbers), from the window's trial
        codes (the same as ``TrialGroups(self.trial[rows])``, without sorting strings)."""
        return self._shared_trials().groups(rows)

    def trial_column(self, rows: np.ndarray) -> pd.api.extensions.ExtensionArray:
        """The trial labels of ``rows`` as the pandas array a model's data frame holds (the
        dtype pandas infers for text; converted once per window, not once per model)."""
        return self._shared_trials().column(rows)

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
            base = self._inherits(name)
            if base is not None:
                self._numeric[name] = base.numeric(name)
            else:
                self._numeric[name] = self.frame[name].to_numpy(dtype=float, na_value=np.nan)
        return self._numeric[name]

    def present(self, name: str) -> np.ndarray:
        """Rows where the column is not missing (read-only)."""
        if name not in self._present:
            base = self._inherits(name)
            if base is not None:
                self._present[name] = base.present(name)
            elif self.is_numeric(name):
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
        if self._base is not None and not self._own & {"treat", "comparison"}:
            return self._base.comparison(comparison)
        if comparison not in self._comparison:
            treat = self.numeric("treat")
            if comparison == "any":
                mask = ~np.isnan(treat)
            else:
                arms = self.frame["comparison"].eq(comparison).fillna(False).to_numpy(bool)
                mask = (treat == 1) | arms
            self._comparison[comparison] = mask
        return self._comparison[comparison]
