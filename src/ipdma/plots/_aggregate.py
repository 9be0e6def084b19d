"""Forest plot of IPD combined with aggregate data: IPD trials (filled squares, each trial's
own ANCOVA), aggregate-data trials (open circles, their published estimate) and the pooled
effect from IPD only and from IPD + aggregate data, two-stage and one-stage."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from ..meta import AGGREGATE_MARK
from ._rows import Row, render

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from ..analysis._aggregate_records import AggregateAnalysis

__all__ = ["aggregate_forest"]


def _fmt(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}".replace("-", "\u2212")


def _interval(est: float, low: float, high: float, decimals: int) -> str:
    return f"{_fmt(est, decimals)} [{_fmt(low, decimals)}, {_fmt(high, decimals)}]"


def aggregate_forest(
    analysis: AggregateAnalysis,
    *,
    labels: Mapping[str, str] | None = None,
    xlabel: str = "Mean difference (0-100)",
    decimals: int = 2,
    title: str | None = None,
) -> Figure:
    """Forest plot of one :class:`~ipdma.analysis.AggregateAnalysis` record.

    ``labels`` maps IPD trial ids to their labels; aggregate-data (AD) trials carry their
    own label, suffixed " (AD)" and drawn as open circles. The diamonds are the pooled
    effects: IPD only (light) and IPD + AD (dark), two-stage and one-stage.
    """
    names = dict(labels or {})
    rows: list[Row] = []
    trials = analysis.trials
    for source, heading in (("IPD", "Trials with IPD"),
                            ("aggregate", "Trials with aggregate data only")):  # fmt: skip
        part = trials[trials["source"] == source].sort_values("label", kind="stable")
        if part.empty:
            continue
        rows.append(Row("group", heading))
        for rec in part.to_dict("records"):
            est, low, high = (float(rec[c]) for c in ("estimate", "ci_low", "ci_high"))
            aggregate = source == "aggregate"
            label = (
                str(rec["label"]) + AGGREGATE_MARK
                if aggregate
                else names.get(str(rec["trial"]), str(rec["trial"]))
            )
            n = "" if pd.isna(rec["n"]) else str(int(rec["n"]))
            if not math.isfinite(est):
                rows.append(Row("study", label, cells=(n, "(not estimable)"), indent=1))
                continue
            weight = math.nan if aggregate else float(rec["n"])
            rows.append(Row("study", label, est, low, high, weight=weight, indent=1,
                            cells=(n, _interval(est, low, high, decimals)),
                            marker="circle" if aggregate else "square"))  # fmt: skip
    rows.append(Row("blank"))
    for estimate in analysis.estimates:
        if not math.isfinite(estimate.estimate):
            continue
        both = estimate.data != "IPD only"
        trials_text = f"{estimate.k_ipd} IPD" + (f" + {estimate.k_aggregate} AD" if both else "")
        label = f"{estimate.approach.capitalize()}, {estimate.data} ({trials_text})"
        rows.append(Row("pooled" if both else "subtotal", label, estimate.estimate,
                        estimate.ci_low, estimate.ci_high,
                        cells=("", _interval(estimate.estimate, estimate.ci_low,
                                             estimate.ci_high, decimals))))  # fmt: skip
    rows.append(Row("note", "\u25a0 IPD trial (own ANCOVA); \u25cb aggregate-data trial "
                    "(published estimate); light diamonds IPD only, dark IPD + AD"))  # fmt: skip
    return render(
        rows,
        label_header="Trial",
        cell_headers=("N", "MD [95% CI]"),
        xlabel=xlabel,
        null=0.0,
        log=False,
        favours=("Favours exercise", "Favours comparison"),
        title=title,
    )
