"""``ipdma ingest``: read every trial (read-only), harmonize, and write the master atomically.

"Re-running on unchanged inputs changes nothing" means: the input fingerprint (SHA-256 of the
project file, every trial spec and every raw file, plus the package version) equals the one
stored in the existing master, so the master file is not opened for writing at all (same
bytes, same modification time) and the result's ``status`` is ``"unchanged"``. Otherwise a
new master is written to a temporary file and renamed over the old one; raw files whose
SHA-256 differs from the previous master's provenance are reported in ``changed``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from .._version import __version__
from ..errors import IpdmaError, SpecError
from ..harmonize import combine_trials, harmonize_trial, instrument_registry, registry_with
from ..harmonize._pseudonym import key_digest
from ..io import check_readable, read_table
from ..spec import Project, TrialSpec, file_sha256, load_project, load_trial_spec
from ._master import TABLES, MasterMeta, load, read_meta, write_master

__all__ = ["IngestResult", "ingest", "stale_inputs"]

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class IngestResult:
    """What ``ingest`` did.

    Attributes
    ----------
    path
        The master DuckDB file.
    status
        ``"written"`` (a new master) or ``"unchanged"`` (inputs identical; nothing written).
    fingerprint
        SHA-256 over the inputs' hashes and the package version.
    changed
        Raw files (paths relative to the project folder) whose content differs from the
        previous master's provenance.
    counts
        Rows per table of the master.
    identifiers
        Columns left out as likely direct identifiers (trial, column, reason, action).
    encodings
        Text encoding used per trial (text files only).
    notices
        What is legal but probably wrong, or cannot contribute (one sentence each, naming
        the trial); also stored in the master's meta table.
    """

    path: Path
    status: Literal["written", "unchanged"]
    fingerprint: str
    changed: tuple[str, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)
    identifiers: pd.DataFrame = field(default_factory=pd.DataFrame)
    encodings: dict[str, str] = field(default_factory=dict)
    notices: tuple[str, ...] = ()

    def summary(self) -> str:
        """One paragraph for the console."""
        lines = [f"master dataset {self.status}: {self.path}"]
        if self.counts:
            lines.append(", ".join(f"{k} {v}" for k, v in self.counts.items()))
        lines += [f"changed raw file: {p}" for p in self.changed]
        lines += [f"notice: {n}" for n in self.notices]
        return "\n".join(lines)


def _provenance_row(kind: str, trial: str | None, path: Path, root: Path) -> dict[str, Any]:
    """Paths are stored relative to the project folder, so a moved project stays unchanged."""
    return {"kind": kind, "trial": trial, "path": Path(os.path.relpath(path, root)).as_posix(),
            "sha256": file_sha256(path), "size": path.stat().st_size, "meta": {}}  # fmt: skip


def _fingerprint(rows: list[dict[str, Any]], pseudonymized: bool = False) -> str:
    items = sorted((r["kind"], r["path"], r["sha256"]) for r in rows)
    key = key_digest() if pseudonymized else None  # a new key gives new pseudonyms
    text = json.dumps({"version": __version__, "inputs": items, "key": key})
    return hashlib.sha256(text.encode()).hexdigest()


def _load_specs(project: Project) -> list[tuple[TrialSpec, Path]]:
    """The trial specs with the files they were read from."""
    listed: dict[Path, int] = {}
    for number, path in enumerate(project.trial_paths, start=1):
        if path in listed:
            raise SpecError(
                f"the trial spec is listed twice in `trials` (entries {listed[path]} and "
                f"{number})",
                file=project.path, spec=path,
                hint="remove the repeated entry from `trials` in project.toml",
            )  # fmt: skip
        listed[path] = number
    specs = [(load_trial_spec(p), p) for p in project.trial_paths]
    seen: dict[str, Path] = {}
    not_included = {t.id for t in project.not_included}
    for spec, path in specs:
        if spec.id in seen or spec.id in not_included:
            other = seen.get(spec.id)
            raise SpecError(
                f"trial id {spec.id!r} is used twice"
                + (f" (also in {other})" if other else " (also in [[not_included]])"),
                trial=spec.id, file=path,
                hint="trial ids must be unique across trial specs and [[not_included]]",
            )  # fmt: skip
        seen[spec.id] = path
    return specs


def stale_inputs(path: str | Path) -> tuple[str, ...]:
    """Input files (project file, trial specs, raw files) whose content differs from what
    the master dataset at ``path`` (a master file or project file) was built from."""
    from ._master import _master_path

    file = _master_path(path)
    try:
        provenance = load(file).provenance
    except (IpdmaError, OSError):
        return ()
    given = Path(path).resolve()
    root = given.parent if given.suffix == ".toml" else file.resolve().parent.parent
    changed = []
    for row in provenance.itertuples(index=False):
        found = root / str(row.path)
        try:
            if not found.is_file():
                continue
            if found.stat().st_size != row.size or file_sha256(found) != row.sha256:
                changed.append(str(row.path))
        except OSError:
            continue
    return tuple(changed)


def ingest(
    project_path: str | Path,
    *,
    output: str | Path | None = None,
    progress: Progress | None = None,
    force: bool = False,
) -> IngestResult:
    """Build (or confirm) the master dataset of a project.

    Parameters
    ----------
    project_path
        The project file.
    output
        The master file (default ``<project output>/master.duckdb``).
    progress
        Called as ``progress(trial, done, total)`` after each trial.
    force
        Rewrite even when the inputs are unchanged.
    """
    project_file = Path(project_path).resolve()
    project = load_project(project_file)
    with_paths = _load_specs(project)
    specs = [spec for spec, _ in with_paths]
    target = Path(output) if output is not None else project.output_dir / "master.duckdb"
    root = project.root
    provenance = [_provenance_row("project", None, project_file, root)]
    provenance += [_provenance_row("spec", s.id, path, root) for s, path in with_paths]
    for spec in specs:
        _named(spec, check_readable, spec.data_path)  # before hashing: an error, not a crash
        provenance.append(_provenance_row("raw", spec.id, spec.data_path, root))
    fingerprint = _fingerprint(provenance, any(s.source.pseudonymize for s in specs))
    previous = read_meta(target)
    if not force and previous is not None and previous.get("fingerprint") == fingerprint:
        return IngestResult(target, "unchanged", fingerprint, counts=previous.get("counts", {}),
                            notices=tuple(previous.get("notices", ())))  # fmt: skip

    variables = registry_with(project.variables)
    harmonized, encodings = [], {}
    for number, spec in enumerate(specs, start=1):
        raw = _read(spec)
        if raw.encoding:
            encodings[spec.id] = raw.encoding
        instruments = instrument_registry(project.instruments, spec.instruments)
        harmonized.append(harmonize_trial(spec, raw, variables=variables, instruments=instruments))
        for row in provenance:
            if row["kind"] == "raw" and row["trial"] == spec.id:
                row["meta"] = {"format": raw.format, "encoding": raw.encoding,
                               "rows": len(raw.data), "columns": raw.data.shape[1]}  # fmt: skip
        if progress is not None:
            progress(spec.id, number, len(specs))
    notices = tuple(n for h in harmonized for n in h.notices)
    tables = combine_trials(project, specs, harmonized)
    created = datetime.now(UTC).isoformat(timespec="seconds")
    provenance[0]["meta"] = {"package_version": __version__, "created": created,
                             "settings": project.settings.model_dump()}  # fmt: skip
    tables["provenance"] = pd.DataFrame(provenance)
    counts = {name: len(tables[name]) for name in TABLES}
    meta = MasterMeta(__version__, created, fingerprint, project.name, project.analysis, counts,
                      notices)  # fmt: skip
    changed = _changed_raw(target, provenance) if previous is not None else ()
    write_master(target, tables, meta.record(project.settings))
    return IngestResult(target, "written", fingerprint, changed, counts,
                        tables["identifiers"], encodings, notices)  # fmt: skip


def _named(spec: TrialSpec, function: Any, *args: Any, **kwargs: Any) -> Any:
    """Call ``function``; an IpdmaError it raises also names the trial and its spec."""
    try:
        return function(*args, **kwargs)
    except IpdmaError as exc:
        if exc.trial is not None and exc.spec is not None:
            raise
        context = {k: getattr(exc, k) for k in ("file", "variable", "row", "value")}
        raise type(exc)(exc.message, trial=exc.trial or spec.id, spec=exc.spec or spec.path,
                        hint=exc.hint, **context) from None  # fmt: skip


def _read(spec: TrialSpec) -> Any:
    source = spec.source
    return _named(spec, read_table, spec.data_path, format=source.format, sheet=source.sheet,
                  delimiter=source.delimiter, decimal=source.decimal, encoding=source.encoding,
                  text_columns=(source.id,))  # fmt: skip


def _changed_raw(target: Path, provenance: list[dict[str, Any]]) -> tuple[str, ...]:
    try:
        old = load(target).provenance
    except Exception:  # an unreadable previous master: nothing to compare with
        return ()
    old_raw = old[old["kind"] == "raw"].set_index("path")["sha256"].to_dict()
    return tuple(
        r["path"] for r in provenance
        if r["kind"] == "raw" and r["path"] in old_raw and old_raw[r["path"]] != r["sha256"]
    )  # fmt: skip
