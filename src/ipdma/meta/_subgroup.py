"""Subgroup analysis with the test for subgroup differences (RevMan / metafor style)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._literals import TauMethod
from ..errors import InputError
from ._pool import PiType, pool
from ._result import PoolResult
from ._summary import Summary
from ._validate import as_labels, as_vector

__all__ = ["SubgroupResult", "subgroup"]


@dataclass(frozen=True)
class SubgroupResult:
    """Per-subgroup pooled results, the overall result and the Q-between test.

    ``groups`` is a tuple of ``(name, PoolResult)`` pairs in order of first appearance
    (or the order given by ``order``).
    """

    groups: tuple[tuple[str, PoolResult], ...]
    overall: PoolResult
    q_between: float
    df_between: int
    p_between: float
    i2_between: float

    def __getitem__(self, name: str) -> PoolResult:
        for key, result in self.groups:
            if key == name:
                return result
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.groups)

    def to_frame(self) -> pd.DataFrame:
        """One tidy row per subgroup plus an "overall" row (columns of ``PoolResult.to_frame``
        with a leading ``subgroup``)."""
        frames = [r.to_frame().assign(subgroup=name) for name, r in self.groups]
        frames.append(self.overall.to_frame().assign(subgroup="overall"))
        out = pd.concat(frames, ignore_index=True)
        return out[["subgroup", *[c for c in out.columns if c != "subgroup"]]]

    tidy = to_frame

    def test_text(self) -> str:
        """ "Test for subgroup differences: Chi2 = ..., df = ..., p = ...; I2 = ...%"."""
        p = "< 0.001" if self.p_between < 0.001 else f"= {self.p_between:.3f}"
        return (
            f"Test for subgroup differences: \u03c7\u00b2 = {self.q_between:.2f}, "
            f"df = {self.df_between}, p {p}; I\u00b2 = {self.i2_between:.0f}%"
        )

    def summary(self) -> Summary:
        table = self.to_frame()[["subgroup", "k", "estimate", "ci_low", "ci_high", "tau2", "i2"]]
        return Summary(f"Subgroup analysis: {self.overall.model}", table, (self.test_text(),))

    def __str__(self) -> str:
        return str(self.summary())

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()


def subgroup(
    yi: Sequence[float] | np.ndarray,
    vi: Sequence[float] | np.ndarray,
    groups: Sequence[Any] | np.ndarray,
    *,
    method: TauMethod = "REML",
    hksj: bool = False,
    adhoc: bool = False,
    level: float = 0.95,
    labels: Sequence[Any] | None = None,
    pi_type: PiType = "metafor",
    order: Sequence[str] | None = None,
) -> SubgroupResult:
    """Pool within each subgroup and test whether the subgroup estimates differ.

    Each subgroup gets its own random-effects model (its own tau2), as RevMan 5 does and as
    metafor does when ``rma`` is fitted per subgroup. The test for subgroup differences is
    the fixed-effect heterogeneity statistic of the G subgroup estimates,
    ``Q_between = sum_g (mu_g - mu_bar)^2 / se_g^2`` with ``mu_bar`` their inverse-variance
    mean, on ``G - 1`` df (metafor: ``rma(est, sei=se, mods=~group, method="FE")$QM``);
    ``I2_between = max(0, (Q - df) / Q)``. A model with one tau2 shared by all subgroups
    (a meta-regression on the group) is a different test and is not what this computes.

    ``overall`` pools all studies with the same options.
    """
    y = as_vector(yi, "yi")
    group_names = [str(g) for g in groups]
    if len(group_names) != y.size:
        raise InputError(
            f"groups has {len(group_names)} entries but there are {y.size} studies",
            variable="groups",
            hint="pass one subgroup name per study",
        )
    v = as_vector(vi, "vi", positive=True)
    names = as_labels(labels, y.size)
    levels = list(dict.fromkeys(group_names)) if order is None else [str(o) for o in order]
    missing = sorted(set(group_names) - set(levels))
    if missing:
        raise InputError(
            "order does not list every subgroup",
            variable="groups",
            value=missing[0],
            hint="add it to order or drop the order argument",
        )
    pooled = functools.partial(
        pool, method=method, hksj=hksj, adhoc=adhoc, level=level, pi_type=pi_type
    )
    results = []
    for level_name in levels:
        idx = [i for i, g in enumerate(group_names) if g == level_name]
        if not idx:
            continue
        results.append((level_name, pooled(y[idx], v[idx], labels=[names[i] for i in idx])))
    overall = pooled(y, v, labels=names)
    est = np.array([r.estimate for _, r in results])
    weights = 1.0 / np.array([r.se for _, r in results]) ** 2
    df = len(results) - 1
    if df > 0:
        mean = float(np.sum(weights * est) / np.sum(weights))
        q = float(np.sum(weights * (est - mean) ** 2))
        p = float(stats.chi2.sf(q, df))
        i2 = max(0.0, 100.0 * (q - df) / q) if q > 0 else 0.0
    else:
        q, p, i2 = 0.0, float("nan"), float("nan")
    return SubgroupResult(tuple(results), overall, q, df, p, i2)
