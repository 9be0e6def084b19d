"""``run``: the whole analysis grid from a project (or master dataset, or analysis frame)."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._fs import replace_folder
from ..errors import IpdmaError
from ._aggregate_records import load_aggregate, save_aggregate
from ._aggregate_run import aggregate_analyses, aggregate_inputs, ipd_trial_ids
from ._beyond import beyond
from ._beyond_records import BeyondResults
from ._design import PreparedModel, TooFewTrials, prepare
from ._imputed import ImputationDiagnostics, imputed_grid
from ._plan import AnalysisPlan, plan_from_dict
from ._records import ModelResult, empty_tidy
from ._results import TABLE_NAMES, AnalysisResults, write_csv_atomic, write_text_atomic
from ._runner import ProgressHook, fit_all
from ._source import Source, check_variables, resolve_source
from ._spec import ModelSpec, build_grid
from ._store import RESULTS_FILE, ResultsStore, RunLog, model_key, now
from ._window import WindowArrays

__all__ = ["load_results", "run"]


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

    Every model's record goes to the results store (``output/results.duckdb``, apart from
    the master dataset); a model whose data and specification are unchanged since it was
    last fitted is taken from the store's fit cache. The CSV tables (``output/tables/``)
    are exports of the store.

    Parameters
    ----------
    source
        ``PROJECT/project.toml`` or ``master.duckdb`` (results stored in
        ``results.duckdb`` beside the master, tables written to ``tables/``), a
        ``MasterData``, or an analysis frame (``ipdma.store.analysis_frame`` layout; an
        optional ``window`` column); see :mod:`ipdma.analysis._source`.
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
        The results store (DuckDB file; default: ``results.duckdb`` in the master
        database's folder; none for frames).
    """
    start, started = time.perf_counter(), now()
    source_info = resolve_source(source)
    if not isinstance(plan, AnalysisPlan):
        raw = plan if plan is not None else source_info.plan
        plan = plan_from_dict(raw, file=source_info.project)
    check_variables(plan, source_info)
    aggregate_data = aggregate_inputs(plan, source_info.project, ipd_trial_ids(source_info.frames))
    if cache is not None:
        database: Path | None = Path(cache)
    elif source_info.master_file is not None:
        database = source_info.master_file.parent / RESULTS_FILE
    else:
        database = None
    out_dir = Path(output) if output is not None else source_info.output
    specs = build_grid(plan, windows=tuple(source_info.frames))
    windows = {name: WindowArrays(frame) for name, frame in source_info.frames.items()}
    entries: list[tuple[str, ModelResult | None, PreparedModel | None]] = []
    for spec in specs:
        try:
            prepared = prepare(spec, windows[spec.window], plan)
        except IpdmaError as exc:
            entries.append(("", _not_prepared(spec, exc, plan), None))
            continue
        entries.append((model_key(prepared, plan), None, prepared))
    store = ResultsStore(database)
    cached = store.cached(key for key, _, prepared in entries if prepared is not None)
    todo = {key: prepared for key, _, prepared in entries if prepared and key not in cached}
    outcomes = fit_all(
        list(todo.items()), plan, jobs=jobs, progress=progress, offset=len(cached),
        total=len(cached) + len(todo),
    )  # fmt: skip
    new_fits = {key: outcome.record for key, outcome in outcomes.items()}
    records = [failed or cached.get(key) or new_fits[key] for key, failed, _ in entries]
    keys = [key for key, _, _ in entries]
    times = {key: (o.seconds, o.cpu_seconds) for key, o in outcomes.items()}
    diagnostics: list[ImputationDiagnostics] = []
    cached_count = sum(1 for key, failed, _ in entries if failed is None and key in cached)
    if plan.imputation.enabled:
        grid = imputed_grid(source_info.frames, specs, plan, store, jobs=jobs, progress=progress)
        records += grid.records
        keys += grid.keys
        new_fits.update(grid.new_fits)
        times.update(grid.times)
        cached_count += grid.cached
        diagnostics = grid.diagnostics
    aggregate = aggregate_analyses([p for _, _, p in entries], plan, aggregate_data)
    results = AnalysisResults.from_records(records, keys, plan, imputation=diagnostics,
                                           aggregate=aggregate)  # fmt: skip
    extra, extra_cache = beyond(
        plan, source_info.frames, results.interactions, results.important, store.beyond_cached
    )
    log = RunLog(
        run=0,
        started=started,
        seconds=time.perf_counter() - start,
        models=len(records),
        fitted=sum(1 for r in new_fits.values() if r.status != "failed"),
        cached=cached_count,
        failed=sum(r.status == "failed" for r in records),
        not_estimable=sum(r.status == "not estimable" for r in records),
    )
    log = store.save(records, keys, plan, new_fits=new_fits, times=times, log=log,
                     imputation=diagnostics, beyond=extra.to_json(),
                     beyond_cache=extra_cache)  # fmt: skip
    save_aggregate(store.path, aggregate)
    results = dataclasses.replace(results, run=log, beyond=extra)
    return dataclasses.replace(results, tables=export_tables(results, out_dir))


def load_results(project: str | Path) -> AnalysisResults:
    """The results of the last ``analyze`` run of a project, from its results store.

    ``project`` is the project file (``project.toml``), its output folder, or the
    ``results.duckdb`` file itself. Plots, the report and the CLI read results only
    through this (typed records, tables built from them), never from the CSV exports.

    Raises
    ------
    DataFileError
        When there are no results yet (run ``ipdma analyze`` first).
    """
    path = Path(project)
    if path.suffix == ".toml":
        from ..spec import load_project

        path = load_project(path).output_dir / RESULTS_FILE
    elif path.is_dir():
        path = path / RESULTS_FILE
    store = ResultsStore(path)
    records, keys, plan_json, log = store.load()
    plan = AnalysisPlan.model_validate(json.loads(plan_json))
    diagnostics = [ImputationDiagnostics.from_json(text) for text in store.imputation()]
    results = AnalysisResults.from_records(records, keys, plan, run=log, imputation=diagnostics,
                                           aggregate=load_aggregate(store.path))  # fmt: skip
    stored = store.beyond()
    if stored is None:
        return results
    return dataclasses.replace(results, beyond=BeyondResults.from_json(stored))


def _not_prepared(spec: ModelSpec, exc: IpdmaError, plan: AnalysisPlan) -> ModelResult:
    """The record of a model that could not be set up (not estimable, or failed)."""
    gaussian = spec.family == "gaussian" and plan.model.df_method == "satterthwaite"
    return ModelResult(
        spec=spec,
        status="not estimable" if isinstance(exc, TooFewTrials) else "failed",
        level=plan.level,
        df_method="satterthwaite" if gaussian else "wald",
        terms=empty_tidy(),
        error=str(exc).splitlines()[0],
    )


def export_tables(results: AnalysisResults, out_dir: Path | None) -> dict[str, Path]:
    """Write the result tables as CSV (and the plan as JSON) into ``out_dir/tables``.

    The tables carry only what the data and the plan determine, so two runs on the same
    inputs write byte-identical files (run facts are in the store's run log).
    """
    if out_dir is None:
        return {}
    folder = out_dir / "tables"
    # The whole set is written into a new folder that then replaces tables/ (never a mix of
    # two runs' tables, even when the run is killed midway).
    names = tuple(n for n in TABLE_NAMES if n not in ("imputation", "aggregate"))
    if len(results.imputation):  # only when the plan asks for imputation
        names = (*names, "imputation")
    if len(results.aggregate):  # only when the plan adds aggregate data
        names = (*names, "aggregate")
    text = json.dumps(json.loads(results.plan.record()), indent=2) + "\n"

    def write(new: Path) -> None:
        for name in names:
            write_csv_atomic(results.table(name), new / f"{name}.csv")
        write_text_atomic(text, new / "plan.json")

    replace_folder(folder, write)
    paths = {name: folder / f"{name}.csv" for name in names}
    paths["plan"] = folder / "plan.json"
    return paths
