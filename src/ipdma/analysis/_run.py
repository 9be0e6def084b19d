"""``run``: the whole analysis grid from a project (or master dataset, or analysis frame)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .._fs import replace_folder
from ..errors import IpdmaError, SpecError
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
from ._spec import ModelSpec, build_grid
from ._tables import interactions_table, models_table, overall_table, subgroups_table
from ._two_stage import add_two_stage
from ._window import WindowArrays

__all__ = ["run"]


@dataclass(frozen=True)
class _Source:
    frames: dict[str, pd.DataFrame]
    raw_plan: dict[str, Any] | None
    database: Path | None
    output: Path | None
    project: Path | None


def _read_project(project: Path) -> tuple[dict[str, Any], Path]:
    """The project's raw ``[analysis]`` table and its output folder."""
    from ..spec import load_project

    loaded = load_project(project)
    return dict(loaded.analysis), loaded.output_dir


def _frames_from_master(master: Any, windows: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    from ..harmonize import analysis_frame

    frames = {}
    for window in windows:
        frame = analysis_frame(master, window=window)
        outcomes = [c for c in ("pain", "function", "recovery") if c in frame.columns]
        if len(frame) and frame[outcomes].notna().any().any():
            frames[window] = frame
    return frames


def _project_of_master(master: Any) -> Path | None:
    provenance = getattr(master, "provenance", None)
    if provenance is None or provenance.empty or "kind" not in provenance:
        return None
    rows = provenance[provenance["kind"] == "project"]
    for path in rows.get("path", pd.Series(dtype=object)):
        if path and Path(path).is_file():
            return Path(path)
    return None


def _resolve(source: Any, all_windows: tuple[str, ...]) -> _Source:
    if isinstance(source, pd.DataFrame):
        if "window" in source.columns:
            frames = {str(w): f.drop(columns="window") for w, f in source.groupby("window")}
        else:
            frames = {"short": source}
        return _Source(frames, None, None, None, None)
    if isinstance(source, str | Path):
        from ..store import load

        path = Path(source)
        master = load(path)
        project = path if path.suffix == ".toml" else _project_of_master(master)
        raw, output = _read_project(project) if project is not None else (None, path.parent)
        database = path if path.suffix == ".duckdb" else output / "master.duckdb"
        frames = _frames_from_master(master, all_windows)
        return _Source(frames, raw, database, output, project)
    if hasattr(source, "participants") and hasattr(source, "followup"):
        frames = _frames_from_master(source, all_windows)
        project = _project_of_master(source)
        raw = _read_project(project)[0] if project is not None else None
        return _Source(frames, raw, None, None, project)
    raise IpdmaError(
        f"cannot analyse an object of type {type(source).__name__}",
        hint="pass a project file, a master.duckdb, a MasterData or an analysis frame",
    )


def run(
    source: Any,
    plan: AnalysisPlan | dict[str, Any] | None = None,
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
        (``ipdma.harmonize.analysis_frame`` layout; an optional ``window`` column).
    plan
        An :class:`AnalysisPlan` or the ``[analysis]`` table as a dict; default: the project
        file's ``[analysis]`` table, else the paper's defaults.
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
    source_info = _resolve(source, ("short", "moderate", "long"))
    if not isinstance(plan, AnalysisPlan):
        raw = plan if plan is not None else source_info.raw_plan
        plan = plan_from_dict(raw, file=source_info.project)
        _known_columns(raw or {}, source_info)
    database = Path(cache) if cache is not None else source_info.database
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
    results = _assemble(records, statuses, plan)
    results = AnalysisResults(
        **results,
        plan=plan,
        fitted=sum(s == "fitted" for *_, s in statuses),
        cached=sum(s == "cached" for *_, s in statuses),
        failed=sum(s == "failed" for *_, s in statuses),
        not_estimable=sum(s == NOT_ESTIMABLE for *_, s in statuses),
        seconds=time.perf_counter() - start,
        tables=_write(results, plan, out_dir),
    )
    tables = {name: results.table(name) for name in TABLE_NAMES}
    tables["plan"] = pd.DataFrame({"plan": [plan.record()]})
    store.write_tables(tables)
    return results


def _known_columns(raw: dict[str, Any], source: _Source) -> None:
    """Every modifier and adjuster the plan names explicitly is a variable of the data
    (an upfront SpecError instead of a grid of failed models)."""
    if not source.frames:
        return
    columns = set().union(*(frame.columns for frame in source.frames.values()))
    for key in ("modifiers", "adjust_for"):
        names = raw.get(key, ())
        for name in names if isinstance(names, list | tuple) else ():
            if name not in columns:
                import difflib

                known = sorted(c for c in columns if c not in ("trial", "pid", "arm_code"))
                guess = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
                raise SpecError(
                    f"analysis.{key} names {name!r}, which is not a variable of the master dataset",
                    file=source.project,
                    variable=name,
                    hint=(f"did you mean {guess[0]!r}? " if guess else "")
                    + f"variables: {', '.join(known)}",
                )


def _failed(spec: ModelSpec, exc: IpdmaError) -> dict[str, Any]:
    record = {"model_id": spec.id, "terms": [], "error": str(exc).splitlines()[0]}
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
    # The whole set is written into a new folder that then replaces tables/ (never a mix of
    # two runs' tables, even when the run is killed midway).
    timing = ["seconds", "cpu_seconds"]
    text = json.dumps(json.loads(plan.record()), indent=2) + "\n"

    def write(new: Path) -> None:
        for name, frame in results.items():
            write_csv_atomic(frame.drop(columns=timing, errors="ignore"), new / f"{name}.csv")
        write_text_atomic(text, new / "plan.json")

    replace_folder(folder, write)
    paths = {name: folder / f"{name}.csv" for name in results}
    paths["plan"] = folder / "plan.json"
    return paths
