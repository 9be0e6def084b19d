"""The results store: the analysis stage's own DuckDB file (``output/results.duckdb``).

Apart from the immutable master dataset (``master.duckdb``, written by ``ipdma ingest``),
so re-ingesting never touches the results and the fit cache survives a re-ingest. Tables:

``fits``
    The fit cache: ``key, model_id, record``. ``key`` (:func:`model_key`) is the SHA-256 of
    the model's own data (every value of every column it uses), its formula, options,
    reported terms, inference settings and the estimation code; a model is refitted only
    when one of these changed. ``record`` is :meth:`ModelResult.to_json`.
``results``
    The current result set, one row per grid cell in grid order: ``position, model_id,
    key, record``. What :func:`load_results`, plots, report and CLI read.
``plan``
    The analysis plan of the current results (``plan``: JSON).
``runs``
    The run log, one row per ``analyze`` run: ``run, started, seconds, models, fitted,
    cached, failed, not_estimable, version`` (run facts, kept out of the result tables so
    two identical runs give byte-identical tables).
``fit_times``
    ``run, model_id, key, seconds, cpu_seconds`` of the models fitted in each run.
``beyond``, ``beyond_cache``
    The spline, prediction and credibility frames of the current results
    (:class:`~ipdma.analysis._beyond_records.BeyondResults` as JSON), and the cache of the
    spline fits and cross-validations (``key, payload``; :mod:`ipdma.analysis._beyond`).

Every write is one transaction.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from .._version import __version__
from ..errors import DataFileError
from ._design import PreparedModel
from ._fit import df_method_of, options_of
from ._forest import wants_trials
from ._plan import AnalysisPlan
from ._records import ModelResult
from ._spec import ModelSpec
from ._two_stage import wants_two_stage

if TYPE_CHECKING:  # pragma: no cover
    from ._imputed import ImputationDiagnostics

__all__ = ["RESULTS_FILE", "ResultsStore", "RunLog", "model_key", "pooled_key"]

RESULTS_FILE = "results.duckdb"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS fits (key VARCHAR PRIMARY KEY, model_id VARCHAR, record VARCHAR)",
    "CREATE TABLE IF NOT EXISTS results (position INTEGER, model_id VARCHAR, key VARCHAR, "
    "record VARCHAR)",
    "CREATE TABLE IF NOT EXISTS plan (plan VARCHAR)",
    "CREATE TABLE IF NOT EXISTS runs (run INTEGER, started VARCHAR, seconds DOUBLE, "
    "models INTEGER, fitted INTEGER, cached INTEGER, failed INTEGER, not_estimable INTEGER, "
    "version VARCHAR)",
    "CREATE TABLE IF NOT EXISTS fit_times (run INTEGER, model_id VARCHAR, key VARCHAR, "
    "seconds DOUBLE, cpu_seconds DOUBLE)",
    "CREATE TABLE IF NOT EXISTS imputation (follow_up VARCHAR, diagnostics VARCHAR)",
    "CREATE TABLE IF NOT EXISTS beyond_cache (key VARCHAR PRIMARY KEY, payload VARCHAR)",
    "CREATE TABLE IF NOT EXISTS beyond (results VARCHAR)",
)


@dataclass(frozen=True)
class RunLog:
    """Facts of one ``analyze`` run (not results: they differ between identical runs).

    ``fitted`` models were fitted in this run, ``cached`` reused from the fit cache,
    ``failed`` could not be fitted and ``not_estimable`` were not attempted (fewer than two
    trials).
    """

    run: int
    started: str
    seconds: float
    models: int
    fitted: int
    cached: int
    failed: int
    not_estimable: int
    version: str = __version__


@functools.cache
def _code_digest() -> str:
    """Digest of the estimation and analysis source, so a changed engine invalidates fits."""
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    paths = [
        *sorted((here.parent / "models").glob("*.py")),
        *(
            here / n
            for n in ("_design.py", "_fit.py", "_two_stage.py", "_forest.py", "_records.py")
        ),
    ]
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def model_key(prepared: PreparedModel, plan: AnalysisPlan) -> str:
    """SHA-256 of the model's data, formula, options, reported terms and the code version.

    Only the model's own rows and columns enter (not the trials' labels or other
    metadata), so a re-ingest that leaves them unchanged keeps the key.
    """
    digest = hashlib.sha256()
    spec = {
        "version": __version__,
        "code": _code_digest(),
        "model": prepared.spec.id,
        "formula": prepared.formula,
        "options": options_of(prepared, plan).__dict__,
        "level": plan.level,
        "df_method": df_method_of(prepared, plan),
        "terms": [t.__dict__ for t in prepared.terms],
        "dropped": prepared.dropped,
        "baseline_mean": prepared.baseline_mean,
        "reference": prepared.reference,
        "notes": list(prepared.notes),
        "two_stage": wants_two_stage(prepared, plan),
        "trials": wants_trials(prepared, plan),
        "columns": list(prepared.data.columns),
    }
    digest.update(json.dumps(spec, sort_keys=True, default=str).encode())
    digest.update(prepared.data_digest.encode())
    return digest.hexdigest()


@functools.cache
def _pool_digest() -> str:
    """Digest of the pooling source (Rubin's rules and the pooled record)."""
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for path in (here / "_imputed_records.py", here.parent / "impute" / "_rubin.py"):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def pooled_key(spec: ModelSpec, keys: Sequence[str]) -> str:
    """The key of a model pooled over m completed datasets: SHA-256 of the keys of its m
    fits (:func:`model_key`; ``""`` for a dataset on which it could not be prepared), the
    model and the pooling code. The results store caches pooled records under it."""
    digest = hashlib.sha256()
    for part in (__version__, _pool_digest(), spec.id, *keys):
        digest.update(part.encode())
        digest.update(b"\x1f")
    return digest.hexdigest()


class ResultsStore:
    """The results store at ``path`` (a DuckDB file, created on first write), or nowhere."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = None if path is None else Path(path)

    def _connect(self, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        assert self.path is not None
        if read_only:
            return duckdb.connect(str(self.path), read_only=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(self.path))
        for statement in _SCHEMA:
            con.execute(statement)
        return con

    def cached(self, keys: Iterable[str]) -> dict[str, ModelResult]:
        """The cached records of those keys that are present."""
        wanted = list(dict.fromkeys(keys))
        if self.path is None or not wanted or not self.path.exists():
            return {}
        con = self._connect()
        try:
            con.execute("CREATE TEMP TABLE wanted (key VARCHAR)")
            _insert(con, "INSERT INTO wanted", ("key",), [(k,) for k in wanted])
            rows = con.execute(
                "SELECT f.key, f.record FROM fits f JOIN wanted w USING (key)"
            ).fetchall()
        finally:
            con.close()
        return {key: ModelResult.from_json(record) for key, record in rows}

    def save(
        self,
        records: Sequence[ModelResult],
        keys: Sequence[str],
        plan: AnalysisPlan,
        *,
        new_fits: Mapping[str, ModelResult],
        times: Mapping[str, tuple[float, float]],
        log: RunLog,
        imputation: Sequence[ImputationDiagnostics] = (),
        beyond: str | None = None,
        beyond_cache: Mapping[str, str] | None = None,
    ) -> RunLog:
        """Store a run in one transaction: new fits into the cache (failed fits are not
        cached), the result set and plan (replaced), the run log (appended).

        Returns the log with its run number.
        """
        if self.path is None:
            return log
        con = self._connect()
        try:
            con.execute("BEGIN TRANSACTION")
            (run,) = con.execute("SELECT coalesce(max(run), 0) + 1 FROM runs").fetchall()[0]
            cache = [(k, r.model_id, r.to_json()) for k, r in new_fits.items() if r.error is None]
            if cache:
                _insert(con, "INSERT OR REPLACE INTO fits", ("key", "model_id", "record"), cache)
            con.execute("DELETE FROM results")
            pairs = enumerate(zip(records, keys, strict=True))
            rows = [(i, r.model_id, k, r.to_json()) for i, (r, k) in pairs]
            if rows:
                _insert(con, "INSERT INTO results", ("position", "model_id", "key", "record"), rows)
            con.execute("DELETE FROM imputation")
            if imputation:
                con.executemany(
                    "INSERT INTO imputation VALUES (?, ?)",
                    [(d.window, d.to_json()) for d in imputation],
                )
            con.execute("DELETE FROM plan")
            con.execute("INSERT INTO plan VALUES (?)", [plan.record()])
            con.execute("DELETE FROM beyond")
            if beyond is not None:
                con.execute("INSERT INTO beyond VALUES (?)", [beyond])
            if beyond_cache:
                con.executemany("INSERT OR REPLACE INTO beyond_cache VALUES (?, ?)",
                                list(beyond_cache.items()))  # fmt: skip
            log = RunLog(**{**log.__dict__, "run": run})
            con.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", list(log.__dict__.values())
            )
            timing = [(run, new_fits[k].model_id, k, t, cpu) for k, (t, cpu) in times.items()]
            if timing:
                _insert(
                    con, "INSERT INTO fit_times",
                    ("run", "model_id", "key", "seconds", "cpu_seconds"), timing,
                )  # fmt: skip
            con.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):  # a failed write may have ended it
                con.execute("ROLLBACK")
            raise
        finally:
            con.close()
        return log

    def fit_times(self, run: int) -> pd.DataFrame:
        """``model_id, key, seconds, cpu_seconds`` of the models fitted in run ``run``."""
        columns = ["model_id", "key", "seconds", "cpu_seconds"]
        if self.path is None or not self.path.exists():
            return pd.DataFrame(columns=columns)
        con = self._connect(read_only=True)
        try:
            frame = con.execute(
                "SELECT model_id, key, seconds, cpu_seconds FROM fit_times WHERE run = ? "
                "ORDER BY model_id",
                [run],
            ).df()
        finally:
            con.close()
        return frame[columns]

    def fitted_in(self, run: int) -> list[str]:
        """Ids of the models fitted (not taken from the cache) in run ``run``."""
        return [str(m) for m in self.fit_times(run)["model_id"]]

    def imputation(self) -> list[str]:
        """The imputation diagnostics of the current results (JSON, one per window)."""
        if self.path is None or not self.path.exists():
            return []
        con = self._connect(read_only=True)
        try:
            tables = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
            if "imputation" not in tables:
                return []
            rows = con.execute("SELECT diagnostics FROM imputation ORDER BY follow_up").fetchall()
        finally:
            con.close()
        return [str(row[0]) for row in rows]

    def beyond_cached(self, keys: Sequence[str]) -> dict[str, str]:
        """The cached payloads of those spline / cross-validation keys that are present."""
        wanted = list(dict.fromkeys(keys))
        if self.path is None or not wanted or not self.path.exists():
            return {}
        con = self._connect()
        try:
            con.execute("CREATE TEMP TABLE wanted_beyond (key VARCHAR)")
            con.executemany("INSERT INTO wanted_beyond VALUES (?)", [(k,) for k in wanted])
            rows = con.execute(
                "SELECT c.key, c.payload FROM beyond_cache c JOIN wanted_beyond USING (key)"
            ).fetchall()
        finally:
            con.close()
        return {str(key): str(payload) for key, payload in rows}

    def beyond(self) -> str | None:
        """The beyond-the-paper frames of the current results (JSON), or None."""
        if self.path is None or not self.path.exists():
            return None
        con = self._connect(read_only=True)
        try:
            tables = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
            if "beyond" not in tables:
                return None
            row = con.execute("SELECT results FROM beyond").fetchone()
        finally:
            con.close()
        return None if row is None else str(row[0])

    def load(self) -> tuple[list[ModelResult], list[str], str, RunLog | None]:
        """The current records (grid order), their keys, the plan JSON and the last run log.

        Raises
        ------
        DataFileError
            When the store does not exist or holds no results (run ``ipdma analyze``).
        """
        if self.path is None or not self.path.exists():
            raise DataFileError(
                "the analysis results do not exist yet",
                file=self.path,
                hint="run `ipdma analyze PROJECT` (or `ipdma run`) first",
            )
        con = self._connect(read_only=True)
        try:
            tables = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
            if not {"results", "plan"} <= tables:
                rows, plan_rows, log_row = [], [], None
            else:
                rows = con.execute("SELECT key, record FROM results ORDER BY position").fetchall()
                plan_rows = con.execute("SELECT plan FROM plan").fetchall()
                log_row = con.execute("SELECT * FROM runs ORDER BY run DESC LIMIT 1").fetchone()
        finally:
            con.close()
        if not plan_rows:
            raise DataFileError(
                "the results store holds no analysis results",
                file=self.path,
                hint="run `ipdma analyze PROJECT` (or `ipdma run`) first",
            )
        records = [ModelResult.from_json(record) for _, record in rows]
        log = None if log_row is None else RunLog(*log_row)
        return records, [key for key, _ in rows], str(plan_rows[0][0]), log


def now() -> str:
    """The current UTC time (ISO 8601, seconds)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def as_dict(log: RunLog) -> dict[str, Any]:
    """The run log as a plain dict."""
    return dict(log.__dict__)


def _insert(
    con: duckdb.DuckDBPyConnection, statement: str, columns: tuple[str, ...], rows: list[tuple]
) -> None:
    """``statement`` (``INSERT [OR REPLACE] INTO table``) for many rows in one scan of a
    registered frame (``executemany`` runs one statement per row: seconds for a grid)."""
    frame = pd.DataFrame.from_records(rows, columns=list(columns))
    con.register("_ipdma_rows", frame)
    try:
        con.execute(
            f"{statement} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM _ipdma_rows"
        )
    finally:
        con.unregister("_ipdma_rows")
