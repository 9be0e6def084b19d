"""Forest plots of meta-analyses (per-study estimates, pooled diamonds, subgroups)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ._rows import Row, render

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from ..meta import PoolResult

__all__ = ["forest"]

_TEST_NAMES = {"z": "", "knha": ", Hartung-Knapp", "adhoc": ", ad hoc Hartung-Knapp"}


def _fmt(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}".replace("-", "\u2212")


def _interval_text(est: float, low: float, high: float, decimals: int) -> str:
    return f"{_fmt(est, decimals)} [{_fmt(low, decimals)}, {_fmt(high, decimals)}]"


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _heterogeneity(result: PoolResult) -> str:
    text = (
        f"Heterogeneity: Q = {result.q:.2f}, df = {result.q_df}, {_p_text(result.q_p)}; "
        f"I\u00b2 = {result.i2:.0f}%"
    )
    if result.method != "FE":
        text = text.replace("Heterogeneity: ", f"Heterogeneity: \u03c4\u00b2 = {result.tau2:.3g}; ")
    return text


class _Scale:
    """Maps log-scale estimates to the plotted scale (exp for ratios)."""

    def __init__(self, exponentiate: bool) -> None:
        self.exponentiate = exponentiate

    def __call__(self, value: float) -> float:
        return math.exp(value) if self.exponentiate else value


def _study_rows(result: PoolResult, scale: _Scale, decimals: int, indent: int) -> list[Row]:
    rows = []
    studies = result.studies()  # the per-study CIs of the result; never recomputed here
    for label, y, lo, hi, w in zip(
        studies["label"],
        studies["estimate"],
        studies["ci_low"],
        studies["ci_high"],
        studies["weight"],
        strict=True,
    ):
        est, low, high = scale(float(y)), scale(float(lo)), scale(float(hi))
        rows.append(
            Row(
                "study",
                label,
                est,
                low,
                high,
                weight=w,
                cells=(f"{w:.1f}%", _interval_text(est, low, high, decimals)),
                indent=indent,
            )
        )
    return rows


def _pooled_rows(
    result: PoolResult,
    label: str,
    kind: str,
    scale: _Scale,
    decimals: int,
    show_pi: bool,
    indent: int,
) -> list[Row]:
    est, low, high = scale(result.estimate), scale(result.ci[0]), scale(result.ci[1])
    weight = "100.0%" if kind == "pooled" else ""
    cells = (weight, _interval_text(est, low, high, decimals))
    rows = [Row(kind, label, est, low, high, cells=cells, indent=indent)]  # type: ignore[arg-type]
    if show_pi and result.method != "FE" and result.k >= 3:
        pl, ph = scale(result.pi[0]), scale(result.pi[1])
        pi_cells = ("", f"[{_fmt(pl, decimals)}, {_fmt(ph, decimals)}]")
        rows.append(
            Row("pi", "Prediction interval", math.nan, pl, ph, cells=pi_cells, indent=indent)
        )
    if result.k > 1:
        rows.append(Row("note", _heterogeneity(result), indent=indent))
    return rows


def _model_label(result: PoolResult) -> str:
    if result.method == "FE":
        return "Fixed-effect model"
    return f"Random-effects model ({result.method}{_TEST_NAMES[result.test]})"


def forest(
    result: Any,
    *,
    measure: str = "MD",
    exponentiate: bool = False,
    favours: tuple[str, str] | None = ("Favours exercise", "Favours comparison"),
    title: str | None = None,
    xlabel: str | None = None,
    study_header: str = "Study",
    decimals: int = 2,
    show_pi: bool = True,
    xlim: tuple[float, float] | None = None,
) -> Figure:
    """Forest plot of a :class:`~ipdma.meta.PoolResult`, a
    :class:`~ipdma.meta.SubgroupResult` (subgroups with subtotals, the overall result and the
    test for subgroup differences) or a :class:`~ipdma.meta.TwoStageResult`.

    Each study shows its estimate (square, area proportional to its weight) with a normal
    ``level`` CI, its weight and the numbers; the pooled estimate is a diamond spanning its
    CI, followed by the prediction interval (a red bar, random-effects models with k >= 3)
    and the heterogeneity line (tau2, Q, df, p, I2). ``xlim`` fixes the axis (intervals that
    reach beyond it end in arrow heads); by default it spans every interval. Subgroup
    weights are percentages within the subgroup. ``exponentiate=True`` plots ratios
    (``exp`` of log odds/risk ratios) on a log axis with the null line at 1. The figure height
    grows with the number of rows, so 2 or 60 studies stay readable.

    Returns a :class:`matplotlib.figure.Figure` (not attached to pyplot); write it with
    :func:`ipdma.plots.save`.
    """
    from ..meta import PoolResult, SubgroupResult, TwoStageResult

    scale = _Scale(exponentiate)
    rows: list[Row] = []
    if isinstance(result, TwoStageResult):
        result = result.pooled
    if isinstance(result, PoolResult):
        rows += _study_rows(result, scale, decimals, indent=0)
        rows += _pooled_rows(result, _model_label(result), "pooled", scale, decimals, show_pi, 0)
        level = result.level
    elif isinstance(result, SubgroupResult):
        for name, sub in result.groups:
            rows.append(Row("group", f"{name} (k = {sub.k})"))
            rows += _study_rows(sub, scale, decimals, indent=1)
            rows += _pooled_rows(sub, "Subtotal", "subtotal", scale, decimals, show_pi, 1)
            rows.append(Row("blank"))
        overall = result.overall
        rows += _pooled_rows(overall, _model_label(overall), "pooled", scale, decimals, show_pi, 0)
        rows.append(Row("note", result.test_text()))
        level = overall.level
    else:
        raise InputError(
            f"forest() cannot plot a {type(result).__name__}",
            hint="pass the result of ipdma.meta.pool, subgroup or two_stage",
        )
    null = 1.0 if exponentiate else 0.0
    pct = f"{100 * level:g}%"
    return render(
        rows,
        label_header=study_header,
        cell_headers=("Weight", f"{measure} [{pct} CI]"),
        xlabel=xlabel or measure,
        null=null,
        log=exponentiate,
        favours=favours,
        title=title,
        xlim=xlim,
    )
