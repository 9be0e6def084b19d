"""``run``: the whole analysis grid from a project (or master dataset, or analysis frame)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import IpdmaError
from ._cache import ResultsCache, model_key
from ._design import PreparedModel, TooFewTrials, prepare
from ._importance import flag_importance, important_table
from ._plan import AnalysisPlan, plan_from_dict
from ._results import (
    NOT_ESTIMABLE,
    TABLE_NAMES,
    AnalysisResults,
    write_csv_atomic,
    write_text_atomic,
)
from ._runner import ProgressHook, fit_all
from ._source import Source, check_variables, resolve_source
from ._spec import ModelSpec, build_grid
from ._tables import interactions_table, models_table, overall_table, subgroups_table
from ._two_stage import add_two_stage
from ._window import WindowArrays

__all__ = ["run"]


def run(
    source: Source,
    plan: AnalysisPlan | Mapping[str, Any] | None = None,
    *,
    jobs: int | None = None,
    progress: ProgressHook | None = None,
    output: str | Path | None = None,
    cache: str | Path | None = None,
) -> AnalysisResults:
    """Run the analysis grid: overall effects, modifier interactions, subgroups, Appendix 9.

    Parameters
    ----------
    source
        ``PROJECT/project.toml`` or ``master.duckdb`` (results are cached in that database and
        tables written to ``output/tables/``), a ``MasterData``, or an analysis frame
        (``ipdma.store.analysis_frame`` layout; an optional ``window`` column); see
        :mod:`ipdma.analysis._source`.
    plan
        An :class:`AnalysisPlan` or the ``[analysis]`` table as a dict; default: the project
        file's ``[analysis]`` table (for a master without its project: the plan recorded at
        ingest), else the paper's defaults.

    Raises
    ------
    SpecError
        The plan is invalid, or names a modifier or adjuster that is neither a column of the
        data nor a harmonized variable (before any model is fitted).
    jobs
        Worker processes (default: all available cores).
    progress
        ``progress(done, total, model_id, status)``, called as models finish.
    output
        Folder for ``tables/*.csv`` (default: the master database's folder; none for frames).
    cache
        DuckDB file of the results cache (default: the master database; none for frames).
    """
    start = time.perf_counter()
    source_info = resolve_source(source)
    if not isinstance(plan, AnalysisPlan):
        raw = plan if plan is not None else source_info.plan
        plan = plan_from_dict(raw, file=source_info.project)
    check_variables(plan, source_info)
    database = Path(cache) if cache is not None else source_info.master_file
    out_dir = Path(output) if output is not None else source_info.output
    specs = build_grid(plan, windows=tuple(source_info.frames))
    windows = {name: WindowArrays(frame) for name, frame in source_info.frames.items()}
    entries: list[tuple[ModelSpec, str, dict[str, Any] | None, PreparedModel | None]] = []
    for spec in specs:
        try:
            prepared = prepare(spec, windows[spec.window], plan)
        except IpdmaError as exc:
            entries.append((spec, "", _failed(spec, exc), None))
            continue
        entries.append((spec, model_key(prepared, plan), None, prepared))
    store = ResultsCache(database)
    cached = store.get(key for _, key, _, prepared in entries if prepared is not None)
    todo = {key: prepared for _, key, _, prepared in entries if prepared and key not in cached}
    fitted = fit_all(
        list(todo.items()), plan, jobs=jobs, progress=progress, offset=len(cached),
        total=len(cached) + len(todo),
    )  # fmt: skip
    store.put(fitted)
    records, statuses = [], []
    for spec, key, failed, _ in entries:
        record = failed or cached.get(key) or fitted[key]
        status = _status(record, key in cached)
        records.append((spec, record))
        statuses.append((spec, key, record, status))
    frames = _assemble(records, statuses, plan)
    results = AnalysisResults(
        **frames,
        plan=plan,
        fitted=sum(s == "fitted" for *_, s in statuses),
        cached=sum(s == "cached" for *_, s in statuses),
        failed=sum(s == "failed" for *_, s in statuses),
        not_estimable=sum(s == NOT_ESTIMABLE for *_, s in statuses),
        seconds=time.perf_counter() - start,
        tables=_write(frames, plan, out_dir),
    )
    tables = {name: results.table(name) for name in TABLE_NAMES}
    tables["plan"] = pd.DataFrame({"plan": [plan.record()]})
    store.write_tables(tables)
    return results


def _failed(spec: ModelSpec, exc: IpdmaError) -> dict[str, Any]:
    record: dict[str, Any] = {"model_id": spec.id, "terms": [], "error": str(exc).splitlines()[0]}
    if isinstance(exc, TooFewTrials):
        record["not_estimable"] = True
    return record


def _status(record: dict[str, Any], cached: bool) -> str:
    if record.get("not_estimable"):
        return NOT_ESTIMABLE
    if record.get("error"):
        return "failed"
    return "cached" if cached else "fitted"


def _assemble(records, statuses, plan: AnalysisPlan) -> dict[str, pd.DataFrame]:
    overall = overall_table(records)
    interactions = interactions_table(records, plan)
    subgroups = subgroups_table(records, plan)
    swe = {
        (spec.outcome, spec.window, spec.comparison): plan.importance.swe_fraction
        * record["baseline_mean"]
        for spec, record in records
        if spec.kind == "overall" and record.get("baseline_mean") is not None
    }
    interactions = flag_importance(interactions, subgroups, swe, plan)
    if plan.two_stage:
        by_id = {spec.id: record for spec, record in records}
        overall, interactions = add_two_stage(overall, interactions, by_id)
    return {
        "overall": overall,
        "interactions": interactions,
        "subgroups": subgroups,
        "important": important_table(interactions),
        "models": models_table(statuses),
    }


def _write(results: dict[str, pd.DataFrame], plan: AnalysisPlan, out_dir: Path | None):
    if out_dir is None:
        return {}
    folder = out_dir / "tables"
    # Fit timings stay in the DataFrame and the database; the CSV tables carry only what is
    # determined by the data and the plan, so two runs write byte-identical files.
    timing = ["seconds", "cpu_seconds"]
    paths = {
        name: write_csv_atomic(frame.drop(columns=timing, errors="ignore"), folder / f"{name}.csv")
        for name, frame in results.items()
    }
    text = json.dumps(json.loads(plan.record()), indent=2) + "\n"
    paths["plan"] = write_text_atomic(text, folder / "plan.json")
    return paths
