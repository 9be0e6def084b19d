"""The immutable result of :func:`ipdma.meta.pool`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ._regress_result import blups
from ._summary import Summary

__all__ = ["PoolResult"]


@dataclass(frozen=True)
class PoolResult:
    """A pooled estimate with its heterogeneity statistics (see :func:`ipdma.meta.pool`).

    ``ci``, ``pi``, ``tau2_ci``, ``i2_ci`` and ``h2_ci`` are ``(low, high)`` tuples; ``df`` is
    ``inf`` for z-based inference; ``weights`` are percentages summing to 100; ``i2`` is in
    percent. ``yi``, ``vi`` and ``labels`` keep the input studies in order.
    """

    method: str
    test: str
    level: float
    k: int
    estimate: float
    se: float
    statistic: float
    df: float
    p: float
    ci: tuple[float, float]
    tau2: float
    tau2_ci: tuple[float, float]
    i2: float
    i2_ci: tuple[float, float]
    h2: float
    h2_ci: tuple[float, float]
    q: float
    q_df: int
    q_p: float
    pi: tuple[float, float]
    pi_type: str
    pi_df: float
    yi: tuple[float, ...]
    vi: tuple[float, ...]
    labels: tuple[str, ...]
    weights: tuple[float, ...]
    tau2_se: float = float("nan")
    tau2_pl_ci: tuple[float, float] = (float("nan"), float("nan"))

    @property
    def tau(self) -> float:
        """Between-study standard deviation ``sqrt(tau2)``."""
        return float(np.sqrt(self.tau2))

    @property
    def model(self) -> str:
        """ "fixed effect" or "random effects (METHOD)"."""
        return "fixed effect" if self.method == "FE" else f"random effects ({self.method})"

    def to_frame(self) -> pd.DataFrame:
        """One tidy row: ``estimate, se, statistic, df, p, ci_low, ci_high, pi_low, pi_high,
        tau2, tau2_ci_low, tau2_ci_high, i2, h2, q, q_df, q_p, k, method, test``."""
        row = {
            "estimate": self.estimate,
            "se": self.se,
            "statistic": self.statistic,
            "df": self.df,
            "p": self.p,
            "ci_low": self.ci[0],
            "ci_high": self.ci[1],
            "pi_low": self.pi[0],
            "pi_high": self.pi[1],
            "tau2": self.tau2,
            "tau2_ci_low": self.tau2_ci[0],
            "tau2_ci_high": self.tau2_ci[1],
            "i2": self.i2,
            "h2": self.h2,
            "q": self.q,
            "q_df": self.q_df,
            "q_p": self.q_p,
            "k": self.k,
            "method": self.method,
            "test": self.test,
        }
        return pd.DataFrame([row])

    tidy = to_frame

    def studies(self) -> pd.DataFrame:
        """Per-study rows: ``label, estimate, se, ci_low, ci_high, weight`` (normal CIs)."""
        y = np.asarray(self.yi)
        se = np.sqrt(np.asarray(self.vi))
        z = float(stats.norm.ppf(0.5 + self.level / 2.0))
        return pd.DataFrame(
            {
                "label": list(self.labels),
                "estimate": y,
                "se": se,
                "ci_low": y - z * se,
                "ci_high": y + z * se,
                "weight": list(self.weights),
            }
        )

    def blup(self) -> pd.DataFrame:
        """BLUPs of the study effects ``mu + u_i`` (metafor ``blup``): ``label, estimate, se,
        pi_low, pi_high``; see :func:`ipdma.meta._regress_result.blups`."""
        crit = (
            float(stats.norm.ppf(0.5 + self.level / 2.0))
            if np.isinf(self.df)
            else float(stats.t.ppf(0.5 + self.level / 2.0, self.df))
        )
        k = len(self.yi)
        return blups(
            np.asarray(self.yi),
            np.asarray(self.vi),
            np.full(k, self.estimate),
            np.full(k, self.se**2),
            self.tau2,
            crit,
            self.labels,
        )

    def heterogeneity_text(self) -> str:
        """One line as printed under a forest plot: tau2, I2, Q, df and p."""
        p = "< 0.001" if self.q_p < 0.001 else f"= {self.q_p:.3f}"
        text = f"Q = {self.q:.2f}, df = {self.q_df}, p {p}; I\u00b2 = {self.i2:.0f}%"
        if self.method != "FE":
            text = f"\u03c4\u00b2 = {self.tau2:.3g}; " + text
        return "Heterogeneity: " + text

    def summary(self) -> Summary:
        """Text/HTML summary: the pooled row, then heterogeneity."""
        pct = f"{100 * self.level:g}%"
        table = pd.DataFrame(
            {
                "estimate": [self.estimate],
                "se": [self.se],
                f"{pct} CI": [f"{self.ci[0]:.4g}, {self.ci[1]:.4g}"],
                "p": [self.p],
                f"{pct} PI": [f"{self.pi[0]:.4g}, {self.pi[1]:.4g}"],
            }
        )
        test = {"z": "z-test", "knha": "Hartung-Knapp (t, df = k - 1)", "adhoc": "ad hoc HK"}
        notes = (
            f"k = {self.k} studies; {self.model}; {test[self.test]}",
            f"tau2 = {self.tau2:.4g} ({pct} CI {self.tau2_ci[0]:.4g}, {self.tau2_ci[1]:.4g});"
            f" I2 = {self.i2:.1f}%; H2 = {self.h2:.3g}",
            f"Q = {self.q:.4g} on {self.q_df} df, p = {self.q_p:.3g}",
        )
        return Summary(f"Meta-analysis: {self.model}", table, notes)

    def __str__(self) -> str:
        return str(self.summary())

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()
