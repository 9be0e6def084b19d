"""One-stage forest plot: per-trial estimates, the one-stage pooled effect, its prediction
interval and tau (the layout of Stata's ``ipdforest``, Kontopantelis & Reeves 2013)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from ._rows import Row, render

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["one_stage_forest"]


def _fmt(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}".replace("-", "\u2212")


def _interval(est: float, low: float, high: float, decimals: int) -> str:
    return f"{_fmt(est, decimals)} [{_fmt(low, decimals)}, {_fmt(high, decimals)}]"


def one_stage_forest(
    trials: pd.DataFrame,
    pooled: Mapping[str, Any],
    *,
    measure: str = "MD",
    labels: Mapping[str, str] | None = None,
    xlabel: str | None = None,
    favours: tuple[str, str] | None = ("Favours exercise", "Favours comparison"),
    tau_scale: str = "points",
    decimals: int = 2,
    title: str | None = None,
) -> Figure:
    """Forest plot of a one-stage model's treatment effect.

    Parameters
    ----------
    trials
        One row per trial: ``trial, n, estimate, ci_low, ci_high, used, reason`` on the
        plotted scale (OR for ``measure="OR"``); unused trials are listed with their reason.
    pooled
        The one-stage result: ``estimate, ci_low, ci_high, pi_low, pi_high, tau, studies,
        participants`` (``tau`` on the model scale, points or log odds); an optional
        ``separated`` (trials with separation, comma-separated) marks the estimate with
        "\u2016" and a note naming them.
    measure
        ``"MD"`` (linear axis, null 0) or ``"OR"`` (log axis, null 1).

    The squares' areas are proportional to the trial's participants; the diamond is the
    one-stage estimate and CI, the red bar the prediction interval (t with K-2 df).
    """
    ratio = measure == "OR"
    rows: list[Row] = []
    names = dict(labels or {})
    for rec in trials.sort_values("trial", kind="stable").to_dict("records"):
        label = names.get(str(rec["trial"]), str(rec["trial"]))
        n = int(rec["n"]) if pd.notna(rec["n"]) else 0
        used = bool(rec.get("used", True)) and math.isfinite(float(rec["estimate"]))
        if not used:
            reason = str(rec.get("reason") or "not estimable").split(" (")[0]  # short: no overlap
            rows.append(Row("study", label, cells=(str(n), f"({reason})")))
            continue
        est, low, high = (float(rec[c]) for c in ("estimate", "ci_low", "ci_high"))
        cells = (str(n), _interval(est, low, high, decimals))
        rows.append(Row("study", label, est, low, high, weight=float(n), cells=cells))
    est = float(pooled["estimate"])
    low, high = float(pooled["ci_low"]), float(pooled["ci_high"])
    k, n_total = int(pooled["studies"]), int(pooled["participants"])
    separated = pooled.get("separated")
    separated = "" if not isinstance(separated, str) else separated.strip()
    rows.append(
        Row(
            "pooled",
            f"One-stage estimate ({k} trials)" + (" \u2016" if separated else ""),
            est,
            low,
            high,
            cells=(str(n_total), _interval(est, low, high, decimals)),
        )
    )
    pi_low, pi_high = float(pooled.get("pi_low", math.nan)), float(pooled.get("pi_high", math.nan))
    if math.isfinite(pi_low) and math.isfinite(pi_high):
        rows.append(
            Row(
                "pi",
                f"Prediction interval (t, {k - 2} df)",
                math.nan,
                pi_low,
                pi_high,
                cells=("", f"[{_fmt(pi_low, decimals)}, {_fmt(pi_high, decimals)}]"),
            )
        )
    tau = float(pooled.get("tau", math.nan))
    if math.isfinite(tau):
        why = "singular fit, estimated at 0" if tau == 0 else "between-trial SD of the effect"
        rows.append(Row("note", f"\u03c4 = {tau:.2f} ({tau_scale}): {why}"))
    if separated:
        rows.append(Row("note", f"\u2016 separation in trial(s) {separated}: unstable estimate"))
    return render(
        rows,
        label_header="Trial",
        cell_headers=("N", f"{measure} [95% CI]"),
        xlabel=xlabel or measure,
        null=1.0 if ratio else 0.0,
        log=ratio,
        favours=favours,
        title=title,
    )
