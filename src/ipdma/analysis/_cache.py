"""The results cache in the master DuckDB: fitted-model records keyed by data + model hash.

A record is reused only when the model's data (every value of every column it uses), its
formula, its options and the ipdma version are all identical, so a re-run fits only what
changed.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._version import __version__
from ._design import PreparedModel
from ._fit import options_of
from ._plan import AnalysisPlan
from ._two_stage import wants_two_stage

__all__ = ["ResultsCache", "model_key"]

_TABLE = "analysis_results"


@functools.cache
def _code_digest() -> str:
    """Digest of the estimation and analysis source, so a changed engine invalidates results."""
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    paths = [
        *sorted((here.parent / "models").glob("*.py")),
        *(here / n for n in ("_design.py", "_fit.py", "_two_stage.py")),
    ]
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def model_key(prepared: PreparedModel, plan: AnalysisPlan) -> str:
    """SHA-256 of the model's data, formula, options, reported terms and the code version."""
    digest = hashlib.sha256()
    spec = {
        "version": __version__,
        "code": _code_digest(),
        "formula": prepared.formula,
        "options": options_of(prepared, plan),
        "level": plan.level,
        "df_method": plan.model.df_method,
        "terms": [t.__dict__ for t in prepared.terms],
        "dropped": prepared.dropped,
        "two_stage": wants_two_stage(prepared, plan),
        "columns": list(prepared.data.columns),
    }
    digest.update(json.dumps(spec, sort_keys=True, default=str).encode())
    for name, column in prepared.data.items():
        digest.update(str(name).encode())
        values = column.to_numpy()
        if values.dtype == object:
            digest.update("\x1f".join(map(str, values)).encode())
        else:
            digest.update(np.ascontiguousarray(values).tobytes())
    return digest.hexdigest()


class ResultsCache:
    """Fitted-model records in table ``analysis_results`` of a DuckDB file (or nowhere)."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = None if path is None else Path(path)

    def _connect(self):
        import duckdb

        con = duckdb.connect(str(self.path))
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {_TABLE} (key VARCHAR PRIMARY KEY, model_id VARCHAR, "
            "record VARCHAR, created TIMESTAMP DEFAULT current_timestamp)"
        )
        return con

    def get(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The stored records of those keys that are present."""
        keys = list(keys)
        if self.path is None or not keys:
            return {}
        con = self._connect()
        try:
            con.execute("CREATE TEMP TABLE wanted (key VARCHAR)")
            con.executemany("INSERT INTO wanted VALUES (?)", [(k,) for k in keys])
            rows = con.execute(
                f"SELECT r.key, r.record FROM {_TABLE} r JOIN wanted w USING (key)"
            ).fetchall()
        finally:
            con.close()
        return {key: json.loads(record) for key, record in rows}

    def put(self, records: dict[str, dict[str, Any]]) -> None:
        """Store records (replacing any with the same key); failed fits are not stored."""
        records = {k: r for k, r in records.items() if r.get("error") is None}
        if self.path is None or not records:
            return
        frame = pd.DataFrame(
            {
                "key": list(records),
                "model_id": [r["model_id"] for r in records.values()],
                "record": [json.dumps(r) for r in records.values()],
            }
        )
        con = self._connect()
        try:
            con.register("new_records", frame)
            con.execute(
                f"INSERT OR REPLACE INTO {_TABLE} (key, model_id, record) "
                "SELECT key, model_id, record FROM new_records"
            )
            con.unregister("new_records")
        finally:
            con.close()

    def write_tables(self, tables: dict[str, pd.DataFrame]) -> None:
        """Replace the tidy result tables (``analysis_<name>``) in the database."""
        if self.path is None:
            return
        con = self._connect()
        try:
            for name, frame in tables.items():
                con.register("frame_view", frame)
                con.execute(f"CREATE OR REPLACE TABLE analysis_{name} AS SELECT * FROM frame_view")
                con.unregister("frame_view")
        finally:
            con.close()
