"""Site side: the per-trial summaries of every linear model of the plan, disclosure-checked.

``summarize(source, plan)`` reads the data where they are (a project, a master database, an
analysis frame, Parquet files, or an ibis table on DuckDB or Spark), computes per model and
trial the raw cross-products (``_aggregate``), keeps only trials with both arms, applies the
disclosure rules (``_disclosure``) and returns a :class:`SiteSummaries` to write.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis._plan import AnalysisPlan, plan_from_dict
from ..analysis._source import resolve_source
from ..analysis._spec import build_grid
from ..errors import InputError
from ..store import MasterData
from ._aggregate import crossproducts_expr, run_crossproducts
from ._disclosure import DisclosureRules, block_problems
from ._file import ModelSummary, SiteSummaries, Withheld, plan_hash
from ._layout import raw_layout, supported

__all__ = ["summarize"]

_WINDOWS = ("short", "moderate", "long")


def _tables(source: Any, backend: Any) -> tuple[Any, dict[str, Any], AnalysisPlan | None]:
    """(ibis backend, {window: ibis table}, the project's plan or None)."""
    import ibis
    import pandas as pd

    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.suffix == ".parquet" or path.is_dir():
            con = backend or ibis.duckdb.connect()
            table = con.read_parquet(str(path / "*.parquet") if path.is_dir() else str(path))
            return con, _by_window(table), None
    if isinstance(source, pd.DataFrame) and "window" in source.columns:
        con = backend or ibis.duckdb.connect()
        return con, _by_window(ibis.memtable(source)), None
    if isinstance(source, str | os.PathLike | pd.DataFrame | MasterData):
        resolved = resolve_source(source)
        con = backend or ibis.duckdb.connect()
        tables = {w: ibis.memtable(f) for w, f in resolved.frames.items()}
        return con, tables, resolved.plan
    if isinstance(source, ibis.Table):
        if backend is None:
            raise InputError(
                "an ibis table needs its backend",
                hint="pass backend=ibis.duckdb.connect(...) or ibis.pyspark.connect(spark)",
            )
        return backend, _by_window(source), None
    raise InputError(
        f"cannot summarise an object of type {type(source).__name__}",
        hint="pass a project file, master.duckdb, an analysis frame, Parquet files or an ibis table",
    )


def _by_window(table: Any) -> dict[str, Any]:
    if "window" not in table.columns:
        return {"short": table}
    return {w: table.filter(table["window"] == w) for w in _WINDOWS}


def summarize(
    source: Any,
    plan: AnalysisPlan | dict | None = None,
    *,
    site: str = "site",
    rules: DisclosureRules | None = None,
    backend: Any = None,
) -> SiteSummaries:
    """Per-trial summaries of every linear model of ``plan`` at one site.

    Parameters
    ----------
    source
        ``project.toml`` or ``master.duckdb``; an analysis frame (``window`` column
        optional); a Parquet file or folder of analysis-frame rows; or an ibis table
        (with ``backend``, e.g. ``ibis.pyspark.connect(spark)``).
    plan
        The analysis plan (default: the project's ``[analysis]`` table, else the paper's).
    rules
        Disclosure rules (default: at least 5 participants per cell).
    backend
        The ibis backend that runs the aggregation (default: an in-process DuckDB).

    Models the summaries cannot carry (subgroup models, categorical modifiers, a stratified
    prognostic effect; logistic models, which use the iterative protocol) are skipped.
    """
    rules = rules or DisclosureRules()
    con, tables, project_plan = _tables(source, backend)
    plan = plan_from_dict(plan if plan is not None else project_plan)
    record = plan.record()
    models: list[ModelSummary] = []
    withheld: list[Withheld] = []
    for spec in build_grid(plan, windows=tuple(tables)):
        if supported(spec, plan) is not None:
            continue
        layout = raw_layout(spec, plan)
        table = tables[spec.window]
        missing = [v for v in (*layout.needed, "treat", "trial") if v not in table.columns]
        if missing or (spec.comparison != "any" and "comparison" not in table.columns):
            continue  # a variable this site does not have: no rows for this model
        blocks = run_crossproducts(
            con, crossproducts_expr(table, layout, comparison=spec.comparison), layout
        )
        keep = []
        for k, trial in enumerate(blocks.trials):
            raw = blocks.raw_gram(k)
            if not 0 < raw[0, 1] < blocks.n[k]:
                continue  # one arm only: not in the model (no information on the effect)
            problems = block_problems(layout.columns, raw, blocks.binary[k], rules)
            if problems:
                withheld.append(Withheld(spec.id, trial, tuple(problems)))
            else:
                keep.append(k)
        if keep:
            idx = np.asarray(keep)
            models.append(
                ModelSummary(
                    model_id=spec.id,
                    columns=layout.columns,
                    trials=tuple(blocks.trials[k] for k in keep),
                    n=blocks.n[idx],
                    means=blocks.means[idx],
                    gram=blocks.gram[idx],
                )
            )
    return SiteSummaries(
        site=site,
        plan=record,
        plan_hash=plan_hash(record),
        min_cell=rules.min_cell,
        models=tuple(models),
        withheld=tuple(withheld),
    )
