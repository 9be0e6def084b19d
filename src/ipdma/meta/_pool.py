"""Inverse-variance pooling of estimates with known variances (fixed and random effects)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from scipy import stats

from .._literals import TauMethod, validate
from ..errors import InputError, SpecError
from ._profile import profile_ci
from ._result import PoolResult
from ._tau2 import generalized_q, ones, q_profile_ci, tau2_estimate, tau2_se
from ._validate import as_labels, as_vector, check_level

__all__ = ["PiType", "pool"]

PiType = Literal["metafor", "riley"]


def _ratio(estimate: float, se: float) -> float:
    """``estimate / se``; with ``se = 0`` (identical studies under HKSJ) +-inf, or NaN for 0/0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(estimate) / np.float64(se))


def pool(
    yi: Sequence[float] | np.ndarray,
    vi: Sequence[float] | np.ndarray,
    *,
    method: TauMethod = "REML",
    hksj: bool = False,
    adhoc: bool = False,
    level: float = 0.95,
    labels: Sequence[Any] | None = None,
    pi_type: PiType = "metafor",
) -> PoolResult:
    """Pool study estimates ``yi`` with known sampling variances ``vi``.

    The random-effects model ``y_i = mu + u_i + e_i``, ``u_i ~ N(0, tau2)``,
    ``e_i ~ N(0, v_i)``; ``method="FE"`` fixes ``tau2 = 0`` (inverse-variance fixed effect).
    With ``w_i = 1 / (v_i + tau2)`` the estimate is ``mu = sum w_i y_i / sum w_i`` and
    ``se = (sum w_i)^(-1/2)`` (z-test, normal CI), matching metafor ``rma(yi, vi, method=)``.

    Parameters
    ----------
    yi, vi
        Study estimates and their sampling variances (> 0).
    method
        tau2 estimator: "FE" (none), "DL" (DerSimonian-Laird), "HE" (Hedges), "HS"
        (Hunter-Schmidt), "SJ" (Sidik-Jonkman), "REML", "ML", "EB" (empirical Bayes),
        "PM" (Paule-Mandel); see :mod:`ipdma.meta._tau2`.
    hksj
        Hartung-Knapp-Sidik-Jonkman: ``se^2 = sum w_i (y_i - mu)^2 / ((k - 1) sum w_i)`` and a
        t distribution with ``k - 1`` df (metafor ``test="knha"``).
    adhoc
        With ``hksj``: the ad hoc variant that never gives a smaller variance than the
        standard one, ``se^2 = max(1, q_w / (k - 1)) / sum w_i``: the modified
        Knapp-Hartung method (Knapp & Hartung 2003; Roever et al. 2015), Stata ``metan``'s
        ``truncate(one)``, metafor ``test="adhoc"``.
    level
        Confidence level of the CI, the prediction interval and the tau2 CI.
    labels
        Study labels (kept on the result for tables and forest plots).
    pi_type
        Prediction interval ``mu +- c * sqrt(se^2 + tau2)``: "metafor" (metafor's
        ``predict`` default: ``c`` from a t with ``k - 1`` df under HKSJ, normal otherwise)
        or "riley" (t with ``k - 2`` df, Riley et al. 2011; metafor ``pi.type="riley"``).

    Returns
    -------
    PoolResult
        ``estimate, se, ci, tau2, tau2_ci, i2, h2, q, q_p, pi`` and per-study weights.

    Notes
    -----
    Heterogeneity as metafor: ``Q = sum (y_i - mu_FE)^2 / v_i`` with ``k - 1`` df. For
    random-effects fits ``I2 = 100 tau2 / (tau2 + s2)`` and ``H2 = (tau2 + s2) / s2`` with the
    typical within-study variance ``s2 = (k - 1) sum(1/v) / ((sum 1/v)^2 - sum 1/v^2)``
    (Higgins & Thompson 2002); for ``method="FE"`` ``I2 = max(0, (Q - (k-1)) / Q)`` and
    ``H2 = Q / (k - 1)``. The tau2 CI is the Q-profile interval (metafor ``confint``); the
    I2 and H2 CIs are its transformations. ``tau2_se`` is metafor's ``se.tau2`` for the
    estimator; ``tau2_pl_ci`` the profile-likelihood CI (ML and REML fits only).
    ``result.blup()`` gives the BLUPs of the study effects.

    Examples
    --------
    >>> res = pool([-0.9, -1.6, -1.4, -0.2], [0.33, 0.19, 0.42, 0.02], method="REML")
    >>> round(res.estimate, 3)
    -0.914
    """
    method = validate(method, TauMethod, "method")
    validate(pi_type, PiType, "pi_type")
    level = check_level(level)
    if adhoc and not hksj:
        raise SpecError("adhoc=True needs hksj=True", hint="pass hksj=True, adhoc=True")
    y = as_vector(yi, "yi")
    v = as_vector(vi, "vi", positive=True)
    if y.size != v.size:
        raise InputError(
            f"yi has {y.size} values but vi has {v.size}",
            variable="vi",
            hint="pass one variance per estimate",
        )
    k = y.size
    if k == 0:
        raise InputError("no studies to pool", variable="yi", hint="pass at least one study")
    if hksj and k < 2:
        raise SpecError("hksj needs at least 2 studies", value=k, hint="use hksj=False")
    names = as_labels(labels, k)

    tau2 = tau2_estimate(y, v, method)
    w = 1.0 / (v + tau2)
    sw = float(np.sum(w))
    mu = float(np.sum(w * y) / sw)
    q_fixed = generalized_q(0.0, y, v)
    q_df = k - 1

    if hksj:
        s2w = float(np.sum(w * (y - mu) ** 2) / (k - 1))
        if adhoc:
            s2w = max(1.0, s2w)
        se = float(np.sqrt(s2w / sw))
        df = float(k - 1)
        crit = float(stats.t.ppf(0.5 + level / 2.0, df))
        statistic = _ratio(mu, se)
        p = float(2.0 * stats.t.sf(abs(statistic), df))
    else:
        se = float(np.sqrt(1.0 / sw))
        df = float("inf")
        crit = float(stats.norm.ppf(0.5 + level / 2.0))
        statistic = _ratio(mu, se)
        p = float(2.0 * stats.norm.sf(abs(statistic)))

    pi_df = float(max(k - 2, 1)) if pi_type == "riley" else df
    pi_crit = crit if pi_df == df else float(stats.t.ppf(0.5 + level / 2.0, pi_df))
    pi_half = pi_crit * float(np.sqrt(se**2 + tau2))

    w_fixed = 1.0 / v
    if k > 1:
        s2 = float(q_df * np.sum(w_fixed) / (np.sum(w_fixed) ** 2 - np.sum(w_fixed**2)))
        q_p = float(stats.chi2.sf(q_fixed, q_df))
    else:
        s2 = float("nan")
        q_p = float("nan")
    tau2_pl_ci = (float("nan"), float("nan"))
    if method == "FE":
        i2 = max(0.0, 100.0 * (q_fixed - q_df) / q_fixed) if q_fixed > 0 else 0.0
        h2 = q_fixed / q_df if k > 1 else float("nan")
        tau2_ci = (float("nan"), float("nan"))
        i2_ci = h2_ci = (float("nan"), float("nan"))
    else:
        i2 = float(100.0 * tau2 / (tau2 + s2))
        h2 = float((tau2 + s2) / s2)
        tau2_ci = q_profile_ci(y, v, level)
        if method in ("ML", "REML") and k > 1:
            tau2_pl_ci = profile_ci(y, v, ones(k), tau2, level, reml=method == "REML")
        low, high = tau2_ci
        i2_ci = (float(100.0 * low / (low + s2)), float(100.0 * high / (high + s2)))
        h2_ci = (float((low + s2) / s2), float((high + s2) / s2))

    return PoolResult(
        method=method,
        test="adhoc" if adhoc else ("knha" if hksj else "z"),
        level=level,
        k=k,
        estimate=mu,
        se=se,
        statistic=float(statistic),
        df=df,
        p=p,
        ci=(mu - crit * se, mu + crit * se),
        tau2=float(tau2),
        tau2_ci=(float(tau2_ci[0]), float(tau2_ci[1])),
        i2=float(i2),
        i2_ci=(float(i2_ci[0]), float(i2_ci[1])),
        h2=float(h2),
        h2_ci=(float(h2_ci[0]), float(h2_ci[1])),
        q=float(q_fixed),
        q_df=q_df,
        q_p=q_p,
        pi=(mu - pi_half, mu + pi_half),
        pi_type=pi_type,
        pi_df=pi_df,
        yi=tuple(float(x) for x in y),
        vi=tuple(float(x) for x in v),
        labels=names,
        weights=tuple(float(x) for x in 100.0 * w / sw),
        tau2_se=tau2_se(y, v, method, tau2) if k > 1 else float("nan"),
        tau2_pl_ci=(float(tau2_pl_ci[0]), float(tau2_pl_ci[1])),
    )
