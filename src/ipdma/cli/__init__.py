"""Command-line interface: ``ipdma init | draft | validate | codebook | simulate | ingest |
check | analyze | report | run | demo``.

Exit codes: 0 success, 1 a user error (message, no traceback), 2 an internal error.
"""

from __future__ import annotations

import importlib
import traceback
from collections.abc import Sequence

import typer
from rich.markup import escape

from .._fs import os_error
from ..errors import IpdmaError
from ._app import app, console, state

__all__ = ["app", "main"]

# Each stage registers its commands on `app` when its module is imported.
_COMMAND_MODULES: tuple[str, ...] = (
    "_draft",
    "_simulate",
    "_ingest",
    "_analyze",
    "_predict",
    "_summaries",
    "_federate",
    "_report",
)

for _name in _COMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_name}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (0 ok, 1 user error, 2 internal error)."""
    try:
        result = app(args=list(argv) if argv is not None else None, standalone_mode=False)
    except IpdmaError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, markup=True)
        return 1
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        console.print("aborted")
        return 1
    except KeyboardInterrupt:
        console.print(
            "interrupted: outputs are written whole or not at all, so the previous ones are "
            "kept\n  fix: run the command again",
            highlight=False,
        )
        return 1
    except OSError as exc:  # disk full, permissions, read-only, symlink loop, long paths ...
        console.print(f"[bold red]error:[/] {escape(str(os_error(exc)))}", highlight=False)
        return 1
    except Exception as exc:
        if _is_duckdb_io(exc):  # DuckDB's own I/O errors: disk full, lock held, permissions
            console.print(f"[bold red]error:[/] {escape(str(os_error(exc)))}", highlight=False)
            return 1
        if hasattr(exc, "show") and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()  # a usage error (unknown option, missing argument): the user's to fix
            return 1
        if state.verbose:
            console.print(traceback.format_exc(), highlight=False, markup=False)
        console.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {exc}\n"
            "This is a bug in ipdma; rerun with --verbose for the traceback and report it.",
            highlight=False,
        )
        return 2
    return result if isinstance(result, int) else 0


_OS_FAULTS = ("permission denied", "no space left", "read-only file system", "cannot open file")


def _is_duckdb_io(exc: BaseException) -> bool:
    """DuckDB's I/O errors, also when they surface as another class (a commit that cannot
    open its write-ahead log raises a TransactionException naming the OS error)."""
    module = type(exc).__module__ or ""
    if "duckdb" not in module:
        return False
    if type(exc).__name__ in ("IOException", "PermissionException", "OutOfMemoryException"):
        return True
    return any(fault in str(exc).lower() for fault in _OS_FAULTS)
