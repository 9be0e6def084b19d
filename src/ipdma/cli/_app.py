"""The typer application, its global options and the error boundary of the CLI.

Commands live in one module per stage (``_simulate``, ``_ingest``, ``_analyze``,
``_report``) and register themselves on :data:`app`. The CLI only orchestrates the
public API; it holds no statistics.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import typer
from rich.console import Console

from .._version import __version__

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
