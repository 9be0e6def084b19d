"""The trials' rows for the imputation models (:mod:`._twostage`): the layout of a frame's
rows by trial, the observed rows of one conditional model (fixed for a chain), what a chain
keeps of a model between its sweeps, and the stage-1 estimates of the trials."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._pooled import StackedRows

__all__ = ["FitCache", "ObservedRows", "TrialLayout", "TrialModels"]

_UNIDENTIFIED = 1e8  # variance of a coefficient a trial carries no information on


@dataclass(frozen=True)
class TrialLayout:
    """Rows grouped by trial and padded: ``slot[k, j]`` is the row index of the j-th row of
    trial k (``mask`` False in the padding)."""

    slot: np.ndarray  # (K, n_max) int
    mask: np.ndarray  # (K, n_max) bool
    trial: np.ndarray  # (n,) trial code of each row

    @classmethod
    def of(cls, trial: np.ndarray, n_trials: int) -> TrialLayout:
        order = np.argsort(trial, kind="stable")
        counts = np.bincount(trial, minlength=n_trials)
        n_max = int(counts.max()) if len(counts) else 0
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        position = np.arange(len(trial)) - np.repeat(starts, counts)
        slot = np.zeros((n_trials, n_max), dtype=np.intp)
        mask = np.zeros((n_trials, n_max), dtype=bool)
        sorted_trial = trial[order]
        slot[sorted_trial, position] = order
        mask[sorted_trial, position] = True
        return cls(slot, mask, trial)


@dataclass(frozen=True)
class TrialModels:
    """Stage-1 estimates of every trial (rows of ``estimates`` are trials)."""

    estimates: np.ndarray  # (K, p)
    covariances: np.ndarray  # (K, p, p)
    observed: np.ndarray  # (K,) bool: the trial has its own estimate
    residual: np.ndarray  # (K, 2) residual sum of squares by arm (continuous) or nan
    df: np.ndarray  # (K, 2) residual df by arm
    # binary with common slopes, fitted in one stage (:mod:`._pooled`): which coefficients are
    # common, their covariance, and each trial's shift of its own coefficients per unit change
    # of the common ones (covariances then hold the trial's own block given the common ones)
    common: np.ndarray | None = None  # (p,) bool
    common_cov: np.ndarray | None = None  # (c, c)
    shift: np.ndarray | None = None  # (K, p - c, c)
    rows: StackedRows | None = None  # the fitted trials' data


@dataclass(frozen=True)
class ObservedRows:
    """The trials a model is fitted in (``chosen``: at least ``min_rows`` observed values of
    the target) and their observed rows, padded: ``slot[k, j]`` (``use`` False in the
    padding, which repeats the trial's first row); the same stacked without padding
    (``flat``), trial by trial and within a trial arm 0 before arm 1 (for the by-arm
    regression of a continuous target). They depend on where the target is observed, not on
    the imputed values, so a chain computes them once per model."""

    chosen: np.ndarray  # (K_c,) trial codes
    slot: np.ndarray  # (K_c, width) row indices
    use: np.ndarray  # (K_c, width) bool
    counts: np.ndarray  # (K_c,) observed rows
    z3: np.ndarray  # (K_c, width) the target (0 in the padding)
    arm_rows: np.ndarray  # (K_c, 2) observed rows in arm 0 and in arm 1
    present: np.ndarray  # (K_c, 2) bool: the trial has observed rows in the arm
    varies: np.ndarray  # (K_c,) bool: the target is not constant in the trial
    flat: np.ndarray  # (N,) the observed rows, trial by trial, arm 0 first (no padding)
    flat_trial: np.ndarray  # (N,) their trial (0..K_c-1)
    starts: np.ndarray  # (K_c,) where each trial's rows start among them
    z: np.ndarray  # (N,) the target on them

    @classmethod
    def of(cls, z: np.ndarray, layout: TrialLayout, min_rows: int, arm: np.ndarray) -> ObservedRows:
        use_all = layout.mask & ~np.isnan(z)[layout.slot]
        chosen = np.flatnonzero(use_all.sum(axis=1) >= min_rows)
        slot, use = _front(layout.slot[chosen], use_all[chosen])
        z3 = np.where(use, np.nan_to_num(z)[slot], 0.0)
        # the observed rows stacked trial by trial, arm 0 before arm 1 within a trial
        treated = arm[slot] > 0
        order = np.argsort(~use | treated, axis=1, kind="stable")  # arm 0, arm 1, padding
        sorted_use = np.take_along_axis(use, order, axis=1)
        flat = np.take_along_axis(slot, order, axis=1)[sorted_use]
        flat_trial = np.nonzero(sorted_use)[0]
        starts = np.searchsorted(flat_trial, np.arange(len(chosen)))
        arm_rows = np.stack([(use & ~treated).sum(axis=1), (use & treated).sum(axis=1)], axis=1)
        varies = np.asarray(
            np.where(use, z3, -np.inf).max(axis=1) > np.where(use, z3, np.inf).min(axis=1)
        )
        return cls(chosen, slot, use, use.sum(axis=1), z3, arm_rows, arm_rows > 0, varies,
                   flat, flat_trial, starts, np.nan_to_num(z)[flat])  # fmt: skip

    def stacked(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The observed rows of ``x`` stacked (N, p) and which columns vary within each
        trial (K_c, p; the intercept always counts): a column constant in a trial is not
        identified there."""
        out = x[self.flat]
        spread = np.maximum.reduceat(out, self.starts) - np.minimum.reduceat(out, self.starts)
        keep = spread > 1e-12
        keep[:, 0] = True
        return out, keep


def _front(slot: np.ndarray, use: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The used entries of each row of ``slot`` moved to the front (stable), trimmed to the
    longest row; the padding repeats the row's first entry."""
    order = np.argsort(~use, axis=1, kind="stable")
    width = int(use.sum(axis=1).max(initial=0))
    slot = np.take_along_axis(slot, order, axis=1)[:, :width]
    use = np.take_along_axis(use, order, axis=1)[:, :width]
    return np.where(use, slot, slot[:, :1]), use


@dataclass
class FitCache:
    """What a chain keeps of one conditional model between its sweeps: the observed rows,
    and a binary model's last estimates (K, p), where its next Newton iterations start."""

    rows: ObservedRows | None = None
    start: np.ndarray | None = None
