"""CLI commands: ipdma simulate (registered on ipdma.cli._app.app)."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from ._app import app, console, out, progress_enabled


@app.command()
def simulate(
    outdir: Annotated[Path, typer.Argument(help="Folder to write the simulated project to.")],
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed (same seed, same files).")
    ] = 2020,
) -> None:
    """Write a simulated consortium shaped like the paper's 27 trials (native files, specs)."""
    from ..simulate import consortium

    message = "simulating the trials, then the implied truth (40 large consortia, ~15 s)"
    with console.status(message) if progress_enabled() else nullcontext():
        result = consortium(outdir, seed=seed)
    out.print(result.summary(), highlight=False, markup=False)
    out.print(f"next: ipdma ingest {result.project_file}", highlight=False, markup=False)
