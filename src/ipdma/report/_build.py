"""``build(project)``: gather a project's results and write its report.

Reads the harmonized master dataset (``ipdma.load``), the descriptive tables
(``ipdma.describe``), the data checks (``ipdma.checks``), and the analysis results from the
results store (:func:`ipdma.analysis.load_results`: the typed model records and the plan
they were fitted under; never the CSV exports); draws the figures; writes the report.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .._version import __version__
from ..analysis import RESULTS_FILE, AnalysisResults, load_results, plan_from_dict
from ..errors import DataFileError, IpdmaError
from ._aggregate import aggregate_figures_of
from ._beyond import beyond_figures
from ._compose import ReportInputs
from ._figures import aggregate_figures, flow_figure, overall_figures, subgroup_figures
from ._write import write_report

__all__ = ["build", "collect"]


def build(
    project_path: str | Path, *, output: str | Path | None = None, checks: Any = None
) -> Path:
    """Write the project's report and return the path of ``report/index.html``.

    Parameters
    ----------
    project_path
        The project file (``project.toml``).
    output
        The output folder; default: the project's (``output/`` beside the project file).
        The analysis results are always read from the project's own output folder.
    checks
        The ``ipdma.checks.CheckReport`` of this project if already computed (``ipdma run``
        passes it); default: run the checks.

    Raises
    ------
    DataFileError
        When the master dataset does not exist yet (run ``ipdma ingest`` first).
    """
    from ..spec import load_project

    project = load_project(project_path)
    target = Path(output).resolve() if output is not None else project.output_dir
    inputs = collect(project, checks=checks)
    return write_report(inputs, target).html


def _results(project: Any, notices: list[str]) -> AnalysisResults | None:
    """The project's analysis results from its results store (None, with a notice, if absent)."""
    try:
        return load_results(project.output_dir)
    except DataFileError:
        notices.append(
            f"The analysis results were not found ({project.output_dir / RESULTS_FILE}): run "
            f"`ipdma analyze {project.path}`. The report shows the data only."
        )
        return None


def _plan(project: Any, results: AnalysisResults | None) -> tuple[dict[str, Any], dict[str, str]]:
    """The plan the results were fitted under, else the project's; and modifier labels."""
    plan = (
        results.plan if results is not None else plan_from_dict(project.analysis, file=project.path)
    )
    labels = {}
    for name in (*plan.modifiers, *plan.adjust_for):
        labels[name] = plan.modifier_spec(name).label or name
    return plan.model_dump(mode="json"), labels


def _optional(step: Callable[[], Any], what: str, notices: list[str]) -> Any:
    """Run a presentation step; an IpdmaError becomes a notice in the report, not a crash."""
    try:
        return step()
    except IpdmaError as exc:
        notices.append(f"{what} could not be produced: {exc.message}")
        return None


def collect(project: Any, *, checks: Any = None) -> ReportInputs:
    """All inputs of the report of ``project`` (an ``ipdma.spec.Project``)."""
    import ipdma

    from .. import describe

    notices: list[str] = []
    master_path = project.output_dir / "master.duckdb"
    if not master_path.exists():
        raise DataFileError(
            "the master dataset does not exist yet",
            file=master_path,
            hint=f"run `ipdma ingest {project.path}` (or `ipdma run`) first",
        )
    master = ipdma.load(master_path)
    results = _results(project, notices)
    plan, labels = _plan(project, results)
    trials = master.trials
    included = trials.loc[trials["included"].astype(bool)]
    tables = {}
    for name, title in (("table1", "Table 1"), ("table2", "Table 2"), ("table3", "Table 3")):
        function = getattr(describe, name, None)
        if function is not None:
            tables[name] = _optional(functools.partial(function, master), title, notices)
    overall = None if results is None else results.overall
    figures = list(
        _optional(lambda: flow_figure(master, overall, project.flow), "Figure 1", notices) or []
    )
    figures += _optional(lambda: aggregate_figures(master), "Figure 2", notices) or []
    if results is not None:
        names = dict(zip(trials["trial"].astype(str), trials["label"].astype(str), strict=True))
        figures += (
            _optional(
                lambda: overall_figures(results.forest, results.overall, plan, names),
                "The one-stage forest plots",
                notices,
            )
            or []
        )
        figures += (
            _optional(
                lambda: aggregate_figures_of(results, plan, names),
                "The IPD + aggregate-data forest plots",
                notices,
            )
            or []
        )
        figures += (
            _optional(
                lambda: subgroup_figures(
                    results.subgroups,
                    plan,
                    results.overall,
                    results.interactions,
                    _settings(master, project),
                ),
                "Figures 3-5",
                notices,
            )
            or []
        )
        figures += (
            _optional(
                lambda: beyond_figures(results, plan, names, labels, _settings(master, project)),
                "The non-linear, prediction and credibility figures",
                notices,
            )
            or []
        )
    return ReportInputs(
        title=str(getattr(project, "name", "") or "ipdma report"),
        version=__version__,
        plan=plan,
        settings=_settings(master, project),
        labels=labels,
        n_trials=len(included),
        n_participants=len(master.participants),
        provenance=_provenance(master.provenance, project.root),
        checks=_checks(project, notices, checks),
        table1=tables.get("table1"),
        table2=tables.get("table2"),
        table3=tables.get("table3"),
        followup=_optional(lambda: describe.followup_weeks(master), "Follow-up weeks", notices),
        overall=None if results is None else results.overall,
        interactions=None if results is None else results.interactions,
        important=None if results is None else results.important,
        models=None if results is None else results.models,
        results=results,
        figures=tuple(figures),
        notices=tuple(notices),
        truth=_truth(project.root),
        codebook="../codebook/index.html"
        if (project.output_dir / "codebook" / "index.html").is_file()
        else "",
    )


def _truth(root: Path) -> dict[str, float] | None:
    """The implied truth of a simulated project (``truth.json`` written by
    ``ipdma simulate`` beside ``project.toml``); None for real projects."""
    path = root / "truth.json"
    if not path.is_file():
        return None
    try:
        implied = json.loads(path.read_text("utf-8")).get("implied")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(implied, dict):
        return None
    return {str(k): float(v) for k, v in implied.items() if isinstance(v, int | float)}


def _settings(master: Any, project: Any) -> Mapping[str, Any]:
    settings = getattr(master, "settings", None)
    if isinstance(settings, Mapping) and settings:
        return settings
    return project.settings.model_dump(mode="json")


def _provenance(provenance: pd.DataFrame, root: Path) -> pd.DataFrame:
    """Files, hashes and sizes; paths relative to the project folder, sorted."""
    columns = [c for c in ("kind", "trial", "path", "sha256", "size") if c in provenance.columns]
    frame = provenance[columns].copy()
    if "path" in frame:
        frame["path"] = [_relative(p, root) for p in frame["path"]]
    return frame.sort_values([c for c in ("kind", "trial", "path") if c in frame]).reset_index(
        drop=True
    )


def _relative(path: Any, root: Path) -> str:
    try:
        return Path(str(path)).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _checks(project: Any, notices: list[str], report: Any = None) -> dict[str, pd.DataFrame]:
    """The replication table (discrepancies first) and % missing per trial and variable."""
    from ..checks import check

    if report is None:
        report = _optional(lambda: check(project.path), "The data-checking tables", notices)
    if report is None:
        return {}
    out: dict[str, pd.DataFrame] = {}
    replication = report.replication
    if not replication.empty:
        first = replication["status"].map({"discrepancy": 0, "not computable": 1}).fillna(2)
        replication = replication.assign(_order=first).sort_values(
            ["_order", "trial"], kind="stable"
        )
        out["replication"] = replication.drop(columns="_order")
    missing = report.missing
    if not missing.empty:
        order = list(dict.fromkeys(missing["variable"]))
        table = missing.pivot(index="trial", columns="variable", values="pct_missing")
        table = table.reindex(columns=order).reindex(list(dict.fromkeys(missing["trial"])))
        out["missingness"] = table.reset_index()
    return out
