"""Convergence of multiple imputation: chain means across iterations, one line per chain."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["chain_means"]

_COLUMNS = ("variable", "imputation", "iteration", "mean")


def chain_means(
    chains: pd.DataFrame,
    *,
    labels: Mapping[str, str] | None = None,
    rhat: Mapping[str, float] | None = None,
    columns: int = 4,
) -> Figure:
    """One panel per imputed variable: the mean of its imputed values at each iteration, one
    line per chain (imputation). Converged chains overlap and show no trend; the potential
    scale reduction (R-hat over the second half) is printed in each panel's title.

    ``chains`` has the columns ``variable, imputation, iteration, mean`` (the ``chains`` of
    :class:`ipdma.impute.Imputation`, kept in the results store's imputation diagnostics).
    """
    from matplotlib.figure import Figure

    missing = [c for c in _COLUMNS if c not in chains.columns]
    if missing:
        raise ValueError(f"chain means need the columns {_COLUMNS}; missing {missing}")
    names = list(dict.fromkeys(chains["variable"]))
    count = max(len(names), 1)
    width = min(columns, count)
    height = math.ceil(count / width)
    fig = Figure(figsize=(2.6 * width + 0.4, 2.0 * height + 0.5), layout="constrained")
    axes = fig.subplots(height, width, squeeze=False)
    for index, ax in enumerate(axes.flat):
        if index >= len(names):
            ax.set_axis_off()
            continue
        name = names[index]
        rows = chains.loc[chains["variable"] == name]
        for _, chain in rows.groupby("imputation", sort=True):
            chain = chain.sort_values("iteration")
            ax.plot(chain["iteration"], chain["mean"], linewidth=0.8, alpha=0.8)
        title = (labels or {}).get(name, name)
        value = (rhat or {}).get(name)
        if value is not None and math.isfinite(value):
            title += f"\nR-hat {value:.2f}"
        ax.set_title(title, fontsize=8)
        ax.tick_params(labelsize=7)
        if index % width == 0:
            ax.set_ylabel("Mean of imputed values", fontsize=7)
        if index >= len(names) - width:
            ax.set_xlabel("Iteration", fontsize=7)
    if not names:
        axes.flat[0].text(0.5, 0.5, "No variable was imputed", ha="center", va="center")
    return fig
