"""File-system helpers: OS faults as user errors, the project lock, folder swaps, cleanup."""

from __future__ import annotations

import errno
import fcntl
import threading
import time

import duckdb
import pytest

from ipdma._fs import LOCK_NAME, clean_stale, os_error, project_lock, replace_folder
from ipdma.errors import IpdmaError


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (errno.ENOSPC, "no space left"),
        (errno.EDQUOT, "quota"),
        (errno.EACCES, "permission denied"),
        (errno.EROFS, "read-only"),
        (errno.EEXIST, "a file is in the way"),
        (errno.ENOTDIR, "a file is in the way"),
        (errno.ELOOP, "symbolic links form a loop"),
        (errno.ENAMETOOLONG, "longer than the system allows"),
        (errno.EIO, "the operating system refused"),
    ],
)
def test_os_errors_name_the_path_and_the_fix(number, words, tmp_path):
    error = os_error(OSError(number, "text from the system", str(tmp_path / "x")))
    assert isinstance(error, IpdmaError)
    assert words in error.message and error.file == str(tmp_path / "x") and error.hint


def test_duckdb_io_errors_are_read_from_their_text():
    assert "no space left" in os_error(duckdb.IOException("No space left on device")).message
    locked = os_error(duckdb.IOException('Could not set lock on file "m.duckdb": held (PID 7)'))
    assert "another process holds the database lock" in locked.message


def test_second_holder_waits_then_gets_the_lock(tmp_path):
    told = []
    with project_lock(tmp_path, "first"):
        holder = open(tmp_path / LOCK_NAME, encoding="utf-8")  # noqa: SIM115
        assert "first" in holder.read()
        holder.close()

    handle = open(tmp_path / LOCK_NAME, "a+", encoding="utf-8")  # noqa: SIM115
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
    threading.Timer(0.5, handle.close).start()  # the other command finishes
    start = time.monotonic()
    with project_lock(tmp_path, "second", wait=10, on_wait=told.append):
        assert time.monotonic() - start >= 0.4
    assert len(told) == 1


def test_lock_gives_up_naming_the_holder(tmp_path):
    (tmp_path / LOCK_NAME).write_text("4242 (ipdma analyze)\n", encoding="utf-8")
    handle = open(tmp_path / LOCK_NAME, encoding="utf-8")  # noqa: SIM115
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
    try:
        with (
            pytest.raises(IpdmaError, match=r"in use by process 4242 \(ipdma analyze\)"),
            project_lock(tmp_path, "second", wait=0.3),
        ):
            pass
    finally:
        handle.close()


def test_replace_folder_swaps_whole_sets_and_keeps_the_old_on_failure(tmp_path):
    target = tmp_path / "tables"
    replace_folder(target, lambda new: (new / "a.csv").write_text("1", encoding="utf-8"))
    assert (target / "a.csv").read_text(encoding="utf-8") == "1"

    def half(new):
        (new / "a.csv").write_text("2", encoding="utf-8")
        raise OSError(errno.ENOSPC, "full")

    with pytest.raises(OSError):
        replace_folder(target, half)
    assert [p.name for p in target.iterdir()] == ["a.csv"]
    assert (target / "a.csv").read_text(encoding="utf-8") == "1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tables"]


def test_clean_stale_removes_temps_and_restores_a_half_swapped_folder(tmp_path):
    (tmp_path / ".master.duckdb.123.tmp").write_bytes(b"x")
    (tmp_path / ".new-tables-123").mkdir()
    (tmp_path / ".old-tables-123").mkdir()
    (tmp_path / ".old-tables-123" / "overall.csv").write_text("kept", encoding="utf-8")
    (tmp_path / "keep.txt").write_text("mine", encoding="utf-8")
    clean_stale(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt", "tables"]
    assert (tmp_path / "tables" / "overall.csv").read_text(encoding="utf-8") == "kept"
