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
from ..analysis._spec import ModelSpec, build_grid
from ..errors import InputError
from ..store import MasterData
from ._aggregate import crossproducts_expr, run_crossproducts
from ._disclosure import DisclosureRules, block_problems
from ._file import ModelSummary, NotSummarised, SiteSummaries, Withheld, plan_hash
from ._layout import (
    Categories,
    RawLayout,
    categories_of,
    category_rule,
    raw_layout,
)

__all__ = ["summarize"]

_WINDOWS = ("short", "moderate", "long")


def _tables(source: Any, backend: Any) -> tuple[Any, dict[str, Any], AnalysisPlan | None]:
    """(ibis backend, {window: ibis table}, the project's plan or None)."""
    import ibis
    import pandas as pd

    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.suffix == ".parquet" or (path.is_dir() and not (path / "project.toml").is_file()):
            con = backend or ibis.duckdb.connect()
            table = con.read_parquet(str(path / "*.parquet") if path.is_dir() else str(path))
            return con, _by_window(table), None
        if backend is None and (path.suffix in (".toml", ".duckdb") or path.is_dir()):
            from ._master_sql import master_tables

            return master_tables(path / "project.toml" if path.is_dir() else path)
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


def _site_categories(table, spec: ModelSpec, plan: AnalysisPlan, con) -> Categories | str | None:
    """The modifier's categories at this site (None: used as a column; str: why not)."""
    if spec.kind == "overall":
        return None
    z = str(spec.modifier)
    rule = category_rule(spec, plan, table.schema()[z].is_numeric())
    if rule is None or rule not in ("binary", "strings", "cutpoints"):
        return rule
    present: list[str] = []
    if rule == "strings":
        values = con.to_pyarrow(table.select(level=table[z].cast("string")).distinct())
        present = sorted(str(v) for v in values.column("level").to_pylist() if v is not None)
    return categories_of(spec, plan, rule, present)  # type: ignore[arg-type]


def _blocks_of(con, table, spec: ModelSpec, layout: RawLayout, rules: DisclosureRules):
    """(kept blocks, withheld) of one model: trials with both arms whose every block passes."""
    blocks = run_crossproducts(
        con, crossproducts_expr(table, layout, comparison=spec.comparison), layout
    )
    by_trial: dict[str, list[int]] = {}
    for k, trial in enumerate(blocks.trials):
        by_trial.setdefault(trial, []).append(k)
    keep: list[int] = []
    withheld: list[Withheld] = []
    for trial, ks in by_trial.items():
        raws = [blocks.raw_gram(k) for k in ks]
        treated, n = sum(r[0, 1] for r in raws), sum(r[0, 0] for r in raws)
        if not 0 < treated < n:
            continue  # one arm only: not in the model (no information on the effect)
        problems = [
            p
            for k, raw in zip(ks, raws, strict=True)
            for p in block_problems(
                layout.columns, raw, blocks.binary[k], rules, cell=blocks.cells[k]
            )
        ]
        if problems:
            withheld.append(Withheld(spec.id, trial, tuple(problems)))
        else:
            keep += ks
    return blocks, keep, withheld


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
        ``project.toml`` or ``master.duckdb`` (the analysis frames are built in SQL on the
        master file, read-only: no participant row is loaded into pandas); an analysis
        frame (``window`` column optional); a Parquet file or folder of analysis-frame
        rows; or an ibis table (with ``backend``, e.g. ``ibis.pyspark.connect(spark)``).
    plan
        The analysis plan (default: the project's ``[analysis]`` table, else the paper's).
    rules
        Disclosure rules (default: at least 5 participants per cell).
    backend
        The ibis backend that runs the aggregation (default: an in-process DuckDB).

    Every linear model of the plan is summarised: overall, interactions with continuous,
    binary and categorical modifiers, subgroup models (one block per trial and category)
    and any prognostic-effect option (the coordinator forms the per-trial columns). Not
    summarised, with the reason recorded: subgroups cut at the pooled median (no site can
    compute it; give cut-points). Logistic models are summarised too: their design comes
    from these blocks, their fit from the iterative protocol (``fit_federated_binomial``).
    """
    rules = rules or DisclosureRules()
    con, tables, project_plan = _tables(source, backend)
    plan = plan_from_dict(plan if plan is not None else project_plan)
    record = plan.record()
    models: list[ModelSummary] = []
    withheld: list[Withheld] = []
    skipped: dict[str, str] = {}
    for spec in build_grid(plan, windows=tuple(tables)):
        table = tables[spec.window]
        needed = (*raw_layout(spec, plan).needed, "treat", "trial")
        missing = [v for v in needed if v not in table.columns]
        if missing or (spec.comparison != "any" and "comparison" not in table.columns):
            continue  # a variable this site does not have: no rows for this model
        categories = _site_categories(table, spec, plan, con)
        if isinstance(categories, str):
            skipped[spec.id] = categories
            continue
        layout = raw_layout(spec, plan, categories)
        blocks, keep, refused = _blocks_of(con, table, spec, layout, rules)
        withheld += refused
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
                    rule=categories.rule if categories is not None else "",
                    cells=tuple(blocks.cells[k] for k in keep) if layout.by_category else (),
                )
            )
    return SiteSummaries(
        site=site,
        plan=record,
        plan_hash=plan_hash(record),
        min_cell=rules.min_cell,
        models=tuple(models),
        withheld=tuple(withheld),
        not_summarised=tuple(NotSummarised(m, r) for m, r in skipped.items()),
    )
