"""CLI commands: ipdma ingest, ipdma check (registered on ipdma.cli._app.app)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from ._app import app, console, locked, out, progress_enabled, project_file, state


def _table(frame: pd.DataFrame, title: str, *, digits: int = 2) -> Table:
    table = Table(title=title, show_lines=False)
    for column in frame.columns:
        table.add_column(str(column), overflow="fold")
    for row in frame.itertuples(index=False):
        cells = []
        for value in row:
            if isinstance(value, float):
                cells.append("" if pd.isna(value) else f"{value:.{digits}f}")
            else:
                cells.append("" if value is None or value is pd.NA else escape(str(value)))
        table.add_row(*cells)
    return table


@app.command()
def ingest(
    project: Annotated[Path, typer.Argument(help="The project file (project.toml) or its folder.")],
    force: Annotated[
        bool, typer.Option("--force", help="Rewrite even if nothing changed.")
    ] = False,
) -> None:
    """Read every trial, harmonize it and write the master dataset (output/master.duckdb)."""
    from ..store import ingest as run_ingest

    project = project_file(project)
    with locked(project, "ipdma ingest"), Progress(
        TextColumn("[bold]ingest[/]"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.description}"), console=console, disable=not progress_enabled(),
        transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task("reading trial specs", total=None)

        def step(trial: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=trial)

        result = run_ingest(project, progress=step, force=force)
    for path in result.changed:
        console.print(f"[yellow]changed raw file since the previous master:[/] {path}")
    quiet = state.quiet
    if len(result.identifiers) and quiet:  # privacy-relevant: one line even with --quiet
        out.print(
            f"{len(result.identifiers)} column(s) left out as likely direct identifiers "
            "(run without --quiet to list them)"
        )
    elif len(result.identifiers):
        out.print(_table(result.identifiers, "Columns left out as likely direct identifiers"))
    from ..harmonize._notices import grouped_notices

    for notice in grouped_notices(list(result.notices)):
        console.print(f"[yellow]notice:[/] {escape(notice)}", highlight=False)
    for trial, encoding in result.encodings.items():
        if encoding != "utf-8" and not quiet:
            console.print(f"{trial}: text file read as {encoding}")
    if result.status == "unchanged":
        out.print(f"inputs unchanged; master dataset not rewritten: {result.path}")
    elif quiet:
        out.print(f"master dataset written: {result.path}")
    else:
        counts = pd.DataFrame(list(result.counts.items()), columns=["table", "rows"])
        out.print(_table(counts, f"Master dataset written: {result.path}"))


@app.command()
def check(
    project: Annotated[Path, typer.Argument(help="The project file (project.toml) or its folder.")],
    all_variables: Annotated[
        bool, typer.Option("--all", help="List every trial x variable, not only collected ones.")
    ] = False,
) -> None:
    """Missingness, ranges and replication of published aggregates per trial."""
    from ..checks import check as run_check

    report = run_check(project_file(project))
    missing = report.missing
    if not all_variables:
        missing = missing[missing["missing"] < missing["n"]]
    out.print(_table(missing, "Missing data and ranges (harmonized scale)"))
    out.print(_table(report.replication, "Replication of published aggregates"))
    out.print(report.summary())
    from ..harmonize._notices import grouped_notices

    for notice in grouped_notices(list(report.notices)):
        out.print(f"notice: {escape(notice)}", highlight=False)
