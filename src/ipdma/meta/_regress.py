"""Meta-regression: ``y_i = x_i'beta + u_i + e_i`` with known ``v_i`` (metafor ``rma(mods=)``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._literals import MetaTest, TauMethod, validate
from ..errors import InputError
from ._design import moderator_matrix
from ._profile import loglik, profile_ci
from ._regress_result import RegressionResult
from ._tau2 import projection, q_profile_ci, tau2_estimate, tau2_se
from ._validate import as_labels, as_vector, check_level

__all__ = ["regress"]


def regress(
    yi: Sequence[float] | np.ndarray,
    vi: Sequence[float] | np.ndarray,
    mods: str | pd.DataFrame | np.ndarray | Sequence[float] | None = None,
    *,
    data: pd.DataFrame | None = None,
    method: TauMethod = "REML",
    test: MetaTest = "z",
    intercept: bool = True,
    level: float = 0.95,
    labels: Sequence[Any] | None = None,
) -> RegressionResult:
    """Mixed-effects meta-regression of estimates ``yi`` (variances ``vi``) on moderators.

    Model ``y = X beta + u + e``, ``u ~ N(0, tau2 I)``, ``e ~ N(0, diag(v))``. tau2 is
    estimated by ``method`` (FE, DL, HE, HS, SJ, ML, REML, EB, PM; see
    :mod:`ipdma.meta._tau2`) from the residual heterogeneity; then with
    ``W = diag(1 / (v + tau2))``: ``beta = (X'W X)^-1 X'W y``, ``vcov = (X'W X)^-1``.
    Matches metafor ``rma(yi, vi, mods=, method=, test=)``.

    Parameters
    ----------
    yi, vi
        Study estimates and their sampling variances (> 0).
    mods
        Moderators: a right-hand-side formula evaluated on ``data`` (``"~ latitude + year"``;
        ``C(x)`` or string columns are factors, treatment-coded), a DataFrame or array of
        moderator columns, or None (intercept only). An intercept is added unless the
        formula has ``0 +`` or ``intercept=False``.
    test
        ``"z"``: Wald z-tests and an omnibus chi-square QM. ``"knha"``: Knapp-Hartung,
        ``vcov * s2`` with ``s2 = y'P y / (k - p)``, t-tests on ``k - p`` df and QM as an F
        statistic on ``(m, k - p)`` df. ``"adhoc"``: the modified Knapp-Hartung that never
        shrinks the variance (``s2 = max(1, s2)``; Knapp & Hartung 2003, Roever et al.
        2015; Stata ``metan ..., truncate(one)``; metafor ``test="adhoc"``).

    Returns
    -------
    RegressionResult
        Coefficients with SEs, tests and CIs; QM (moderators, all coefficients but the
        intercept), QE (residual heterogeneity, ``y'P y`` at ``tau2 = 0`` on ``k - p`` df),
        residual tau2 with its SE and CIs, I2, H2 and R2 (percentage of tau2 accounted for:
        ``max(0, 100 (tau2_0 - tau2) / tau2_0)`` with ``tau2_0`` from the intercept-only fit
        by the same method).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": [-0.9, -1.6, -1.4, -0.2, 0.1], "v": [0.3, 0.2, 0.4, 0.02, 0.05],
    ...                    "lat": [44, 55, 42, 52, 13]})
    >>> fit = regress(df.y, df.v, "~ lat", data=df, method="REML")
    >>> fit.terms
    ('Intercept', 'lat')
    """
    method = validate(method, TauMethod, "method")  # type: ignore[assignment]
    test = validate(test, MetaTest, "test")  # type: ignore[assignment]
    level = check_level(level)
    y = as_vector(yi, "yi")
    v = as_vector(vi, "vi", positive=True)
    if y.size != v.size:
        raise InputError(
            f"yi has {y.size} values but vi has {v.size}",
            variable="vi",
            hint="pass one variance per estimate",
        )
    x, terms = moderator_matrix(mods, data, y.size, intercept=intercept)
    return fit_regression(y, v, x, terms, method, test, level, as_labels(labels, y.size))


def fit_regression(
    y: np.ndarray,
    v: np.ndarray,
    x: np.ndarray,
    terms: tuple[str, ...],
    method: str,
    test: str,
    level: float,
    labels: tuple[str, ...],
) -> RegressionResult:
    """The fit behind :func:`regress` on a validated, full-rank design ``x``."""
    k, p = x.shape
    if k <= p:
        raise InputError(
            f"{k} studies cannot estimate {p} coefficients",
            variable="mods",
            value=k,
            hint="use fewer moderators or more studies",
        )
    tau2 = tau2_estimate(y, v, method, x)
    w = 1.0 / (v + tau2)
    xtwx = x.T @ (x * w[:, None])
    vcov = np.linalg.inv(xtwx)
    beta = vcov @ (x.T @ (w * y))
    rss = float(np.sum(w * (y - x @ beta) ** 2))
    s2w = 1.0
    if test != "z":
        s2w = rss / (k - p) if rss > np.finfo(float).eps else 0.0
        if test == "adhoc":
            s2w = max(1.0, s2w)
    vcov = s2w * vcov
    se = np.sqrt(np.diag(vcov))
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = beta / se
    has_intercept = terms[0] == "Intercept"
    tested = list(range(1, p)) if (has_intercept and p > 1) else list(range(p))
    sub = vcov[np.ix_(tested, tested)]
    try:  # Knapp-Hartung with identical fits (s2 = 0) leaves no covariance: QM undefined
        qm = float(beta[tested] @ np.linalg.solve(sub, beta[tested]))
    except np.linalg.LinAlgError:
        qm = float("nan")
    m = len(tested)
    if test == "z":
        df = float("inf")
        crit = float(stats.norm.ppf(0.5 + level / 2))
        p_values = 2 * stats.norm.sf(np.abs(statistic))
        qm_df: tuple[float, float] = (float(m), float("nan"))
        qm_p = float(stats.chi2.sf(qm, m))
    else:
        df = float(k - p)
        crit = float(stats.t.ppf(0.5 + level / 2, df))
        p_values = 2 * stats.t.sf(np.abs(statistic), df)
        qm = qm / m
        qm_df = (float(m), df)
        qm_p = float(stats.f.sf(qm, m, df))

    p_fe = projection(1.0 / v, x)
    qe = max(0.0, float(y @ p_fe @ y))
    typical = (k - p) / float(np.trace(p_fe))
    if method == "FE":
        i2 = max(0.0, 100.0 * (qe - (k - p)) / qe) if qe > 0 else 0.0
        h2 = qe / (k - p)
    else:
        i2 = 100.0 * tau2 / (typical + tau2)
        h2 = tau2 / typical + 1.0

    r2 = float("nan")
    if has_intercept and p > 1:
        r2 = _r2(y, v, x, method, tau2)
    nan2 = (float("nan"), float("nan"))
    qp_ci = q_profile_ci(y, v, level, x) if method != "FE" else nan2
    pl_ci = (
        profile_ci(y, v, x, tau2, level, reml=method == "REML")
        if method in ("ML", "REML")
        else nan2
    )
    return RegressionResult(
        method=method,
        test=test,
        level=level,
        k=k,
        terms=terms,
        estimate=tuple(beta.tolist()),
        se=tuple(se.tolist()),
        statistic=tuple(np.asarray(statistic, dtype=float).tolist()),
        p=tuple(np.asarray(p_values, dtype=float).tolist()),
        ci_low=tuple((beta - crit * se).tolist()),
        ci_high=tuple((beta + crit * se).tolist()),
        vcov=tuple(tuple(row) for row in vcov.tolist()),
        df=df,
        s2w=s2w,
        tau2=float(tau2),
        tau2_se=tau2_se(y, v, method, tau2, x),
        tau2_ci=qp_ci,
        tau2_pl_ci=pl_ci,
        i2=float(i2),
        i2_ci=tuple(100.0 * t / (typical + t) for t in qp_ci),  # type: ignore[arg-type]
        h2=float(h2),
        r2=r2,
        qm=qm,
        qm_df=qm_df,
        qm_p=qm_p,
        qe=qe,
        qe_df=k - p,
        qe_p=float(stats.chi2.sf(qe, k - p)),
        loglik_ml=loglik(tau2, y, v, x, reml=False),
        loglik_reml=loglik(tau2, y, v, x, reml=True),
        yi=tuple(y.tolist()),
        vi=tuple(v.tolist()),
        design=tuple(tuple(row) for row in x.tolist()),
        labels=labels,
    )


def _r2(y: np.ndarray, v: np.ndarray, x: np.ndarray, method: str, tau2: float) -> float:
    """Pseudo R2 in percent (metafor): the proportional reduction of tau2 from the
    intercept-only model, or for FE the adjusted R2 of the weighted least-squares fit."""
    k, p = x.shape
    if method != "FE":
        tau2_null = tau2_estimate(y, v, method, x[:, :1])
        return 0.0 if tau2_null == 0 else max(0.0, 100.0 * (tau2_null - tau2) / tau2_null)
    w = 1.0 / v
    total = float(np.sum(w * (y - np.sum(w * y) / np.sum(w)) ** 2))
    if total == 0:
        return 0.0
    residual = float(y @ projection(w, x) @ y)
    adjusted = 1.0 - (residual / total) * (k - 1) / (k - p)
    return max(0.0, 100.0 * adjusted)
