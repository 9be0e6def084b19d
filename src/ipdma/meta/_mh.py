"""Mantel-Haenszel and Peto pooling of 2x2 tables and rates (metafor ``rma.mh``, ``rma.peto``;
RevMan's default fixed-effect methods for dichotomous outcomes).

Per study ``a, b, c, d`` (events / non-events in groups 1 and 2), ``n1, n2``, ``N = n1 + n2``:

- OR: ``R = sum a d / N``, ``S = sum b c / N``, ``OR_MH = R / S``; variance of ``log OR_MH``
  by Robins, Breslow & Greenland (1986):
  ``1/2 [sum P R_i / R^2 + sum (P S_i + Q R_i) / (R S) + sum Q S_i / S^2]`` with
  ``P = (a + d)/N``, ``Q = (b + c)/N``. Cochran-Mantel-Haenszel test (with / without the
  continuity correction; Cochran's version with N in place of N - 1), Breslow-Day and Tarone tests of homogeneity.
- RR: ``sum a n2 / N / sum c n1 / N``; Greenland & Robins (1985) variance
  ``sum (n1 n2 (a + c) / N^2 - a c / N) / (R S)``.
- RD: ``sum (a n2 - c n1) / N / sum n1 n2 / N`` with the Sato, Greenland & Robins (1989)
  variance; IRR: ``sum x1 t2 / T / sum x2 t1 / T`` with its variance and MH test.
- Peto: ``log OR = sum (a - E) / sum V`` (E and V hypergeometric), ``se = (sum V)^(-1/2)``,
  ``Q = sum (a - E)^2 / V - (sum (a - E))^2 / sum V``.

Heterogeneity for MH (as metafor): ``Q = sum (y_i - est)^2 / v_i`` with ``y_i, v_i`` from
``escalc`` (1/2 added to tables with a zero cell, double-zero tables dropped), on ``k_yi - 1``
df; ``I2 = max(0, (Q - df) / Q)``, ``H2 = Q / df``. The pooled estimate uses the raw tables.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from scipy import stats

from .._literals import validate
from ..errors import InputError
from ._escalc_counts import _rates, escalc, table_cells
from ._mh_result import MantelHaenszelResult
from ._validate import as_labels, check_level

__all__ = ["mantel_haenszel", "peto"]

MHMeasure = Literal["OR", "RR", "RD", "IRR"]
_NAN = float("nan")


def _heterogeneity(yi: np.ndarray, vi: np.ndarray, estimate: float) -> tuple[float, int, float]:
    keep = np.isfinite(yi) & np.isfinite(vi)
    k_yi = int(keep.sum())
    if k_yi <= 1:
        return 0.0, k_yi, 1.0
    q = max(0.0, float(np.sum((yi[keep] - estimate) ** 2 / vi[keep])))
    return q, k_yi, float(stats.chi2.sf(q, k_yi - 1))


def _odds_ratio(a, b, c, d, correct: bool) -> dict[str, float]:
    n1, n2 = a + b, c + d
    total = n1 + n2
    p_, q_ = (a + d) / total, (b + c) / total
    r_i, s_i = a * d / total, b * c / total
    r, s = float(r_i.sum()), float(s_i.sum())
    out = {"estimate": _NAN, "se": _NAN}
    if r > 0 and s > 0:
        out["estimate"] = float(np.log(r / s))
        out["se"] = float(
            np.sqrt(
                0.5
                * (
                    np.sum(p_ * r_i) / r**2
                    + np.sum(p_ * s_i + q_ * r_i) / (r * s)
                    + np.sum(q_ * s_i) / s**2
                )
            )
        )
    events, non_events = a + c, b + d
    cc = 0.5 if correct else 0.0
    if events.sum() > 0 and non_events.sum() > 0:
        numer = (abs(float(np.sum(a - n1 / total * events))) - cc) ** 2
        base = (n1 / total) * (n2 / total) * events
        out["cochran"] = numer / float(np.sum(base * non_events / total))
        out["cmh"] = numer / float(np.sum(base * non_events / (total - 1)))
    if np.isfinite(out["estimate"]):
        psi = r / s
        if psi == 1:
            n11 = n1 / total * events
        else:
            big_a = psi * (n1 + events) + (n2 - events)
            big_b = np.sqrt(big_a**2 - 4 * n1 * events * psi * (psi - 1))
            n11 = (big_a - big_b) / (2 * (psi - 1))
        pos = (n11 > 0) & (events > 0) & (non_events > 0)
        n11 = n11[pos]
        inv = 1 / n11 + 1 / (n1[pos] - n11) + 1 / (events[pos] - n11)
        inv = inv + 1 / (n11 - n1[pos] - events[pos] + total[pos])
        dev = a[pos] - n11
        bd = max(0.0, float(np.sum(dev**2 * inv)))
        out["breslow_day"] = bd
        out["tarone"] = max(0.0, bd - float(np.sum(dev)) ** 2 / float(np.sum(1 / inv)))
        out["k_pos"] = float(pos.sum())
    return out


def mantel_haenszel(
    measure: MHMeasure = "OR",
    *,
    ai: Any = None,
    bi: Any = None,
    ci: Any = None,
    di: Any = None,
    n1i: Any = None,
    n2i: Any = None,
    x1i: Any = None,
    t1i: Any = None,
    x2i: Any = None,
    t2i: Any = None,
    correct: bool = True,
    level: float = 0.95,
    labels: Any = None,
) -> MantelHaenszelResult:
    """Mantel-Haenszel fixed-effect pooling (metafor ``rma.mh``); see the module docstring.

    ``measure`` is "OR", "RR", "RD" (2x2 tables: ``ai, ci`` with ``bi, di`` or ``n1i, n2i``)
    or "IRR" (``x1i, t1i, x2i, t2i``). ``correct`` applies the continuity correction to the
    CMH test. OR, RR and IRR are on the log scale.
    """
    validate(measure, MHMeasure, "measure")
    level = check_level(level)
    extra: dict[str, float] = {}
    if measure == "IRR":
        x1, t1, x2, t2 = _rates(x1i, t1i, x2i, t2i).T
        total = t1 + t2
        r, s = float(np.sum(x1 * t2 / total)), float(np.sum(x2 * t1 / total))
        estimate = float(np.log(r / s)) if r > 0 and s > 0 else _NAN
        se = (
            float(np.sqrt(np.sum(t1 / total * t2 / total * (x1 + x2)) / (r * s))) if r * s else _NAN
        )
        events = x1 + x2
        if events.sum() > 0:
            cc = 0.5 if correct else 0.0
            extra["cmh"] = (abs(float(np.sum(x1 - events * t1 / total))) - cc) ** 2 / float(
                np.sum(events * t1 / total * t2 / total)
            )
        es = escalc("IRR", x1i=x1, t1i=t1, x2i=x2, t2i=t2, drop00=True)
        k = x1.size
    else:
        a, b, c, d = (v.astype(float) for v in table_cells(ai, bi, ci, di, n1i, n2i))
        n1, n2 = a + b, c + d
        total = n1 + n2
        k = a.size
        if measure == "OR":
            extra = _odds_ratio(a, b, c, d, correct)
            estimate, se = extra.pop("estimate"), extra.pop("se")
        elif measure == "RR":
            r, s = float(np.sum(a * n2 / total)), float(np.sum(c * n1 / total))
            ok = a.sum() > 0 and c.sum() > 0
            estimate = float(np.log(r / s)) if ok else _NAN
            var = np.sum(n1 / total * (n2 / total) * (a + c) - a / total * c) / (r * s)
            se = float(np.sqrt(var)) if ok else _NAN
        else:
            denom = float(np.sum(n1 * n2 / total))
            estimate = float(np.sum(a * n2 / total - c * n1 / total)) / denom
            part1 = np.sum(
                c * (n1 / total) ** 2
                - a * (n2 / total) ** 2
                + n1 / total * (n2 / total) * (n2 - n1) / 2
            )
            part2 = np.sum(a * (n2 - c) / total + c * (n1 - a) / total) / 2
            se = float(np.sqrt((estimate * part1 + part2) / denom**2))
        es = escalc(measure, ai=a, bi=b, ci=c, di=d, drop00=True)
    if not np.isfinite(estimate):
        raise InputError(
            f"the Mantel-Haenszel {measure} is undefined: no events in one group of every study",
            variable="ai" if measure != "IRR" else "x1i",
            hint="use the risk difference (measure='RD') or check the event counts",
        )
    yi, vi = np.asarray(es.yi), np.asarray(es.vi)
    q, k_yi, q_p = _heterogeneity(yi, vi, estimate)
    return _result("MH", measure, estimate, se, level, k, k_yi, q, q_p, yi, vi, labels, extra)


def peto(
    *,
    ai: Any = None,
    bi: Any = None,
    ci: Any = None,
    di: Any = None,
    n1i: Any = None,
    n2i: Any = None,
    level: float = 0.95,
    labels: Any = None,
) -> MantelHaenszelResult:
    """Peto's one-step log odds ratio (metafor ``rma.peto``); see the module docstring."""
    level = check_level(level)
    a, b, c, d = (v.astype(float) for v in table_cells(ai, bi, ci, di, n1i, n2i))
    n1, n2 = a + b, c + d
    total = n1 + n2
    events, non_events = a + c, b + d
    expected = events * n1 / total
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = events * non_events * (n1 / total) * (n2 / total) / (total - 1)
    variance = np.where(total > 1, variance, 0.0)
    if variance.sum() == 0:
        raise InputError(
            "Peto's method needs events and non-events: one outcome never occurred",
            variable="ai",
            hint="check the event counts; no odds ratio can be estimated",
        )
    estimate = float(np.sum(a - expected) / variance.sum())
    se = float(1 / np.sqrt(variance.sum()))
    pos = variance > 0
    q = max(
        0.0,
        float(np.sum((a - expected)[pos] ** 2 / variance[pos]))
        - float(np.sum(a - expected)) ** 2 / float(variance.sum()),
    )
    es = escalc("PETO", ai=a, bi=b, ci=c, di=d, drop00=True)
    yi, vi = np.asarray(es.yi), np.asarray(es.vi)
    k_yi = int(np.isfinite(yi).sum())
    q_p = float(stats.chi2.sf(q, k_yi - 1)) if k_yi > 1 else 1.0
    if k_yi <= 1:
        q = 0.0
    extra = {"k_pos": float(pos.sum())}
    return _result("Peto", "OR", estimate, se, level, a.size, k_yi, q, q_p, yi, vi, labels, extra)


def _result(
    method: str,
    measure: str,
    estimate: float,
    se: float,
    level: float,
    k: int,
    k_yi: int,
    q: float,
    q_p: float,
    yi: np.ndarray,
    vi: np.ndarray,
    labels: Any,
    extra: dict[str, float],
) -> MantelHaenszelResult:
    crit = float(stats.norm.ppf(0.5 + level / 2))
    z = estimate / se
    df = k_yi - 1

    def pvalue(name: str, dof: float) -> float:
        value = extra.get(name, _NAN)
        return float(stats.chi2.sf(value, dof)) if np.isfinite(value) and dof > 0 else _NAN

    k_pos = extra.get("k_pos", _NAN)
    return MantelHaenszelResult(
        method=method,
        measure=measure,
        level=level,
        k=k,
        k_yi=k_yi,
        estimate=estimate,
        se=se,
        statistic=z,
        p=float(2 * stats.norm.sf(abs(z))),
        ci=(estimate - crit * se, estimate + crit * se),
        q=q,
        q_df=df,
        q_p=q_p,
        i2=max(0.0, 100 * (q - df) / q) if df > 0 and q > 0 else 0.0,
        h2=q / df if df > 0 else 1.0,
        cochran=extra.get("cochran", _NAN),
        cochran_p=pvalue("cochran", 1),
        cmh=extra.get("cmh", _NAN),
        cmh_p=pvalue("cmh", 1),
        breslow_day=extra.get("breslow_day", _NAN),
        breslow_day_p=pvalue("breslow_day", k_pos - 1),
        tarone=extra.get("tarone", _NAN),
        tarone_p=pvalue("tarone", k_pos - 1),
        k_pos=int(k_pos) if np.isfinite(k_pos) else -1,
        yi=tuple(yi.tolist()),
        vi=tuple(vi.tolist()),
        labels=as_labels(labels, k),
    )
