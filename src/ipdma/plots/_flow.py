"""Figure 1: the flow of trials and participants, drawn as boxes and arrows (matplotlib)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["flow_diagram"]

_WINDOW_WORDS = {"short": "Short term (closest to 3 months)",
                 "moderate": "Moderate term (closest to 6 months)",
                 "long": "Long term (closest to 12 months)"}  # fmt: skip
_OUTCOMES = {"pain": "pain", "function": "function", "recovery": "recovery"}


def _box(ax: Any, x: float, y: float, w: float, h: float, text: str, gid: str) -> None:
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(
        FancyBboxPatch(
            (x, y), w, h, boxstyle="round,pad=0.005,rounding_size=0.01", linewidth=0.9,
            edgecolor="#1f3b73", facecolor="#f4f6f9", gid=gid,
        )
    )  # fmt: skip
    ax.text(x + 0.012, y + h / 2, text, ha="left", va="center", fontsize=8.3, gid=f"{gid}-text")


def _arrow(ax: Any, start: tuple[float, float], end: tuple[float, float]) -> None:
    ax.annotate(
        "", xy=end, xytext=start,
        arrowprops={"arrowstyle": "-|>", "color": "#1f3b73", "linewidth": 0.9},
    )  # fmt: skip


def flow_diagram(counts: Any) -> Figure:
    """Figure 1 from :class:`ipdma.describe.FlowCounts`: trials (eligible, requested,
    provided, included) down the left, what left the flow on the right, and per follow-up
    window the participants analysed per outcome with the reasons others were not."""
    from matplotlib.figure import Figure

    windows: dict[str, list[Any]] = {}
    for row in counts.windows:
        windows.setdefault(row.window, []).append(row)
    fig = Figure(figsize=(10.0, 6.6))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    left, width, height = 0.04, 0.42, 0.07
    ys = [0.88, 0.74, 0.60, 0.46]
    texts = [
        f"Eligible trials: {counts.eligible}",
        f"IPD requested: {counts.requested} trials",
        f"IPD provided: {counts.provided} trials, {counts.received} participants received",
        f"Included in the analysis: {counts.included} trials",
    ]
    middle = left + width / 2
    for i, (y, text) in enumerate(zip(ys, texts, strict=True)):
        _box(ax, left, y, width, height, text, f"trials-{i}")
        if i:
            _arrow(ax, (middle, ys[i - 1]), (middle, y + height))
    side, side_w = 0.54, 0.42
    missing = counts.requested - counts.provided
    lines = [f"IPD not provided: {missing} trials"]
    lines += [f"  {reason}: {n}" for reason, n in counts.not_provided]
    rest = missing - sum(n for _, n in counts.not_provided)
    if counts.not_provided and rest:
        lines.append(f"  reason not recorded: {rest}")
    dropped = counts.provided - counts.included
    for k, (show, text) in enumerate(
        (
            (counts.eligible > counts.requested,
             f"Not requested: {counts.eligible - counts.requested} trials"),
            (missing > 0, "\n".join(lines)),
            (dropped > 0, f"No outcome with its baseline in any window: {dropped} trials"),
        )
    ):  # fmt: skip
        if not show:
            continue
        y = (ys[k] + ys[k + 1] + height) / 2
        h = 0.03 + 0.024 * (text.count("\n") + 1)
        _box(ax, side, y - h / 2, side_w, h, text, f"side-{k}")
        _arrow(ax, (middle, y), (side, y))
    order = [w for w in ("short", "moderate", "long") if w in windows]
    n = max(len(order), 1)
    gap, box_w = 0.02, (0.92 - 0.02 * (n - 1)) / n
    for j, window in enumerate(order):
        x = 0.04 + j * (box_w + gap)
        rows = windows[window]
        lines = [_WINDOW_WORDS.get(window, window), "Analysed (exercise vs any comparison):"]
        lines += [f"  {_OUTCOMES.get(r.outcome, r.outcome)}: {r.analysed}" for r in rows]
        lines.append("Not analysed (" + " / ".join(r.outcome for r in rows) + "):")
        lines.append("  not measured: " + " / ".join(str(r.no_outcome) for r in rows))
        lines.append("  no baseline: " + " / ".join(str(r.no_baseline) for r in rows))
        lines.append("  no comparison arm: " + " / ".join(str(r.not_contributing) for r in rows))
        _box(ax, x, 0.03, box_w, 0.31, "\n".join(lines), f"window-{window}")
        _arrow(ax, (middle, ys[-1]), (x + box_w / 2, 0.34))
    return fig
