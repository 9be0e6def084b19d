"""Rubin's rules for estimates from m completed datasets, with Barnard-Rubin df.

For one scalar estimand with completed-data estimates Q_l and variances U_l (l = 1..m)::

    qbar   = mean(Q_l)                       pooled estimate
    ubar   = mean(U_l)                       within-imputation variance
    b      = var(Q_l)  (denominator m - 1)   between-imputation variance
    t      = ubar + (1 + 1/m) b              total variance
    riv    = (1 + 1/m) b / ubar              relative increase in variance
    lambda = (1 + 1/m) b / t                 proportion of variance due to missingness
    df_old = (m - 1) / lambda^2
    df_obs = (nu + 1) / (nu + 3) nu (1 - lambda)        nu: complete-data df
    df     = df_old df_obs / (df_old + df_obs)   (df_old when nu is infinite)
    fmi    = (riv + 2 / (df + 3)) / (riv + 1)   fraction of missing information

(Rubin 1987; Barnard & Rubin 1999, Biometrika 86:948.) This is what R's ``mice::pool`` and
``mice::pool.scalar`` compute, including mice's floor of lambda at 1e-4 inside the df, and it
is checked against them on committed fixtures (``tests/reference/mice_pool.R``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["RubinPooled", "rubin_pool"]

_LAMBDA_FLOOR = 1e-4  # mice::barnard.rubin keeps df finite when b = 0


@dataclass(frozen=True)
class RubinPooled:
    """Pooled estimates, one row per term (read-only frame ``table``).

    Columns: ``term, m, estimate, ubar, b, t, se, dfcom, df, riv, lambda, fmi, statistic,
    p, ci_low, ci_high`` (t quantiles with the Barnard-Rubin df at ``level``).
    """

    table: pd.DataFrame
    level: float

    def __getitem__(self, term: str) -> pd.Series:
        return self.table.set_index("term").loc[term]


def rubin_pool(
    estimates: np.ndarray | pd.DataFrame,
    variances: np.ndarray | pd.DataFrame,
    *,
    dfcom: float | np.ndarray = np.inf,
    terms: list[str] | None = None,
    level: float = 0.95,
) -> RubinPooled:
    """Pool an (m x p) array of estimates and their variances by Rubin's rules.

    Parameters
    ----------
    estimates, variances
        One row per completed dataset, one column per term (a Series or 1-D array is one
        term). DataFrames give the term names.
    dfcom
        Complete-data degrees of freedom per term (``inf`` for z-based inference, e.g.
        logistic models; n - p for a linear regression; for linear mixed models ipdma uses
        the mean Satterthwaite df over the completed datasets).
    level
        Confidence level of the intervals.

    Examples
    --------
    >>> pooled = rubin_pool(np.array([[1.0], [1.2], [0.9]]), np.array([[0.04], [0.05], [0.04]]))
    >>> round(float(pooled.table["estimate"][0]), 4)
    1.0333
    """
    if isinstance(estimates, pd.DataFrame):
        terms = list(estimates.columns) if terms is None else terms
    q = np.asarray(estimates, dtype=float)
    u = np.asarray(variances, dtype=float)
    if q.ndim == 1:
        q, u = q[:, None], u[:, None]
    if q.shape != u.shape:
        raise ValueError(f"estimates {q.shape} and variances {u.shape} differ in shape")
    m, p = q.shape
    if m < 2:
        raise ValueError("Rubin's rules need at least two completed datasets")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    terms = terms or [f"x{j}" for j in range(p)]
    nu = np.broadcast_to(np.asarray(dfcom, dtype=float), (p,)).copy()
    qbar = q.mean(axis=0)
    ubar = u.mean(axis=0)
    b = q.var(axis=0, ddof=1)
    t = ubar + (1 + 1 / m) * b
    with np.errstate(divide="ignore", invalid="ignore"):
        riv = (1 + 1 / m) * b / ubar
        lam = (1 + 1 / m) * b / t
        lam_df = np.maximum(lam, _LAMBDA_FLOOR)
        df_old = (m - 1) / lam_df**2
        df_obs = (nu + 1) / (nu + 3) * nu * (1 - lam_df)
        df = np.where(np.isinf(nu), df_old, df_old * df_obs / (df_old + df_obs))
        fmi = (riv + 2 / (df + 3)) / (riv + 1)
        se = np.sqrt(t)
        statistic = qbar / se
    p_value = 2 * stats.t.sf(np.abs(statistic), df)
    crit = stats.t.ppf(0.5 + level / 2, df)
    table = pd.DataFrame(
        {
            "term": terms,
            "m": m,
            "estimate": qbar,
            "ubar": ubar,
            "b": b,
            "t": t,
            "se": se,
            "dfcom": nu,
            "df": df,
            "riv": riv,
            "lambda": lam,
            "fmi": fmi,
            "statistic": statistic,
            "p": p_value,
            "ci_low": qbar - crit * se,
            "ci_high": qbar + crit * se,
        }
    )
    return RubinPooled(table=table, level=level)
