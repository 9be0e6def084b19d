"""CLI commands: ipdma analyze (registered on ipdma.cli._app.app)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ._app import app, console, locked, out, progress_enabled, project_file

if TYPE_CHECKING:
    from ..analysis import AnalysisResults


@app.command("analyze")
def analyze(
    project: Annotated[
        list[Path],
        typer.Argument(
            help="The project file (project.toml) or master.duckdb; with --summaries, the "
            "sites' summaries files."
        ),
    ],
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", min=1, help="Worker processes (default: all cores)."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Output folder (default: output/ by the project)."),
    ] = None,
    summaries: Annotated[
        bool,
        typer.Option("--summaries", help="Fit the linear models from sites' summaries files."),
    ] = False,
    plan: Annotated[
        Path | None,
        typer.Option("--plan", help="With --summaries: a TOML file whose [analysis] is the plan."),
    ] = None,
) -> None:
    """Fit the analysis grid (overall effects, modifiers, subgroups) and write the tables."""
    from ..errors import InputError
    from ..store import stale_inputs

    if summaries:
        from ._summaries import analyze_summaries

        analyze_summaries(project, plan, output)
        return
    if len(project) != 1:
        raise InputError(
            f"analyze takes one project, not {len(project)} paths",
            hint="pass project.toml, or --summaries FILE1 FILE2 ... for sites' summaries",
        )
    path = project[0]
    if path.suffix != ".duckdb":
        path = project_file(path)
    with locked(path, "ipdma analyze"):
        for changed in stale_inputs(path):
            console.print(
                f"[yellow]notice:[/] {changed} changed after the master dataset was written; "
                "run `ipdma ingest` to analyse the current data",
                highlight=False,
            )
        _print(_run(path, jobs, output), path)


def _run(project: Path, jobs: int | None, output: Path | None) -> AnalysisResults:
    from ..analysis import run

    if progress_enabled():
        columns = (
            TextColumn("[bold]analyze"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[model]}", style="dim"),
        )
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("models", total=None, model="preparing")

            def progress(done: int, total: int, model_id: str, status: str) -> None:
                bar.update(task, completed=done, total=total, model=f"{status}: {model_id}")

            results = run(project, jobs=jobs, progress=progress, output=output)
    else:
        results = run(project, jobs=jobs, output=output)
    return results


def _print(results: AnalysisResults, project: Path) -> None:
    out.print(
        f"models: {len(results.records)} ({results.fitted} fitted, {results.cached} cached, "
        f"{results.failed} failed, {results.not_estimable} not estimable: fewer than 2 trials) "
        f"in {results.seconds:.1f} s"
    )
    if results.not_converged:
        out.print(f"not converged (optimum not verified): {results.not_converged}")
    out.print(f"potentially important modifiers (Appendix 9): {len(results.important)}")
    if results.tables:
        folder = Path(results.tables["overall"]).parent
        out.print(f"tables: {folder}")
        figures = _subgroup_figures(results, folder.parent / "figures", _settings(project))
        if figures:
            out.print(f"figures: {figures[0].parent} ({len(figures)} subgroup forest plots)")
    separated: dict[str, int] = {}
    for record in results.records:
        for trial in record.separated:
            separated[trial] = separated.get(trial, 0) + 1
    for trial, count in sorted(separated.items()):
        console.print(
            f"[yellow]notice:[/] separation in trial {trial} ({count} logistic model(s)): the "
            "outcome is perfectly predicted within the trial, so those estimates are unstable; "
            "they are marked in the tables (column `separated`), the report marks them \u2016, "
            "and two-stage estimates leave the trial out (column `two_stage_note`)",
            highlight=False,
        )
    failed = [r for r in results.records if r.status == "failed"]
    for record in failed[:5]:
        console.print(f"[yellow]failed:[/] {record.model_id}: {record.error}", highlight=False)
    if len(failed) > 5:
        console.print(f"[yellow]... and {len(failed) - 5} more (see models.csv)[/]")


def _settings(project: Path) -> dict[str, Any] | None:
    """The project's harmonization settings (window targets for captions), if a project."""
    if project.suffix != ".toml":
        return None
    from ..spec import load_project

    return load_project(project).settings.model_dump(mode="json")


def _subgroup_figures(
    results: AnalysisResults, folder: Path, settings: dict[str, Any] | None
) -> list[Path]:
    """Figures 3-5: subgroup effects of the primary window and comparison set, per outcome."""
    from .. import plots
    from ..report._captions import comparison_phrase, window_phrase

    plan = results.plan
    table = results.subgroups
    table = table[
        (table["window"] == plan.primary_window) & (table["comparison"] == plan.primary_comparison)
    ].dropna(subset=["estimate"])
    written: list[Path] = []
    for outcome, rows in table.groupby("outcome", sort=False):
        odds = rows["scale"].iloc[0] == "OR"
        figure = plots.subgroup_forest(
            rows,
            group="label",
            measure="OR" if odds else "MD",
            ratio=odds,
            favours=("Favours comparison", "Favours exercise")
            if odds
            else ("Favours exercise", "Favours comparison"),
            title=f"{str(outcome).capitalize()}: {comparison_phrase(plan.primary_comparison)}, "
            f"{window_phrase(plan.primary_window, settings)}",
        )
        written.extend(plots.save(figure, folder / f"subgroups-{outcome}"))
    return written
