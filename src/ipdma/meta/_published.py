"""Figure 2 of the paper: published results of trials included vs not included in the IPD."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .._literals import TauMethod
from ..errors import DataWarning, InputError
from ..store import MasterData
from ._subgroup import SubgroupResult, subgroup

__all__ = ["published_comparison", "published_tables"]

INCLUDED = "Included in the IPD analysis"
NOT_INCLUDED = "Eligible, not providing IPD"


def published_tables(master: MasterData) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``master.published`` and ``master.trials``; InputError for anything but a MasterData."""
    if not isinstance(master, MasterData):
        raise InputError(
            f"expected the master dataset, got {type(master).__name__}",
            hint="pass the result of ipdma.load(...) (an ipdma.store.MasterData)",
        )
    return master.published, master.trials


def published_comparison(
    master: MasterData,
    *,
    outcome: str = "pain",
    comparison: str = "any",
    method: TauMethod = "DL",
    hksj: bool = False,
    level: float = 0.95,
) -> SubgroupResult:
    """Random-effects meta-analysis of the published mean differences, by IPD availability.

    Reads ``master.published`` (``trial, outcome, comparison, md, se``; 0-100 scale,
    exercise minus comparison) and ``master.trials`` (``label, included``) and runs
    :func:`subgroup` with the groups "Included in the IPD analysis" and "Eligible, not
    providing IPD". The default ``method="DL"`` is RevMan 5's random-effects model, which the
    paper used for Figure 2 and Appendix 2. Rows without ``md`` or with ``se <= 0`` are left
    out with a :class:`~ipdma.errors.DataWarning`.
    """
    published, trials = published_tables(master)
    for column in ("trial", "outcome", "comparison", "md", "se"):
        if column not in published.columns:
            raise InputError(
                f"the 'published' table has no column {column!r}",
                variable=column,
                hint="list published results as md and se per trial in the project file",
            )
    rows = published[(published.outcome == outcome) & (published.comparison == comparison)]
    rows = rows.merge(trials[["trial", "label", "included"]], on="trial", how="left")
    unknown = rows[rows.included.isna()]
    if len(unknown):
        raise InputError(
            "a published result belongs to a trial that is not in the trials table",
            trial=str(unknown.trial.iloc[0]),
            variable="trial",
            hint="add the trial (included or [[not_included]]) to the project file",
        )
    usable = np.isfinite(rows.md.astype(float)) & (rows.se.astype(float) > 0)
    if not usable.all():
        dropped = ", ".join(rows.trial[~usable].astype(str))
        warnings.warn(
            f"published {outcome} results without md or a positive se left out: {dropped}",
            DataWarning,
            stacklevel=2,
        )
        rows = rows[usable]
    if rows.empty:
        raise InputError(
            f"no published {outcome} results for comparison {comparison!r}",
            variable="published",
            hint="check the outcome and comparison names in the project file",
        )
    groups = np.where(rows.included.astype(bool), INCLUDED, NOT_INCLUDED)
    order = [g for g in (INCLUDED, NOT_INCLUDED) if g in set(groups)]
    return subgroup(
        rows.md.astype(float),
        rows.se.astype(float) ** 2,
        groups,
        method=method,
        hksj=hksj,
        level=level,
        labels=rows.label.fillna(rows.trial),
        order=order,
    )
