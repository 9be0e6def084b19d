"""The typer application, its global options and the error boundary of the CLI.

Commands live in one module per stage (``_simulate``, ``_ingest``, ``_analyze``,
``_report``) and register themselves on :data:`app`. The CLI only orchestrates the
public API; it holds no statistics.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console

from .._version import __version__
from ..errors import SpecError

app = typer.Typer(
    name="ipdma",
    help="Individual participant data meta-analysis: from raw trial files to the report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

console = Console(stderr=True)
out = Console()


@dataclass
class Verbosity:
    """Global output level, set once by the top-level options."""

    quiet: bool = False
    verbose: bool = False


state = Verbosity()


def _version(value: bool) -> None:
    if value:
        out.print(f"ipdma {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors and the final summary."),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="More detail; tracebacks on internal errors."
    ),
) -> None:
    state.quiet = quiet
    state.verbose = verbose
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="%(message)s")


def progress_enabled() -> bool:
    """Progress bars are shown unless --quiet."""
    return not state.quiet


def project_file(path: Path) -> Path:
    """``path`` itself, or ``path/project.toml`` when a folder is given; SpecError if absent."""
    if path.is_dir():
        path = path / "project.toml"
    if not path.is_file():
        raise SpecError(
            "the project file does not exist",
            file=path,
            hint="pass the path of a project.toml or of the folder holding it "
            "(see `ipdma demo` for an example project)",
        )
    return path


def _output_folder(path: Path) -> Path:
    if path.suffix == ".duckdb":
        return path.resolve().parent
    from ..spec import load_project

    return load_project(path).output_dir


@contextlib.contextmanager
def locked(path: Path, command: str) -> Iterator[None]:
    """Hold the project lock (the output folder of project or master ``path``) for a command.

    A second command on the same project waits (saying for which process), then stops with
    a message naming it; leftovers of interrupted runs are removed once the lock is held.
    """
    from .._fs import project_lock

    def waiting(holder: str) -> None:
        console.print(f"waiting for {holder} to finish with this project ...", highlight=False)

    with project_lock(_output_folder(path), command, on_wait=waiting):
        yield
