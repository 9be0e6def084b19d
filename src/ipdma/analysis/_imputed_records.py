"""The m fits of one model on m completed datasets: a lean record per fit, pooled into one
:class:`ModelResult` by Rubin's rules.

A grid with imputation fits tens of thousands of models (m = 20 completed datasets of each
of about a thousand grid cells); a full :class:`ModelResult` per fit (three pandas frames,
normalized, pickled back from the worker process) cost more than many of the fits. Pooling
reads only the estimates, standard errors and df of the reported terms, their contributing
trials and participants, the variance components, the status and the warnings, so every
fit but one is reduced to an :class:`ImputedFit` of NumPy arrays in the worker. The first
completed dataset's fit is also kept as a full record: it labels the pooled record (terms,
formula, notes, convergence record, per-trial effects), as it did when every fit was a
full record. The pooled record is the public one; its numbers are those of
:func:`pool_records` on full records (checked record by record in the tests).

Pooling (Rubin 1987; Barnard & Rubin 1999; as ``mice::pool``), per reported term::

    estimate = mean of the m estimates;  SE^2 = within + (1 + 1/m) between
    df = Barnard-Rubin, complete-data df = mean of the m fits' df (t-based linear models)
         or infinity (z)

variance components: the mean of the m variances (SDs from the mean variances), the mean
correlations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._frozen import FrozenFrame
from .._literals import ModelStatus
from ..impute import rubin_pool
from ._records import (
    TIDY_COLUMNS,
    VARCOMP_COLUMNS,
    ImputationInfo,
    ModelResult,
    frame_arrays,
    normal_frame,
)

__all__ = ["ImputedFit", "pool_fits", "pool_records"]

_INFERENCE = ("estimate", "se", "df", "statistic", "p", "ci_low", "ci_high")
_T_BASED = ("satterthwaite", "kenward-roger", "residual")


@dataclass(frozen=True, eq=False)
class ImputedFit:
    """One model fitted on one completed dataset, reduced to what pooling reads.

    Arrays are by reported term in the order of the model's tidy frame (``estimate``,
    ``se``, ``df`` exactly as the full record's tidy frame has them: NaN where the term is
    not estimable, SE and df NaN where the fit has no positive finite SE), and by row of
    the variance components (``variance``, ``corr``). All arrays are read-only.
    """

    status: ModelStatus
    estimate: np.ndarray
    se: np.ndarray
    df: np.ndarray
    studies: np.ndarray
    participants: np.ndarray
    variance: np.ndarray
    corr: np.ndarray
    nobs: int
    error: str | None = None
    warnings: tuple[str, ...] = ()
    separated: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("estimate", "se", "df", "studies", "participants", "variance", "corr"):
            values = getattr(self, name)
            if values.flags.writeable:
                values = values.copy()
                values.flags.writeable = False
                object.__setattr__(self, name, values)

    @classmethod
    def of(cls, record: ModelResult) -> ImputedFit:
        """The lean view of a full record (the same numbers)."""
        terms, varcomp = frame_arrays(record.terms), frame_arrays(record.varcomp)
        return cls(
            status=record.status,
            estimate=terms["estimate"],
            se=terms["se"],
            df=terms["df"],
            studies=terms["studies"],
            participants=terms["participants"],
            variance=varcomp["variance"],
            corr=varcomp["corr"],
            nobs=record.nobs,
            error=record.error,
            warnings=record.warnings,
            separated=record.separated,
        )


def _status(fits: Sequence[ImputedFit]) -> tuple[ModelStatus, str | None]:
    statuses = [f.status for f in fits]
    if all(s == "not estimable" for s in statuses):
        return "not estimable", fits[0].error
    failed = [f for f in fits if f.status in ("failed", "not estimable")]
    if failed:
        return "failed", (
            f"{len(failed)} of {len(fits)} completed datasets could not be analysed: "
            f"{failed[0].error}"
        )
    if any(s == "not converged" for s in statuses):
        return "not converged", None
    return "fitted", None


def pool_records(records: Sequence[ModelResult]) -> ModelResult:
    """One record from the m full records of a model fitted on m completed datasets."""
    return pool_fits(records[0], [ImputedFit.of(r) for r in records])


def pool_fits(first: ModelResult, fits: Sequence[ImputedFit]) -> ModelResult:
    """One record from the m fits of a model: ``fits[i]`` is the fit on completed dataset
    ``i`` and ``first`` the full record of dataset 0 (what labels the pooled record)."""
    m = len(fits)
    status, error = _status(fits)
    count = len(first.terms)
    columns = frame_arrays(first.terms)
    if status in ("failed", "not estimable"):
        for name in _INFERENCE:
            columns[name] = np.full(count, np.nan)
        return first.replace(
            status=status,
            error=error,
            df_method="barnard-rubin",
            terms=normal_frame(columns, TIDY_COLUMNS),
            imputation=ImputationInfo(m=m, fmi=tuple(math.nan for _ in range(count))),
        )
    estimates = np.array([f.estimate for f in fits], dtype=float)
    variances = np.array([f.se**2 for f in fits], dtype=float)
    if first.df_method in _T_BASED:  # t-based fits
        dfcom = np.array([f.df for f in fits]).mean(axis=0)
    else:
        dfcom = np.full(count, np.inf)
    usable = np.isfinite(estimates).all(axis=0) & np.isfinite(variances).all(axis=0)
    fmi = np.full(count, np.nan)
    for name in _INFERENCE:
        columns[name] = np.full(count, np.nan)
    if usable.any():
        pooled = rubin_pool(estimates[:, usable], variances[:, usable],
                            dfcom=dfcom[usable], level=first.level).table  # fmt: skip
        for name in _INFERENCE:
            columns[name][usable] = pooled[name].to_numpy()
        fmi[usable] = pooled["fmi"].to_numpy()
    columns["studies"] = np.max([f.studies for f in fits], axis=0)
    columns["participants"] = np.max([f.participants for f in fits], axis=0)
    not_verified = sum(f.status == "not converged" for f in fits)
    notes = (
        *first.notes,
        f"pooled over {m} imputed datasets by Rubin's rules (Barnard-Rubin df)"
        + (f"; the optimum of {not_verified} of the {m} fits was not verified" if not_verified
           else ""),
    )  # fmt: skip
    return first.replace(
        status=status,
        df_method="barnard-rubin",
        terms=normal_frame(columns, TIDY_COLUMNS),
        varcomp=_mean_varcomp(first, fits),
        nobs=int(np.median([f.nobs for f in fits])),
        warnings=tuple(dict.fromkeys(w for f in fits for w in f.warnings)),
        notes=notes,
        two_stage=None,
        imputation=ImputationInfo(m=m, fmi=tuple(float(v) for v in fmi)),
        separated=tuple(sorted({t for f in fits for t in f.separated})),
    )


def _mean_varcomp(first: ModelResult, fits: Sequence[ImputedFit]) -> FrozenFrame:
    """Variance components averaged over the imputations (SDs from the mean variances);
    the first fit's when they do not have the same rows in every fit."""
    varcomp = first.varcomp
    if varcomp.empty or any(len(f.variance) != len(varcomp) for f in fits):
        return varcomp
    columns = frame_arrays(varcomp)
    variance = np.mean([f.variance for f in fits], axis=0)
    is_sd = pd.isna(columns["term2"])
    sd = np.array(columns["sd"], dtype=float)
    sd[is_sd] = np.sqrt(np.clip(variance[is_sd], 0, None))
    columns.update(variance=variance, sd=sd, corr=np.mean([f.corr for f in fits], axis=0))
    return normal_frame(columns, VARCOMP_COLUMNS)
