"""Per-trial cross-products of the raw columns, computed by the engine that holds the data.

One ibis expression (:func:`crossproducts_expr`) states the aggregation once: filter the
model's rows (comparison set, complete cases, optionally one follow-up window), form the
raw columns of :class:`~ipdma.summaries._layout.RawLayout`, and per trial sum every product
of two of them, ``(R_i' R_i)_{ab} = sum_j r_ija r_ijb``, and count the rows. ibis compiles it
to DuckDB SQL (the default: a pandas frame registered in memory, Parquet files or a DuckDB
database, never loaded into pandas) or to Spark SQL (``pyspark``): only K rows of sums come
back. The raw columns are centred at their trial means first (a window mean; two passes),
then multiplied: the sums keep full precision. The design's own centring and products are
linear maps of these sums, done by the coordinator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._layout import Categories, RawLayout, cut_names

__all__ = ["TrialBlocks", "category_label", "crossproducts_expr", "raw_gram", "run_crossproducts"]


@dataclass(frozen=True)
class TrialBlocks:
    """Cross-products of one model at one site, trials sorted by id.

    ``gram[k]`` is trial k's Gram matrix in the basis ``[1, r_1 - m_1 1, ..., r_s - m_s 1]``
    (the raw columns centred at the trial's means ``means[k]``): ``gram[k, 0, 0] = n_k``, the
    first row is otherwise 0, the rest is ``sum_j (r_ja - m_a)(r_jb - m_b)``. Centring first
    (two passes over the rows) avoids the cancellation of ``R'R - n m m'``.
    ``binary[k, c]`` says raw column c is 0/1 in trial k.
    """

    columns: tuple[str, ...]
    trials: tuple[str, ...]
    cells: tuple[str, ...]  # the category of each block (subgroup models), else ""
    n: np.ndarray
    means: np.ndarray  # (K, r), means[:, 0] = 1
    gram: np.ndarray
    binary: np.ndarray

    def raw_gram(self, k: int) -> np.ndarray:
        """``R_k' R_k`` (for counts: sums of 0/1 columns and their products)."""
        return raw_gram(self.n[k], self.means[k], self.gram[k])


def raw_gram(n: float, means: np.ndarray, gram: np.ndarray) -> np.ndarray:
    """``R'R = C + n m m'`` from the centred Gram ``C`` (first row/column: ``n``, 0)."""
    out = gram + n * np.outer(means, means)
    out[0, 0] = n
    return out


def category_label(table, categories: Categories):
    """The ibis expression of each row's category label (``analysis._levels.categorise``):
    binary 0/1 to the plan's labels, text values as they are, or the cut-points' classes
    ``< a``, ``a-b``, ..., ``>= c`` (``v < a`` first, as ``searchsorted(side="right")``)."""
    import ibis

    z = table[categories.variable]
    if categories.rule == "strings":
        return z.cast("string")
    if categories.rule == "binary":
        reference, other = categories.levels
        return ibis.ifelse(z.cast("float64") == categories.reference_value, reference, other)
    cuts = categories.cutpoints
    names = cut_names(cuts)
    value = z.cast("float64")
    return ibis.cases(*[(value < c, name) for c, name in zip(cuts, names, strict=False)],
                      else_=names[-1])  # fmt: skip


def _value(table, name: str, categories: Categories | None):
    if "==" in name and categories is not None:
        level = name.split("==", 1)[1]
        return (category_label(table, categories) == level).cast("float64")
    return table[name].cast("float64")


def _raw_values(table, layout: RawLayout) -> dict[str, Any]:
    values = {}
    for j, name in enumerate(layout.columns[1:], start=1):
        if "*" in name:
            a, b = name.split("*", 1)
            values[f"v{j}"] = _value(table, a, layout.categories) * _value(
                table, b, layout.categories
            )
        else:
            values[f"v{j}"] = _value(table, name, layout.categories)
    return values


def crossproducts_expr(
    table, layout: RawLayout, *, comparison: str = "any", window: str | None = None
):
    """The ibis expression: one row per trial (per trial and category, ``cell``, for a
    subgroup model) with ``n``, the means ``m{a}``, the centred sums ``s{a}_{b}`` (a <= b)
    and ``nb{a}`` (rows where raw column a is neither 0 nor 1)."""
    cond = table["treat"].notnull()
    for name in layout.needed:
        cond = cond & table[name].notnull()
    if comparison != "any":
        cond = cond & ((table["treat"] == 1) | (table["comparison"] == comparison))
    if window is not None and "window" in table.columns:
        cond = cond & (table["window"] == window)
    rows = table.filter(cond)
    keys = {"trial": rows["trial"].cast("string")}
    if layout.by_category and layout.categories is not None:
        keys["cell"] = category_label(rows, layout.categories)
    rows = rows.select(**keys, **_raw_values(rows, layout))
    r = len(layout.columns)
    by = list(keys)
    centred = rows.mutate(
        **{f"c{a}": rows[f"v{a}"] - rows[f"v{a}"].mean().over(group_by=by) for a in range(1, r)}
    )
    metrics = {"n": centred.count()}
    for a in range(1, r):
        v, c = centred[f"v{a}"], centred[f"c{a}"]
        metrics[f"m{a}"] = v.mean()
        metrics[f"nb{a}"] = ((v != 0.0) & (v != 1.0)).cast("int64").sum()
        for b in range(a, r):
            metrics[f"s{a}_{b}"] = (c * centred[f"c{b}"]).sum()
    return centred.group_by(by).aggregate(**metrics)


def run_crossproducts(backend, expr, layout: RawLayout) -> TrialBlocks:
    """Execute ``expr`` on ``backend`` and unpack the sums into symmetric matrices (trials
    sorted by id, as the engine sorts them)."""
    result = backend.to_pyarrow(expr)
    columns = {
        name: result.column(name).to_numpy(zero_copy_only=False) for name in result.schema.names
    }
    trials = np.asarray(columns["trial"], dtype=object).astype(str)
    cells = np.asarray(columns.get("cell", [""] * len(trials)), dtype=object).astype(str)
    order = np.lexsort((cells, trials))
    r = len(layout.columns)
    K = len(trials)
    n = np.asarray(columns["n"], dtype=float)[order]
    gram = np.zeros((K, r, r))
    gram[:, 0, 0] = n
    means = np.ones((K, r))
    binary = np.ones((K, r), dtype=bool)
    for a in range(1, r):
        means[:, a] = np.asarray(columns[f"m{a}"], dtype=float)[order]
        binary[:, a] = np.asarray(columns[f"nb{a}"], dtype=float)[order] == 0
        for b in range(a, r):
            col = np.asarray(columns[f"s{a}_{b}"], dtype=float)[order]
            gram[:, a, b] = gram[:, b, a] = col
    return TrialBlocks(
        columns=layout.columns,
        trials=tuple(str(t) for t in trials[order]),
        cells=tuple(str(c) for c in cells[order]),
        n=n,
        means=means,
        gram=gram,
        binary=binary,
    )
