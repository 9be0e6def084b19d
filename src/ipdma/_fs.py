"""File-system faults a user can cause, the project lock, atomic folders and stale temp files.

* :func:`os_error` turns an ``OSError`` (or DuckDB's I/O errors) into an
  :class:`~ipdma.errors.IpdmaError` that names the path and says what to do: disk full,
  permission denied, read-only file system, a file where a folder is needed, a symlink loop,
  a path longer than the system allows.
* :func:`project_lock` serializes the commands that write into one output folder: a second
  ``ipdma`` command waits for the first and, after ``IPDMA_LOCK_WAIT`` seconds (default 30),
  stops with a message naming the process that holds the lock.
* :func:`replace_folder` swaps a fully written folder in for an old one, so a table set is
  always the output of one run (never a mix of two).
* :func:`clean_stale` removes the temporary files and folders an interrupted run left; it is
  called while holding the project lock, when no other ipdma process is writing there.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import IpdmaError

__all__ = ["LOCK_NAME", "clean_stale", "os_error", "project_lock", "replace_folder"]

LOCK_NAME = ".ipdma.lock"

_HINTS: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("no space left on the device",
                   "free disk space, or set `output` in project.toml to a folder on another disk"),
    errno.EDQUOT: ("the disk quota is exceeded",
                   "free space in your quota, or set `output` to a folder on another disk"),
    errno.EACCES: ("permission denied",
                   "make the path readable/writable for your user (chmod u+rw), or choose "
                   "another folder"),
    errno.EPERM: ("the operation is not permitted",
                  "check the path's permissions, or choose another folder"),
    errno.EROFS: ("the file system is read-only",
                  "set `output` in project.toml (or --output) to a writable folder"),
    errno.EEXIST: ("a file is in the way where a folder is needed",
                   "rename or remove that file, or set `output` to a folder"),
    errno.ENOTDIR: ("a file is in the way where a folder is needed",
                    "rename or remove that file, or set `output` to a folder"),
    errno.EISDIR: ("a folder is where a file is needed",
                   "point the setting at a file, not a folder"),
    errno.ELOOP: ("symbolic links form a loop",
                  "fix or remove the symbolic link (ls -l shows where it points)"),
    errno.ENAMETOOLONG: ("the path or a file name is longer than the system allows",
                         "use shorter folder and file names, or a shorter output folder"),
    errno.ENOENT: ("the path does not exist", "check the path"),
    errno.EBUSY: ("the file is busy", "close the program that uses it and run again"),
    errno.ETXTBSY: ("the file is busy", "close the program that uses it and run again"),
}  # fmt: skip


def os_error(exc: BaseException, path: str | os.PathLike[str] | None = None) -> IpdmaError:
    """An :class:`IpdmaError` for an operating-system fault, naming the path and the fix."""
    number = getattr(exc, "errno", None)
    where = path if path is not None else getattr(exc, "filename", None)
    text = str(exc)
    if number is None:  # DuckDB's IOException carries the errno only in its text
        lowered = text.lower()
        for code, needle in (
            (errno.ENOSPC, "no space left"),
            (errno.EACCES, "permission denied"),
            (errno.EROFS, "read-only file system"),
            (errno.ENAMETOOLONG, "file name too long"),
        ):
            if needle in lowered:
                number = code
                break
        if "could not set lock" in lowered or "conflicting lock" in lowered:
            return IpdmaError(
                "another process holds the database lock: " + text.splitlines()[0][:300],
                file=where,
                hint="wait for the other ipdma command (or the program that opened the "
                "database) to finish, then run again",
            )
    what, hint = _HINTS.get(
        number or -1,
        (
            "the operating system refused the operation",
            "check the path, its permissions and free space",
        ),
    )
    detail = getattr(exc, "strerror", None) or (text.splitlines()[0][:200] if text else "")
    return IpdmaError(f"{what} ({detail})" if detail else what, file=where, hint=hint)


def _holder(lock_file: Path) -> str:
    try:
        text = lock_file.read_text(encoding="utf-8").strip()
    except OSError:
        return "another process"
    return f"process {text}" if text else "another process"


@contextlib.contextmanager
def project_lock(
    folder: Path,
    command: str,
    *,
    wait: float | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (created if needed) while the block runs.

    A second holder waits up to ``wait`` seconds (default: ``IPDMA_LOCK_WAIT`` or 30),
    calling ``on_wait(holder)`` once, then raises an IpdmaError naming the holder. The lock
    is released by the operating system when the process ends, however it ends.
    """
    import fcntl

    if wait is None:
        wait = float(os.environ.get("IPDMA_LOCK_WAIT", "30"))
    if folder.is_symlink() and not folder.exists():
        raise IpdmaError(
            "the output folder is a broken symbolic link or a symlink loop",
            file=folder,
            hint="fix or remove the link (ls -l shows where it points), or set `output`",
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock_file = folder / LOCK_NAME
        handle = open(lock_file, "a+", encoding="utf-8")  # noqa: SIM115 - held for the block
    except OSError as exc:
        raise os_error(exc, folder) from None
    deadline = time.monotonic() + wait
    told = False
    try:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder(lock_file)
                if time.monotonic() >= deadline:
                    raise IpdmaError(
                        f"the project's output folder is in use by {holder}",
                        file=folder,
                        hint="wait for that command to finish and run again (or set "
                        "IPDMA_LOCK_WAIT to wait longer)",
                    ) from None
                if not told and on_wait is not None:
                    on_wait(holder)
                    told = True
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()} ({command})\n")
        handle.flush()
        clean_stale(folder)
        yield
    finally:
        handle.close()


def clean_stale(folder: Path) -> list[Path]:
    """Remove temporary files/folders an interrupted run left in ``folder`` and its
    ``tables/``, ``figures/`` and ``report/`` (only call while holding the project lock)."""
    removed = []
    for place in (folder, *(folder / n for n in ("tables", "figures", "report"))):
        if not place.is_dir():
            continue
        for item in place.iterdir():
            name = item.name
            if not name.startswith(".") or name == LOCK_NAME:
                continue
            if name.startswith(".old-"):  # a swap interrupted between its two renames
                original = place / name[len(".old-") :].rsplit("-", 1)[0]
                if not original.exists():
                    with contextlib.suppress(OSError):
                        os.replace(item, original)
                        continue
            if ".tmp" in name or name.startswith((".new-", ".old-")):
                with contextlib.suppress(OSError):
                    if item.is_dir() and not item.is_symlink():
                        remove_tree(item)
                    else:
                        item.unlink()
                    removed.append(item)
    return removed


def replace_folder(target: Path, write: Callable[[Path], object]) -> object:
    """Write a whole folder with ``write(new_folder)`` and swap it in for ``target``.

    The new folder is written beside the target (``.new-<name>-<pid>``); only when
    ``write`` has finished is the old folder renamed away and the new one renamed into
    place, so ``target`` always holds the output of one complete run. An interrupted run
    leaves only temporary folders, which :func:`clean_stale` removes next time.
    """
    target = Path(target)
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    new = parent / f".new-{target.name}-{os.getpid()}"
    old = parent / f".old-{target.name}-{os.getpid()}"
    for leftover in (new, old):
        if leftover.exists():
            shutil.rmtree(leftover)
    new.mkdir()
    try:
        result = write(new)
        if target.exists():
            os.replace(target, old)
        os.replace(new, target)
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        if old.exists() and not target.exists():
            os.replace(old, target)
        raise
    remove_tree(old)
    return result


def remove_tree(folder: Path) -> None:
    """Remove a folder of ours, also when the user made it (or folders in it) read-only:
    write permission is restored to the folders (owner only) and the removal retried;
    what still cannot be removed is left for :func:`clean_stale`."""
    if not folder.exists():
        return
    try:
        shutil.rmtree(folder)
    except OSError:
        _writable(folder)
        for top, folders, _ in os.walk(folder):  # top-down: a folder is opened before its
            for name in folders:  # subfolders are listed
                _writable(Path(top) / name)
        shutil.rmtree(folder, ignore_errors=True)


def _writable(folder: Path) -> None:
    with contextlib.suppress(OSError):
        if not folder.is_symlink():
            os.chmod(folder, (folder.stat().st_mode & 0o7777) | stat.S_IRWXU)
