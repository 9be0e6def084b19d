"""Rows of a forest plot and their drawing (shared by the study and subgroup-effect plots)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["Row", "RowKind", "render"]

RowKind = Literal["header", "study", "pooled", "subtotal", "pi", "group", "note", "blank"]

_ROW_INCHES = 0.25
_WIDTH_INCHES = 10.0
_FONT = 8.5
_NAN = float("nan")


@dataclass(frozen=True)
class Row:
    """One line of a forest plot.

    ``study`` rows draw a square (area proportional to ``weight``; an open circle for
    ``marker="circle"``, trials entering by a published estimate) and a CI line, ``pooled``
    and ``subtotal`` rows a diamond, ``pi`` rows a prediction-interval bar, and the other
    kinds only text. ``cells`` are the right-hand text columns.
    """

    kind: RowKind
    label: str = ""
    estimate: float = _NAN
    low: float = _NAN
    high: float = _NAN
    weight: float = _NAN
    cells: tuple[str, ...] = field(default_factory=tuple)
    indent: int = 0
    marker: Literal["square", "circle"] = "square"  # circle: an aggregate-data trial


def _clip_label(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _x_limits(rows: Sequence[Row], null: float, log: bool) -> tuple[float, float]:
    values = [null]
    for row in rows:
        values += [v for v in (row.low, row.high, row.estimate) if math.isfinite(v)]
    arr = np.asarray(values, dtype=float)
    if log:
        arr = np.log(arr[arr > 0])
    low, high = float(arr.min()), float(arr.max())
    pad = 0.06 * (high - low if high > low else 1.0)
    low, high = low - pad, high + pad
    return (math.exp(low), math.exp(high)) if log else (low, high)


def _format_log_axis(ax: Axes, limits: tuple[float, float]) -> None:
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    decades = math.log10(limits[1] / limits[0])
    subs = (1.0, 2.0, 5.0) if decades <= 2.2 else (1.0,)  # keep tick labels apart
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=subs))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def render(
    rows: Sequence[Row],
    *,
    label_header: str,
    cell_headers: Sequence[str],
    xlabel: str,
    null: float,
    log: bool,
    favours: tuple[str, str] | None,
    title: str | None,
    xlim: tuple[float, float] | None = None,
) -> Figure:
    """Draw the rows into a new matplotlib Figure (Agg-compatible, no pyplot state)."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Polygon
    from matplotlib.transforms import blended_transform_factory

    all_rows = [Row("header", label_header, cells=tuple(cell_headers)), *rows]
    n = len(all_rows)
    top_in = 0.35 + (0.35 if title else 0.0)
    bottom_in = 0.95 if favours else 0.7
    height = top_in + n * _ROW_INCHES + bottom_in
    fig = Figure(figsize=(_WIDTH_INCHES, height))
    ax_left, ax_right = 0.36, 0.68
    ax = fig.add_axes((ax_left, bottom_in / height, ax_right - ax_left, n * _ROW_INCHES / height))
    ax.set_ylim(-0.5, n - 0.5)
    y_of = {i: n - 1 - i for i in range(n)}
    text_tf = blended_transform_factory(fig.transFigure, ax.transData)
    n_cells = max(len(cell_headers), 1)
    # right edges of the text columns: the last (widest, "est [low, high]") ends at the
    # right margin; each other column is 0.08 of the width wide, to its left
    cell_x = [0.985 - 0.185 - 0.08 * (n_cells - 2 - j) for j in range(n_cells - 1)] + [0.985]

    limits = xlim if xlim is not None else _x_limits(rows, null, log)
    arrows: list[tuple[float, float, str]] = []
    weights = [r.weight for r in all_rows if r.kind == "study" and math.isfinite(r.weight)]
    max_weight = max(weights) if weights else 1.0
    xs, ys, sizes = [], [], []
    open_marks: list[tuple[float, float, float]] = []  # aggregate-data trials
    for i, row in enumerate(all_rows):
        y = y_of[i]
        bold = row.kind in ("header", "pooled", "group")
        italic = row.kind in ("note", "pi")
        ax.text(
            0.02 + 0.015 * row.indent,
            y,
            _clip_label(row.label, 110 if row.kind == "note" else 48),
            transform=text_tf,
            ha="left",
            va="center",
            fontsize=_FONT,
            fontweight="bold" if bold else "normal",
            fontstyle="italic" if italic else "normal",
            gid=f"label-{row.kind}",
        )
        for x, cell in zip(cell_x, row.cells, strict=False):
            ax.text(
                x,
                y,
                cell,
                transform=text_tf,
                ha="right",
                va="center",
                fontsize=_FONT,
                fontweight="bold" if bold else "normal",
                gid=f"cell-{row.kind}",
            )
        if not (math.isfinite(row.low) and math.isfinite(row.high)):
            continue
        if row.kind in ("study", "pi"):  # CIs beyond the axis end in an arrow head
            if row.low < limits[0]:
                arrows.append((limits[0], y, "<"))
            if row.high > limits[1]:
                arrows.append((limits[1], y, ">"))
        if row.kind == "study":
            low, high = max(row.low, limits[0]), min(row.high, limits[1])
            if low < high:
                ax.hlines(y, low, high, color="black", linewidth=0.9, gid="study-ci")
            if math.isfinite(row.estimate) and limits[0] <= row.estimate <= limits[1]:
                w = row.weight if math.isfinite(row.weight) else max_weight / 4
                if row.marker == "circle":
                    open_marks.append((row.estimate, y, 12 + 70 * w / max_weight))
                    continue
                xs.append(row.estimate)
                ys.append(y)
                sizes.append(12 + 70 * w / max_weight)
        elif row.kind in ("pooled", "subtotal"):
            half = 0.38 if row.kind == "pooled" else 0.3
            diamond = Polygon(
                [(row.low, y), (row.estimate, y + half), (row.high, y), (row.estimate, y - half)],
                closed=True,
                facecolor="#1f3b73" if row.kind == "pooled" else "#7f93b8",
                edgecolor="black",
                linewidth=0.6,
                gid=f"diamond-{row.kind}",
            )
            ax.add_patch(diamond)
        elif row.kind == "pi":
            ax.hlines(
                y, row.low, row.high, color="#b22222", linewidth=2.2, gid="prediction-interval"
            )
            ax.vlines([row.low, row.high], y - 0.18, y + 0.18, color="#b22222", linewidth=1.2)
    if xs:
        ax.scatter(xs, ys, s=sizes, marker="s", color="#1f3b73", zorder=3, gid="study-markers")
    if open_marks:
        x_open, y_open, s_open = zip(*open_marks, strict=True)
        ax.scatter(x_open, y_open, s=s_open, marker="o", facecolors="white",
                   edgecolors="#b35900", linewidths=1.4, zorder=3, gid="aggregate-markers")  # fmt: skip

    if log:
        ax.set_xscale("log")
        _format_log_axis(ax, limits)
    if arrows:
        ax.scatter(
            [a[0] for a in arrows if a[2] == "<"],
            [a[1] for a in arrows if a[2] == "<"],
            marker="<",
            s=18,
            color="black",
            clip_on=False,
            gid="clipped-low",
        )
        ax.scatter(
            [a[0] for a in arrows if a[2] == ">"],
            [a[1] for a in arrows if a[2] == ">"],
            marker=">",
            s=18,
            color="black",
            clip_on=False,
            gid="clipped-high",
        )
    ax.set_xlim(*limits)
    drawn = [
        y_of[i] for i, r in enumerate(all_rows) if r.kind in ("study", "pooled", "subtotal", "pi")
    ]
    if drawn:
        ax.vlines(
            null, min(drawn) - 0.5, n - 1.5, color="grey", linewidth=0.8, zorder=0, gid="null-line"
        )
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="x", labelsize=_FONT)
    ax.set_xlabel(xlabel, fontsize=_FONT + 0.5)
    line_y = n - 1.5
    ax.plot(
        [0.01, 0.99],
        [line_y, line_y],
        transform=text_tf,
        color="black",
        linewidth=0.6,
        clip_on=False,
    )
    if favours:
        axes_tf = blended_transform_factory(ax.transData, ax.transAxes)
        kwargs: dict[str, Any] = {
            "xycoords": axes_tf,
            "textcoords": "offset points",
            "va": "top",
            "fontsize": _FONT,
            "annotation_clip": False,
        }
        ax.annotate(
            favours[0], (null, 0), xytext=(-6, -34), ha="right", gid="favours-left", **kwargs
        )
        ax.annotate(
            favours[1], (null, 0), xytext=(6, -34), ha="left", gid="favours-right", **kwargs
        )
    if title:
        fig.text(
            0.02,
            1 - 0.3 / height,
            title,
            ha="left",
            va="center",
            fontsize=_FONT + 2,
            fontweight="bold",
            gid="title",
        )
    return fig
