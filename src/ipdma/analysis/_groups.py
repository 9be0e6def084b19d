"""Per-trial summaries with numpy (rows sorted by trial): means, centring, variation."""

from __future__ import annotations

import numpy as np

__all__ = ["TrialGroups"]


class TrialGroups:
    """Integer trial codes of rows sorted by trial, with fast per-trial reductions."""

    def __init__(self, trial: np.ndarray) -> None:
        self.labels, self.codes = np.unique(trial, return_inverse=True)
        self.size = np.bincount(self.codes, minlength=len(self.labels))
        self.starts = np.concatenate([[0], np.cumsum(self.size)[:-1]])
        if np.any(np.diff(self.codes) < 0):
            raise ValueError("rows must be sorted by trial")

    @classmethod
    def of_sorted(cls, codes: np.ndarray, labels: np.ndarray) -> TrialGroups:
        """The groups of rows whose trials are ``labels[codes]`` (``labels`` sorted and
        distinct, ``codes`` non-decreasing): the same as ``TrialGroups(labels[codes])``
        without sorting the labels again (a grid builds tens of thousands of these)."""
        if len(codes) == 0:
            return cls(labels[codes])
        new = np.empty(len(codes), dtype=bool)
        new[0] = True
        np.not_equal(codes[1:], codes[:-1], out=new[1:])
        if np.any(codes[1:] < codes[:-1]):
            raise ValueError("rows must be sorted by trial")
        groups = cls.__new__(cls)
        groups.starts = np.flatnonzero(new)
        groups.codes = np.cumsum(new) - 1
        groups.labels = labels[codes[groups.starts]]
        groups.size = np.diff(np.append(groups.starts, len(codes)))
        return groups

    def __len__(self) -> int:
        return len(self.labels)

    def sums(self, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.codes, weights=values, minlength=len(self.labels))

    def means(self, values: np.ndarray) -> np.ndarray:
        return self.sums(values) / self.size

    def centre(self, values: np.ndarray) -> np.ndarray:
        """``v - mean_i(v)``: each value minus its trial's mean."""
        return values - self.means(values)[self.codes]

    def varies(self, values: np.ndarray) -> np.ndarray:
        """Per trial: does ``values`` take more than one value."""
        spread = np.maximum.reduceat(values, self.starts) - np.minimum.reduceat(values, self.starts)
        return spread > 1e-12

    def both_arms(self, treat: np.ndarray, among: np.ndarray | None = None) -> np.ndarray:
        """Per trial: are there treated and control rows (optionally only ``among`` rows)."""
        weight = np.ones_like(treat) if among is None else among.astype(float)
        treated = self.sums(treat * weight)
        total = self.sums(weight)
        return (treated > 0) & (treated < total)
