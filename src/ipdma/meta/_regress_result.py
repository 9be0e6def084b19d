"""The immutable result of :func:`ipdma.meta.regress` (and the BLUPs shared with pool)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ._summary import Summary

__all__ = ["RegressionResult", "blups"]


def blups(
    yi: np.ndarray,
    vi: np.ndarray,
    fitted: np.ndarray,
    fitted_var: np.ndarray,
    tau2: float,
    crit: float,
    labels: tuple[str, ...],
) -> pd.DataFrame:
    """Best linear unbiased predictions of the study effects ``x_i'beta + u_i``.

    ``lambda_i = tau2 / (tau2 + v_i)``; ``pred_i = lambda_i y_i + (1 - lambda_i) x_i'beta``;
    ``var_i = lambda_i v_i + (1 - lambda_i)^2 x_i' Var(beta) x_i`` (Raudenbush & Bryk 1985;
    metafor ``blup.rma.uni``); interval ``pred +- crit * se``.
    """
    shrink = tau2 / (tau2 + vi)
    pred = shrink * yi + (1 - shrink) * fitted
    se = np.sqrt(shrink * vi + (1 - shrink) ** 2 * fitted_var)
    return pd.DataFrame(
        {
            "label": list(labels),
            "estimate": pred,
            "se": se,
            "pi_low": pred - crit * se,
            "pi_high": pred + crit * se,
        }
    )


@dataclass(frozen=True)
class RegressionResult:
    """A meta-regression fit (see :func:`ipdma.meta.regress`); per-coefficient tuples follow
    ``terms``. ``df`` is ``inf`` for z-tests; ``qm_df`` is ``(m, inf-as-nan | k - p)``;
    ``tau2_ci`` is the Q-profile CI, ``tau2_pl_ci`` the profile-likelihood CI (ML/REML only);
    ``r2`` is NaN without an intercept or moderators, and for FE."""

    method: str
    test: str
    level: float
    k: int
    terms: tuple[str, ...]
    estimate: tuple[float, ...]
    se: tuple[float, ...]
    statistic: tuple[float, ...]
    p: tuple[float, ...]
    ci_low: tuple[float, ...]
    ci_high: tuple[float, ...]
    vcov: tuple[tuple[float, ...], ...]
    df: float
    s2w: float
    tau2: float
    tau2_se: float
    tau2_ci: tuple[float, float]
    tau2_pl_ci: tuple[float, float]
    i2: float
    i2_ci: tuple[float, float]
    h2: float
    r2: float
    qm: float
    qm_df: tuple[float, float]
    qm_p: float
    qe: float
    qe_df: int
    qe_p: float
    loglik_ml: float
    loglik_reml: float
    yi: tuple[float, ...]
    vi: tuple[float, ...]
    design: tuple[tuple[float, ...], ...]
    labels: tuple[str, ...]

    @property
    def n_coef(self) -> int:
        """Number of coefficients ``p``."""
        return len(self.terms)

    def to_frame(self) -> pd.DataFrame:
        """Tidy coefficients: ``term, estimate, se, statistic, df, p, ci_low, ci_high``."""
        return pd.DataFrame(
            {
                "term": list(self.terms),
                "estimate": list(self.estimate),
                "se": list(self.se),
                "statistic": list(self.statistic),
                "df": self.df,
                "p": list(self.p),
                "ci_low": list(self.ci_low),
                "ci_high": list(self.ci_high),
            }
        )

    tidy = to_frame

    def _crit(self) -> float:
        if np.isinf(self.df):
            return float(stats.norm.ppf(0.5 + self.level / 2))
        return float(stats.t.ppf(0.5 + self.level / 2, self.df))

    def blup(self) -> pd.DataFrame:
        """BLUPs of the study effects (``label, estimate, se, pi_low, pi_high``)."""
        x = np.asarray(self.design)
        vcov = np.asarray(self.vcov)
        fitted = x @ np.asarray(self.estimate)
        fitted_var = np.einsum("ij,jk,ik->i", x, vcov, x)
        return blups(
            np.asarray(self.yi),
            np.asarray(self.vi),
            fitted,
            fitted_var,
            self.tau2,
            self._crit(),
            self.labels,
        )

    def summary(self) -> Summary:
        """Text/HTML summary: coefficients, then QM, QE, tau2 and R2."""
        table = self.to_frame().drop(columns="df")
        kind = "z" if self.test == "z" else f"t (df = {self.df:g})"
        if self.test == "z":
            qm = f"QM = {self.qm:.4g} on {self.qm_df[0]:g} df, p = {self.qm_p:.3g}"
        else:
            qm = f"F = {self.qm:.4g} on ({self.qm_df[0]:g}, {self.qm_df[1]:g}) df, p = {self.qm_p:.3g}"
        notes = (
            f"k = {self.k}; tau2 estimator {self.method}; {kind} tests",
            f"residual tau2 = {self.tau2:.4g} (SE {self.tau2_se:.3g}); I2 = {self.i2:.1f}%;"
            f" R2 = {self.r2:.1f}%",
            f"test of moderators: {qm}",
            f"residual heterogeneity: QE = {self.qe:.4g} on {self.qe_df} df, p = {self.qe_p:.3g}",
        )
        return Summary("Meta-regression", table, notes)

    def __str__(self) -> str:
        return str(self.summary())

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()
