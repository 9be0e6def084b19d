"""Figures of the analyses beyond the paper, drawn from their stored tidy frames
(``AnalysisResults.beyond``; :mod:`ipdma.analysis._beyond_records`), never from fits.

* :func:`effect_curve_panel`: the treatment effect against each continuous modifier (spline,
  pointwise 95% band, two-stage curve, linear fit), the modifier's distribution beneath, the
  non-linearity test in each panel's title; curves stored as log odds ratios (global
  recovery, ``scale = "log OR"``) are drawn as odds ratios on a log axis;
* :func:`benefit_calibration`: observed vs predicted treatment effect by group of predicted
  effect (internal-external cross-validation);
* :func:`trial_interactions`: per-trial interaction estimates of each claimed modifier with
  their pooled estimate and heterogeneity (credibility, consistency across trials).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["benefit_calibration", "effect_curve_panel", "trial_interactions"]

_BAND, _ONE, _TWO, _LIN = "#9ecae1", "#08519c", "#d94801", "#525252"


def _p_text(p: float) -> str:
    if not math.isfinite(p):
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _odds(frame: pd.DataFrame) -> pd.DataFrame:
    """Log odds ratios to odds ratios (the curve's columns)."""
    return frame.assign(**{c: np.exp(frame[c].to_numpy(float))
                           for c in ("estimate", "ci_low", "ci_high")})  # fmt: skip


def odds_axis(ax: Axes) -> None:
    """A log y axis for odds ratios with plain labels (0.2, 0.5, 1, 2, 5)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def effect_curve_panel(
    tests: pd.DataFrame,
    curves: pd.DataFrame,
    histogram: pd.DataFrame,
    *,
    columns: int = 4,
    effect_label: str = "Treatment effect (MD)",
) -> Figure:
    """One panel per row of ``tests`` (a fitted spline: ``modifier, label, chi2, df, p,
    knots``, and ``scale``), each the effect curve above and the modifier's histogram below.
    Rows with ``scale == "log OR"`` are drawn as odds ratios (log axis, reference line at 1)."""
    from matplotlib.figure import Figure

    tests = tests.reset_index(drop=True)
    n = len(tests)
    cols = max(1, min(columns, n))
    rows = math.ceil(n / cols)
    height = 3.5 * rows + 0.6
    # fixed margins, no layout engine: constrained layout doubled the drawing time
    fig = Figure(figsize=(3.3 * cols, height))
    grid = fig.add_gridspec(2 * rows, cols, height_ratios=[3.2, 1] * rows, left=0.6 / (3.3 * cols),
                            right=0.99, top=1 - 0.45 / height, bottom=0.75 / height,
                            hspace=0.45, wspace=0.22)  # fmt: skip
    handles = None
    for i, test in tests.iterrows():
        r, c = divmod(int(i), cols)
        top = fig.add_subplot(grid[2 * r, c])
        bottom = fig.add_subplot(grid[2 * r + 1, c], sharex=top)
        mine = curves.loc[curves["modifier"] == test["modifier"]]
        odds = str(test.get("scale", "MD")) == "log OR"
        if odds:
            mine = _odds(mine)
        one = mine.loc[mine["method"] == "one-stage"]
        top.fill_between(one["x"], one["ci_low"], one["ci_high"], color=_BAND, alpha=0.6,
                         linewidth=0, label="95% CI (pointwise)")  # fmt: skip
        top.plot(one["x"], one["estimate"], color=_ONE, linewidth=1.8, label="Spline, one-stage")
        two = mine.loc[mine["method"] == "two-stage"]
        top.plot(two["x"], two["estimate"], color=_TWO, linestyle="--", linewidth=1.2,
                 label="Spline, two-stage")  # fmt: skip
        lin = mine.loc[mine["method"] == "linear"]
        top.plot(lin["x"], lin["estimate"], color=_LIN, linestyle=":", linewidth=1.5,
                 label="Linear interaction")  # fmt: skip
        top.axhline(1 if odds else 0, color="black", linewidth=0.6)
        if odds:
            odds_axis(top)
        for knot in str(test.get("knots") or "").split(";"):
            if knot.strip():
                top.axvline(float(knot), color="#bdbdbd", linewidth=0.5, zorder=0)
        title = f"{test['label']}\nnon-linearity {_p_text(float(test['p']))}"
        if odds and pd.notna(test.get("p_lr")):
            title += f" (LR {_p_text(float(test['p_lr']))})"
        top.set_title(title, fontsize=8.5)
        top.tick_params(labelsize=7, labelbottom=False)
        if c == 0:
            top.set_ylabel(effect_label, fontsize=8)
        bins = histogram.loc[histogram["modifier"] == test["modifier"]]
        if len(bins):
            edges = np.append(bins["bin_low"].to_numpy(float), float(bins["bin_high"].iloc[-1]))
            bottom.stairs(bins["count"].to_numpy(float), edges, fill=True, color="#969696")
        bottom.tick_params(labelsize=7)
        bottom.set_yticks([])
        handles = top.get_legend_handles_labels()
    if handles is not None:
        fig.legend(*handles, loc="lower center", ncols=4, fontsize=8, frameon=False)
    return fig


def benefit_calibration(groups: pd.DataFrame, summaries: pd.DataFrame) -> Figure:
    """Observed (95% CI) vs mean predicted treatment effect per group of predicted effect,
    one panel per outcome (``groups``: ``outcome, predicted, observed, ci_low, ci_high``;
    ``summaries``: ``outcome, slope, slope_ci_low, slope_ci_high, c_benefit, modifiers``)."""
    from matplotlib.figure import Figure

    outcomes = list(dict.fromkeys(groups["outcome"]))
    scales = (dict(zip(summaries["outcome"], summaries["scale"], strict=True))
              if "scale" in summaries.columns else {})  # fmt: skip
    fig = Figure(figsize=(4.2 * max(1, len(outcomes)), 4.2), layout="constrained")
    axes = fig.subplots(1, max(1, len(outcomes)), squeeze=False)[0]
    for ax, outcome in zip(axes, outcomes, strict=False):
        mine = groups.loc[groups["outcome"] == outcome]
        ax.errorbar(mine["predicted"], mine["observed"],
                    yerr=[mine["observed"] - mine["ci_low"], mine["ci_high"] - mine["observed"]],
                    fmt="o", color=_ONE, capsize=3, label="Groups of predicted effect")  # fmt: skip
        values = np.concatenate([mine["predicted"], mine["ci_low"], mine["ci_high"]])
        values = values[np.isfinite(values)]
        low, high = (values.min(), values.max()) if values.size else (-1.0, 1.0)
        ax.plot([low, high], [low, high], color=_LIN, linestyle=":", label="Perfect calibration")
        ax.axhline(0, color="black", linewidth=0.5)
        summary = summaries.loc[summaries["outcome"] == outcome]
        if len(summary):
            s = summary.iloc[0]
            ax.set_title(f"{str(outcome).capitalize()}: calibration slope {s['slope']:.2f} "
                         f"({s['slope_ci_low']:.2f} to {s['slope_ci_high']:.2f}),\n"
                         f"c-for-benefit {s['c_benefit']:.2f}", fontsize=9)  # fmt: skip
        scale = str(scales.get(outcome) or "MD")
        ax.set_xlabel(f"Predicted treatment effect ({scale}, left-out trials)", fontsize=8)
        ax.set_ylabel(f"Observed treatment effect ({scale})", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, frameon=False)
    return fig


def trial_interactions(
    assessments: pd.DataFrame,
    trials: pd.DataFrame,
    *,
    titles: Mapping[int, str] | None = None,
    trial_labels: Mapping[str, str] | None = None,
    columns: int = 3,
    xlabels: Sequence[str] | None = None,
) -> Figure:
    """One mini forest per row of ``assessments`` (``k, pooled, pooled_se, i2, scale`` and
    the row's key columns): its trials' interactions (``trials``: ``trial, estimate,
    variance, weight``) with 95% CIs, the pooled estimate as a diamond, I^2 in the title."""
    from matplotlib.figure import Figure

    key = ["outcome", "window", "comparison", "modifier", "level"]
    assessments = assessments.reset_index(drop=True)
    n = len(assessments)
    cols = max(1, min(columns, n))
    rows_needed = [
        int(((trials[key] == a[key].to_numpy()).all(axis=1)).sum())
        for _, a in assessments.iterrows()
    ]
    per_row = [max(rows_needed[i : i + cols], default=1) for i in range(0, n, cols)]
    height = sum(0.9 + 0.22 * (k + 2) for k in per_row)
    fig = Figure(figsize=(3.6 * cols, height))
    grid = fig.add_gridspec(len(per_row), cols, height_ratios=[k + 2 for k in per_row],
                            left=1.1 / (3.6 * cols), right=0.98, top=1 - 0.5 / height,
                            bottom=0.45 / height, hspace=0.9 * len(per_row) / height * 1.2,
                            wspace=0.55)  # fmt: skip
    names = dict(trial_labels or {})
    for i, a in assessments.iterrows():
        r, c = divmod(int(i), cols)
        ax = fig.add_subplot(grid[r, c])
        mine = trials.loc[(trials[key] == a[key].to_numpy()).all(axis=1)]
        half = 1.96 * np.sqrt(mine["variance"].to_numpy(float))
        y = np.arange(len(mine), 0, -1) + 1
        est = mine["estimate"].to_numpy(float)
        ax.errorbar(est, y, xerr=half, fmt="none", ecolor="#525252", linewidth=0.8)
        sizes = 10 + 60 * mine["weight"].to_numpy(float) / 100
        ax.scatter(est, y, s=sizes, marker="s", color=_ONE, zorder=3)
        pooled, se = float(a["pooled"]), float(a["pooled_se"])
        ax.fill([pooled - 1.96 * se, pooled, pooled + 1.96 * se, pooled], [0.6, 0.85, 0.6, 0.35],
                color=_TWO)  # fmt: skip
        ax.axvline(0, color="black", linewidth=0.6)
        ax.set_yticks([*y, 0.6])
        ax.set_yticklabels([names.get(t, t) for t in mine["trial"]] + ["Pooled"], fontsize=6.5)
        ax.set_ylim(0.2, len(mine) + 1.6)
        title = (titles or {}).get(int(i), f"{a['outcome']}: {a['modifier']} {a['level']}")
        ax.set_title(f"{title}\nk = {int(a['k'])}, I\u00b2 = {float(a['i2']):.0f}%", fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
        if xlabels is not None:
            ax.set_xlabel(xlabels[int(i)], fontsize=7)
    return fig
