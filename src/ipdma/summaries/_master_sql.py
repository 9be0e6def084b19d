"""A project's master dataset as ibis tables on DuckDB: the analysis frame of each window
built in SQL, never loaded into pandas.

``store.analysis_frame`` is ``participants LEFT JOIN followup[window]`` on (trial, pid),
with the follow-up's ``pain``, ``function`` and ``recovery``; here the same join is an ibis
expression on the master file opened read-only, so the aggregation of ``_aggregate`` (trial
centring, category indicators, products, sums) runs inside DuckDB and only one row of sums
per trial comes back. The plan is the project's (``project.toml``), else that of the
project that wrote the master, else the one recorded at ingest, as ``resolve_source`` does;
only the small ``meta`` and ``provenance`` tables are read for it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..analysis._plan import AnalysisPlan
from ..analysis._source import project_of_provenance
from ..errors import DataFileError
from ..spec import load_project
from ..store import MasterMeta

__all__ = ["master_tables"]

_WINDOWS = ("short", "moderate", "long")
_OUTCOMES = ("pain", "function", "recovery")


def _master_file(path: Path) -> tuple[Path, AnalysisPlan | None]:
    if path.suffix == ".toml":
        project = load_project(path)
        return project.output_dir / "master.duckdb", project.analysis
    return path, None


def master_tables(path: Path) -> tuple[Any, dict[str, Any], AnalysisPlan | None]:
    """(ibis DuckDB backend on the master file, {window: analysis-frame table}, plan)."""
    import duckdb
    import ibis

    file, plan = _master_file(path)
    if not file.is_file():
        raise DataFileError(
            "no master dataset found", file=file, hint="run `ipdma ingest PROJECT.toml` first"
        )
    try:
        con = ibis.duckdb.connect(str(file), read_only=True)
        participants = con.table("participants")
        followup = con.table("followup")
        if plan is None:
            plan = _plan_of_master(con, file)
    except (duckdb.Error, ibis.common.exceptions.IbisError) as exc:
        raise DataFileError(
            f"not a readable master dataset ({exc})",
            file=file,
            hint="rebuild it with `ipdma ingest --force PROJECT` (the raw files are unchanged)",
        ) from None
    outcomes = [c for c in _OUTCOMES if c in followup.columns]
    tables = {}
    for window in _WINDOWS:
        follow = followup.filter(followup["window"] == window)
        follow = follow.select("trial", "pid", *outcomes)
        any_outcome = None
        for c in outcomes:
            present = follow[c].notnull()
            any_outcome = present if any_outcome is None else any_outcome | present
        if any_outcome is None or con.execute(follow.filter(any_outcome).count()) == 0:
            continue  # no outcome in this window (as resolve_source: no frame)
        joined = participants.left_join(
            follow,
            (participants["trial"] == follow["trial"]) & (participants["pid"] == follow["pid"]),
        )
        frame = joined.select(
            *[participants[c] for c in participants.columns],
            *[follow[c] for c in outcomes if c not in participants.columns],
        )
        tables[window] = frame
    return con, tables, plan


def _plan_of_master(con: Any, file: Path) -> AnalysisPlan:
    """The plan of the project that wrote the master if found, else the one at ingest."""
    provenance = con.table("provenance")
    columns = [c for c in ("kind", "path") if c in provenance.columns]
    rows = con.execute(provenance.select(*columns)) if len(columns) == 2 else None
    project = None if rows is None else project_of_provenance(rows, file)
    if project is not None:
        return load_project(project).analysis
    meta = {k: json.loads(v) for k, v in con.raw_sql("SELECT key, value FROM meta").fetchall()}
    return MasterMeta.from_record(meta, file).plan
