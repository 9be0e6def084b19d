"""CLI commands: ipdma init, draft, validate, codebook (registered on ipdma.cli._app.app)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ._app import app, console, out, state


@app.command()
def init(
    projectdir: Annotated[Path, typer.Argument(help="The project folder to create.")],
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Folder of raw trial files (default: PROJECTDIR/data)."),
    ] = None,
) -> None:
    """Create a project: project.toml with every setting, one drafted spec per raw file."""
    from ..draft import init_project

    result = init_project(projectdir, data=data)
    out.print(result.summary(), highlight=False, markup=False, soft_wrap=True)
    out.print(f"next: edit the TODOs, then ipdma validate {result.project_file}",
              highlight=False, markup=False, soft_wrap=True)  # fmt: skip


@app.command()
def draft(
    rawfile: Annotated[Path, typer.Argument(help="A raw trial file (.sav .dta .csv ...).")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the spec here (default: print it)."),
    ] = None,
) -> None:
    """Propose a trial spec from a raw file's names, labels, codes and values."""
    from ..draft import draft_toml, draft_trial
    from ..errors import SpecError

    spec_dir = output.parent if output is not None else Path.cwd()
    result = draft_trial(rawfile, spec_dir=spec_dir)
    text = draft_toml(result)
    if output is None:
        sys.stdout.write(text)
    else:
        if output.exists():
            raise SpecError("the spec file exists already and is not overwritten", file=output,
                            hint="choose another --output path or remove the file")  # fmt: skip
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        out.print(f"spec drafted: {output}", highlight=False, markup=False, soft_wrap=True)
    if not state.quiet:
        console.print(result.summary(), highlight=False, markup=False, soft_wrap=True)


@app.command()
def validate(
    project: Annotated[Path, typer.Argument(help="The project file or folder.")],
) -> None:
    """Check a project as ingest would, without writing anything; list every problem."""
    from ..draft import validate as run_validate

    report = run_validate(project)
    out.print(report.summary(), highlight=False, markup=False, soft_wrap=True)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def codebook(
    target: Annotated[Path, typer.Argument(help="A project (file or folder) or a raw file.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Folder for the pages and CSV.")
    ] = None,
) -> None:
    """Write a data dictionary per trial: HTML pages (linked from the report) and CSV."""
    from ..draft import codebook as run_codebook

    result = run_codebook(target, output=output)
    out.print(result.summary(), highlight=False, markup=False, soft_wrap=True)
