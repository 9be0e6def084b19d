"""CLI commands: ipdma simulate (registered on ipdma.cli._app.app)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._app import app, out


@app.command()
def simulate(
    outdir: Annotated[Path, typer.Argument(help="Folder to write the simulated project to.")],
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed (same seed, same files).")
    ] = 2020,
) -> None:
    """Write a simulated consortium shaped like the paper's 27 trials (native files, specs)."""
    from ..simulate import consortium

    result = consortium(outdir, seed=seed)
    out.print(result.summary(), highlight=False, markup=False)
    out.print(f"next: ipdma ingest {result.project_file}", highlight=False, markup=False)
