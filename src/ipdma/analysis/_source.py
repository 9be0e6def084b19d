"""What the analysis grid runs on: analysis frames per window, the plan, where results go.

``run`` accepts four kinds of source; each has its own typed constructor here, so that the
dispatch is one ``isinstance`` chain over a closed union (:data:`Source`) and every stage
below receives an :class:`AnalysisSource`:

* a project file (``project.toml``): its master dataset, its ``[analysis]`` plan, results
  under its output folder;
* a master file (``master.duckdb``): the plan of the project that wrote it (found through the
  master's provenance), else the plan recorded at ingest;
* a :class:`~ipdma.store.MasterData`: the same, with nothing written;
* an analysis frame (``ipdma.store.analysis_frame`` layout; an optional ``window`` column):
  the paper's default plan, nothing written.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import pandas as pd

from .._literals import Window
from ..errors import IpdmaError
from ..spec import VARIABLES, AnalysisPlan, check_plan_variables, load_project
from ..store import MasterData, analysis_frame, load

__all__ = ["AnalysisSource", "Source", "check_variables", "resolve_source"]

#: what :func:`ipdma.analysis.run` accepts
Source: TypeAlias = str | os.PathLike[str] | MasterData | pd.DataFrame

_WINDOWS: tuple[Window, ...] = ("short", "moderate", "long")
_OUTCOMES = ("pain", "function", "recovery")


@dataclass(frozen=True)
class AnalysisSource:
    """The analysis frames of one source and what it says about the plan and the outputs.

    Attributes
    ----------
    frames
        One analysis frame per follow-up window that has any outcome value.
    plan
        The project's plan (None: the caller's or the paper's default).
    master_file
        The master file the frames come from (results are kept beside it), or None.
    output
        The folder for ``tables/``, or None (nothing written).
    project
        The project file, when known (named in errors).
    """

    frames: Mapping[str, pd.DataFrame]
    plan: AnalysisPlan | None = None
    master_file: Path | None = None
    output: Path | None = None
    project: Path | None = None


def _frames(master: MasterData) -> dict[str, pd.DataFrame]:
    frames: dict[str, pd.DataFrame] = {}
    for window in _WINDOWS:
        frame = analysis_frame(master, window=window)
        outcomes = [c for c in _OUTCOMES if c in frame.columns]
        if len(frame) and frame[outcomes].notna().any().any():
            frames[window] = frame
    return frames


def project_of_master(master: MasterData) -> Path | None:
    """The project file that wrote ``master``, if it can be found.

    The provenance stores the project file relative to the project folder; it is looked up
    from the working directory and from the folders above the master file, and accepted
    only if that project's output folder holds this master file.
    """
    return project_of_provenance(master.provenance, master.path)


def project_of_provenance(provenance: pd.DataFrame, path: Path | None) -> Path | None:
    """:func:`project_of_master` from a master's provenance table and file path."""
    if provenance.empty or "kind" not in provenance or "path" not in provenance:
        return None
    relative = [str(p) for p in provenance.loc[provenance["kind"] == "project", "path"]]
    bases = [Path.cwd()]
    if path is not None:
        bases += list(path.resolve().parents)
    for rel in relative:
        for base in bases:
            candidate = (base / rel).resolve()
            if not candidate.is_file():
                continue
            if path is None:
                return candidate
            try:
                output = load_project(candidate).output_dir
            except IpdmaError:
                continue
            if output == path.resolve().parent:
                return candidate
    return None


def from_master(master: MasterData) -> AnalysisSource:
    """A master dataset in memory: the project's plan if its file is found, else the plan
    recorded at ingest; nothing is written."""
    project = project_of_master(master)
    plan = load_project(project).analysis if project is not None else master.meta.plan
    return AnalysisSource(_frames(master), plan, None, None, project)


def from_path(path: Path) -> AnalysisSource:
    """A project file or a master file: results cached and tables written beside it."""
    if path.suffix == ".toml":
        project = load_project(path)
        master = load(project.output_dir / "master.duckdb")
        return AnalysisSource(
            _frames(master), project.analysis, master.path, project.output_dir, path
        )
    master = load(path)
    source = from_master(master)
    return AnalysisSource(source.frames, source.plan, path, path.parent, source.project)


def from_frame(frame: pd.DataFrame) -> AnalysisSource:
    """An analysis frame (one window, or a ``window`` column); nothing is written."""
    if "window" in frame.columns:
        return AnalysisSource(
            {str(w): f.drop(columns="window") for w, f in frame.groupby("window")}
        )
    return AnalysisSource({"short": frame})


def resolve_source(source: Source) -> AnalysisSource:
    """The :class:`AnalysisSource` of any accepted source (see the module docstring)."""
    if isinstance(source, pd.DataFrame):
        return from_frame(source)
    if isinstance(source, MasterData):
        return from_master(source)
    if isinstance(source, str | os.PathLike):
        return from_path(Path(source))
    raise IpdmaError(
        f"cannot analyse an object of type {type(source).__name__}",
        hint="pass a project file, a master.duckdb, a MasterData or an analysis frame",
    )


def check_variables(plan: AnalysisPlan, source: AnalysisSource) -> None:
    """Every modifier and adjuster must be a column of the data or a registry variable
    (a registry variable no trial measured is reported per model, not here)."""
    columns: Collection[str] = {c for frame in source.frames.values() for c in frame.columns}
    check_plan_variables(plan, set(VARIABLES) | set(columns), file=source.project)
