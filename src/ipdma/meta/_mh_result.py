"""The immutable result of :func:`ipdma.meta.mantel_haenszel` and :func:`ipdma.meta.peto`."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ._summary import Summary

__all__ = ["MantelHaenszelResult"]


@dataclass(frozen=True)
class MantelHaenszelResult:
    """A Mantel-Haenszel or Peto fixed-effect pooled estimate (log scale for OR, RR, IRR).

    ``k`` tables, ``k_yi`` of them with a finite study estimate (the heterogeneity test uses
    those, on ``k_yi - 1`` df). ``cmh`` is the Cochran-Mantel-Haenszel test of no effect
    (hypergeometric variance; the MH test for IRR), ``cochran`` Cochran's version (OR; both
    with the continuity correction when asked); ``breslow_day`` and ``tarone`` test homogeneity of
    the odds ratios on ``k_pos - 1`` df. Statistics that do not apply are NaN (``k_pos``
    -1). ``yi``, ``vi`` are the per-study estimates for forest plots.
    """

    method: str
    measure: str
    level: float
    k: int
    k_yi: int
    estimate: float
    se: float
    statistic: float
    p: float
    ci: tuple[float, float]
    q: float
    q_df: int
    q_p: float
    i2: float
    h2: float
    cochran: float
    cochran_p: float
    cmh: float
    cmh_p: float
    breslow_day: float
    breslow_day_p: float
    tarone: float
    tarone_p: float
    k_pos: int
    yi: tuple[float, ...]
    vi: tuple[float, ...]
    labels: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """One tidy row: ``method, measure, estimate, se, statistic, p, ci_low, ci_high, q,
        q_df, q_p, i2, h2, k``."""
        return pd.DataFrame(
            [
                {
                    "method": self.method,
                    "measure": self.measure,
                    "estimate": self.estimate,
                    "se": self.se,
                    "statistic": self.statistic,
                    "p": self.p,
                    "ci_low": self.ci[0],
                    "ci_high": self.ci[1],
                    "q": self.q,
                    "q_df": self.q_df,
                    "q_p": self.q_p,
                    "i2": self.i2,
                    "h2": self.h2,
                    "k": self.k,
                }
            ]
        )

    tidy = to_frame

    def summary(self) -> Summary:
        """Text/HTML summary."""
        name = "Mantel-Haenszel" if self.method == "MH" else "Peto"
        table = self.to_frame()[["estimate", "se", "statistic", "p", "ci_low", "ci_high"]]
        notes = [
            f"k = {self.k} studies; measure {self.measure}"
            + (" (log scale)" if self.measure in ("OR", "RR", "IRR") else ""),
            f"Q = {self.q:.4g} on {self.q_df} df, p = {self.q_p:.3g}; I2 = {self.i2:.1f}%",
        ]
        if self.cmh == self.cmh:
            notes.append(f"CMH = {self.cmh:.4g}, p = {self.cmh_p:.3g}")
        if self.tarone == self.tarone:
            notes.append(f"Tarone = {self.tarone:.4g}, p = {self.tarone_p:.3g}")
        return Summary(f"Meta-analysis: {name}", table, tuple(notes))

    def __str__(self) -> str:
        return str(self.summary())

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()
