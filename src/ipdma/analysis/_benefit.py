"""Calibration of predicted benefit in a left-out trial (internal-external cross-validation,
:func:`ipdma.analysis.iecv`): the calibration slope for benefit of a continuous outcome, the
c-for-benefit (van Klaveren et al. 2018, J Clin Epidemiol 94:59), and the observed vs
predicted effect in groups of predicted effect (the calibration plot). The logistic
counterparts are in :mod:`ipdma.analysis._predict_logistic`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ._predict_logistic import group_log_odds_ratio

__all__ = ["calibration_groups"]


def _calibration_slope(y, base, treat, predicted) -> tuple[float, float]:
    x = np.column_stack([np.ones_like(y), base, predicted, treat, treat * predicted])
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ coef
    s2 = float(resid @ resid) / (len(y) - x.shape[1])
    cov = s2 * np.linalg.pinv(x.T @ x)
    return float(coef[4]), float(np.sqrt(cov[4, 4]))


def _c_for_benefit(y, treat, predicted) -> float:
    """Pairs matched on the rank of predicted effect; concordance of pair predicted vs
    observed effects (ties in observed effect skipped, ties in prediction count 1/2)."""
    treated = np.flatnonzero(treat == 1)
    control = np.flatnonzero(treat == 0)
    m = min(len(treated), len(control))
    treated = treated[np.argsort(predicted[treated], kind="stable")]
    control = control[np.argsort(predicted[control], kind="stable")]
    # take m evenly spread units of the larger arm so both sides span the prediction range
    treated = treated[np.linspace(0, len(treated) - 1, m).round().astype(int)]
    control = control[np.linspace(0, len(control) - 1, m).round().astype(int)]
    pred = (predicted[treated] + predicted[control]) / 2
    observed = y[treated] - y[control]
    dp = pred[:, None] - pred[None, :]
    do = observed[:, None] - observed[None, :]
    upper = np.triu(np.ones((m, m), dtype=bool), 1) & (do != 0)
    concordant = ((np.sign(dp) == np.sign(do)) & (dp != 0) & upper).sum()
    tied = ((dp == 0) & upper).sum()
    if not upper.any():  # every pair has the same observed benefit
        return float("nan")
    return float((concordant + 0.5 * tied) / upper.sum())


def calibration_groups(
    y: np.ndarray,
    base: np.ndarray,
    treat: np.ndarray,
    trial: np.ndarray,
    predicted: np.ndarray,
    n_groups: int = 5,
    family: str = "gaussian",
) -> pd.DataFrame:
    """Observed vs mean predicted effect in groups of predicted effect (see
    :class:`BenefitCalibration`); a group where the effect is not estimable gets NaN."""
    edges = np.quantile(predicted, np.linspace(0, 1, n_groups + 1))
    group = np.clip(np.searchsorted(edges, predicted, side="right") - 1, 0, n_groups - 1)
    q = stats.norm.ppf(0.975)
    rows = []
    for g in range(n_groups):
        chosen = group == g
        estimate = se = np.nan
        n = int(chosen.sum())
        if family == "binomial":
            estimate, se = group_log_odds_ratio(y[chosen], base[chosen], treat[chosen],
                                                trial[chosen])  # fmt: skip
            mean = float(predicted[chosen].mean()) if n else np.nan
            rows.append((g + 1, n, mean, estimate, se, estimate - q * se, estimate + q * se))
            continue
        levels, codes = np.unique(trial[chosen], return_inverse=True)
        dummies = np.eye(len(levels))[codes]
        x = np.column_stack([dummies, base[chosen], treat[chosen]])
        if n > x.shape[1] + 2 and np.linalg.matrix_rank(x) == x.shape[1]:
            coef, *_ = np.linalg.lstsq(x, y[chosen], rcond=None)
            resid = y[chosen] - x @ coef
            s2 = float(resid @ resid) / (n - x.shape[1])
            estimate = float(coef[-1])
            se = float(np.sqrt(s2 * np.linalg.inv(x.T @ x)[-1, -1]))
        mean = float(predicted[chosen].mean()) if n else np.nan
        rows.append((g + 1, n, mean, estimate, se, estimate - q * se, estimate + q * se))
    columns = ["group", "n", "predicted", "observed", "observed_se", "ci_low", "ci_high"]
    return pd.DataFrame(rows, columns=columns)
