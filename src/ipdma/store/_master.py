"""The master dataset: a frozen bundle of DataFrames, and its DuckDB file."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import duckdb
import pandas as pd
from pydantic import ValidationError

from .._fs import os_error
from .._literals import Window
from ..errors import DataFileError
from ..spec import AnalysisPlan, Settings, load_project, plan_from_dict

__all__ = ["TABLES", "MasterData", "MasterMeta", "load", "read_meta", "write_master"]

#: the tables of the master DuckDB file, in order
TABLES = (
    "trials", "arms", "participants", "outcomes", "windows", "followup", "published",
    "provenance", "identifiers",
)  # fmt: skip


@dataclass(frozen=True)
class MasterMeta:
    """What a master file records about itself (its ``meta`` table).

    Attributes
    ----------
    package_version, created
        The ipdma version that wrote the file and when (ISO 8601, UTC).
    fingerprint
        SHA-256 over the inputs' hashes and the package version (see ``ipdma.store.ingest``).
    project
        The project's name.
    plan
        The project's analysis plan at ingest.
    counts
        Rows per table.
    notices
        What ingest noticed (implausible schedules, trials that cannot contribute).
    """

    package_version: str = ""
    created: str = ""
    fingerprint: str = ""
    project: str = ""
    plan: AnalysisPlan = field(default_factory=AnalysisPlan)
    counts: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    notices: tuple[str, ...] = ()

    def record(self, settings: Settings) -> dict[str, Any]:
        """The ``meta`` table's rows (key -> JSON-able value), with the harmonization settings."""
        out = asdict(self) | {"counts": dict(self.counts), "settings": settings.model_dump(),
                              "notices": list(self.notices)}  # fmt: skip
        out["plan"] = self.plan.model_dump(mode="json")
        return out

    @classmethod
    def from_record(cls, record: Mapping[str, Any], file: Path | None = None) -> MasterMeta:
        """Parse the ``meta`` table (see :meth:`record`)."""
        return cls(
            package_version=str(record.get("package_version", "")),
            created=str(record.get("created", "")),
            fingerprint=str(record.get("fingerprint", "")),
            project=str(record.get("project", "")),
            plan=plan_from_dict(record.get("plan") or {}, file=file),
            counts=MappingProxyType({str(k): int(v) for k, v in record.get("counts", {}).items()}),
            notices=tuple(str(n) for n in record.get("notices", ())),
        )


@dataclass(frozen=True)
class MasterData:
    """The harmonized master dataset (layout: /work/helpers/CONTRACTS.md, docs/spec.md).

    Attributes
    ----------
    trials, arms, participants, outcomes, windows, followup, published, provenance
        The tables as DataFrames.
    identifiers
        Columns detected as direct identifiers per trial, with the reason and the action.
    settings
        The project's harmonization settings (windows, ties, recovery thresholds).
    meta
        Package version, creation time, input fingerprint, project name and analysis plan.
    path
        The file this was loaded from (None when built in memory).
    """

    trials: pd.DataFrame
    arms: pd.DataFrame
    participants: pd.DataFrame
    outcomes: pd.DataFrame
    windows: pd.DataFrame
    followup: pd.DataFrame
    published: pd.DataFrame
    provenance: pd.DataFrame
    identifiers: pd.DataFrame = field(default_factory=pd.DataFrame)
    settings: Settings = field(default_factory=Settings)
    meta: MasterMeta = field(default_factory=MasterMeta)
    path: Path | None = None

    def summary(self) -> str:
        """Counts of trials, participants and outcome values."""
        included = int(self.trials["included"].sum()) if len(self.trials) else 0
        return (
            f"master dataset: {included} included trial(s), "
            f"{len(self.trials) - included} not included, "
            f"{len(self.participants)} participants, {len(self.outcomes)} outcome values "
            f"(ipdma {self.meta.package_version or '?'}, "
            f"created {self.meta.created or '?'})"
        )

    def analysis_frame(self, window: Window = "short") -> pd.DataFrame:
        """Participants joined with one window's follow-up (see :func:`analysis_frame`)."""
        from ._frame import analysis_frame

        return analysis_frame(self, window)

    def __repr__(self) -> str:
        return f"<MasterData {self.summary()}>"

    def _repr_html_(self) -> str:
        return f"<p>{self.summary()}</p>" + self.trials.to_html(index=False, max_rows=60)


def _for_duckdb(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if series.dtype == object:
            kinds = {type(v) for v in series.dropna()}
            if kinds - {str}:
                if kinds <= {bool}:
                    out[column] = series.astype("boolean")
                elif all(k in (dict, list) for k in kinds):
                    out[column] = series.map(json.dumps, na_action="ignore")
                else:
                    out[column] = series.map(str, na_action="ignore")
    return out


def write_master(path: Path, tables: Mapping[str, pd.DataFrame], meta: Mapping[str, Any]) -> None:
    """Write the tables and ``meta`` to ``path`` atomically (temp file, then os.replace).

    On any error the temp file is removed and an existing ``path`` is left untouched.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temps(path)
    except OSError as exc:
        raise os_error(exc, path.parent) from None
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with duckdb.connect(str(temp)) as con:
            for name in TABLES:
                frame = _for_duckdb(tables.get(name, pd.DataFrame()))
                if frame.shape[1] == 0:
                    frame = pd.DataFrame({"_empty": pd.Series(dtype=str)})
                con.register("frame_view", frame)
                con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM frame_view')
                con.unregister("frame_view")
            con.execute("CREATE TABLE meta (key VARCHAR, value VARCHAR)")
            con.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [(k, json.dumps(v, default=str)) for k, v in sorted(meta.items())],
            )
        os.replace(temp, path)
    except (OSError, duckdb.IOException, duckdb.PermissionException) as exc:
        raise os_error(exc, path) from None
    finally:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)
            Path(str(temp) + ".wal").unlink(missing_ok=True)


def _remove_stale_temps(path: Path) -> None:
    """Temp files of writers that were killed (their process no longer exists)."""
    for temp in path.parent.glob(f".{path.name}.*.tmp*"):
        pid = temp.name[len(path.name) + 2 :].split(".")[0]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                temp.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _master_path(path: str | Path) -> Path:
    path = Path(path)
    if path.suffix == ".toml":
        return load_project(path).output_dir / "master.duckdb"
    return path


def read_meta(path: Path) -> dict[str, Any] | None:
    """The ``meta`` table of a master file, or None if the file is absent or not a master."""
    if not path.is_file():
        return None
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            rows = con.execute("SELECT key, value FROM meta").fetchall()
    except duckdb.Error:
        return None
    return {key: json.loads(value) for key, value in rows}


def load(path: str | Path) -> MasterData:
    """Read the master dataset.

    Parameters
    ----------
    path
        The master DuckDB file, or a project file (then ``<output>/master.duckdb``).

    Raises
    ------
    DataFileError
        No master dataset there (run ``ipdma ingest`` first) or it is not a master file.
    """
    file = _master_path(path)
    if not file.is_file():
        raise DataFileError(
            "no master dataset found", file=file, hint="run `ipdma ingest PROJECT.toml` first"
        )
    try:
        with duckdb.connect(str(file), read_only=True) as con:
            frames = {name: con.execute(f'SELECT * FROM "{name}"').df() for name in TABLES}
            meta = {k: json.loads(v) for k, v in con.execute("SELECT * FROM meta").fetchall()}
    except duckdb.Error as exc:
        if "permission denied" in str(exc).lower():  # the file is fine, the user cannot read it
            raise os_error(exc, file) from None
        raise DataFileError(
            f"not a readable master dataset ({exc})",
            file=file,
            hint="rebuild it with `ipdma ingest --force PROJECT` (the raw files are unchanged)",
        ) from None
    for name, frame in frames.items():
        if list(frame.columns) == ["_empty"]:
            frames[name] = pd.DataFrame()
    provenance = frames["provenance"]
    if "meta" in provenance.columns:
        provenance["meta"] = provenance["meta"].map(json.loads, na_action="ignore")
    try:
        settings = Settings.model_validate(meta.get("settings", {}))
    except ValidationError:
        raise DataFileError(
            "the master dataset's settings are not readable by this ipdma version",
            file=file,
            hint="re-run `ipdma ingest PROJECT.toml --force`",
        ) from None
    return MasterData(
        trials=frames["trials"],
        arms=frames["arms"],
        participants=frames["participants"],
        outcomes=frames["outcomes"],
        windows=frames["windows"],
        followup=frames["followup"],
        published=frames["published"],
        provenance=frames["provenance"],
        identifiers=frames["identifiers"],
        settings=settings,
        meta=MasterMeta.from_record(meta, file),
        path=file,
    )
