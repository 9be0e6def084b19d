"""Operating-system faults a user can cause: disk full, read-only or misplaced output,
symlink loops, over-long paths, a second command on the same project, interrupted writes.

A full disk, a quota and a read-only file system are simulated by making the failing system
call raise the errno it would raise. Permission faults are real: the ``as_user`` cases
chmod a copy of the project and, when the tests run as root (which ignores permissions),
run the CLI as an unprivileged user (``_unprivileged.py``).
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

import duckdb

from ._catalogue import Env, case
from ._project import hashes

FORCE = ("ingest", "--force")


def _fail_master_write(env: Env, exc: BaseException) -> None:
    """The master's temp file is created, then the write fails with ``exc``."""
    real = duckdb.connect

    def connect(database=":memory:", *args, **kwargs):
        if str(database).endswith(".tmp"):
            Path(database).write_bytes(b"partial")
            raise exc
        return real(database, *args, **kwargs)

    env.monkeypatch.setattr(duckdb, "connect", connect)


def _no_temp_left(env: Env, text: str) -> None:
    left = [p.name for p in (env.root / "output").iterdir() if ".tmp" in p.name]
    assert not left, left


@case("os", 1, "no space left on the device", "master.duckdb", "free disk space",
      command=FORCE, after=_no_temp_left)  # fmt: skip
def disk_full_duckdb(env):
    _fail_master_write(env, duckdb.IOException("IO Error: No space left on device"))


@case("os", 1, "no space left on the device", "free disk space", command=FORCE,
      after=_no_temp_left)  # fmt: skip
def disk_full_oserror(env):
    _fail_master_write(env, OSError(errno.ENOSPC, "No space left on device"))


@case("os", 1, "disk quota", command=FORCE, after=_no_temp_left)
def disk_quota_exceeded(env):
    _fail_master_write(env, OSError(errno.EDQUOT, "Disk quota exceeded"))


@case("os", 1, "read-only", "writable folder", command=FORCE, after=_no_temp_left)
def read_only_output_at_rename(env):
    real = os.replace

    def replace(src, dst, *args, **kwargs):
        if str(dst).endswith("master.duckdb"):
            raise OSError(errno.EROFS, "Read-only file system", str(dst))
        return real(src, dst, *args, **kwargs)

    env.monkeypatch.setattr(os, "replace", replace)


@case("os", 1, "permission denied", "chmod", command=FORCE, after=_no_temp_left)
def output_not_writable(env):
    _fail_master_write(env, duckdb.IOException("IO Error: Cannot open file: Permission denied"))


@case("os", 1, "permission denied", command=FORCE, as_user=True)
def output_chmod_read_only(env):
    os.chmod(env.root / "output", 0o555)


# The results store records the run before the tables are exported from it, so only the
# table set (not results.duckdb) is compared with the previous outputs.
@case("os", 1, "read-only", "tables", command=("analyze", "--jobs", "1"),
      after=lambda env, text: _tables_unchanged(env, text), outputs_intact=False)  # fmt: skip
def read_only_tables_folder_at_analyze(env):
    _remember_tables(env)
    real = os.replace

    def replace(src, dst, *args, **kwargs):
        if "tables" in (Path(src).name, Path(dst).name):
            raise OSError(errno.EROFS, "Read-only file system", str(dst))
        return real(src, dst, *args, **kwargs)

    env.monkeypatch.setattr(os, "replace", replace)


@case("os", 1, "a file is in the way", "set `output` to a folder", outputs_intact=False)
def output_is_an_existing_file(env):
    env.project('name = "hostile"', 'name = "hostile"\noutput = "results.txt"')
    (env.root / "results.txt").write_text("not a folder", encoding="utf-8")


@case("os", 1, "symlink loop", "fix or remove the link", outputs_intact=False)
def output_is_a_symlink_loop(env):
    env.project('name = "hostile"', 'name = "hostile"\noutput = "loop"')
    os.symlink(env.root / "loop", env.root / "loop")


@case("os", 1, "longer than the system allows", "shorter", outputs_intact=False)
def output_path_too_long(env):
    env.project('name = "hostile"', 'name = "hostile"\noutput = "' + "o" * 300 + '"')


@case("os", 1, "longer than the system allows", outputs_intact=False)
def output_path_too_deep(env):
    deep = "/".join(["d" * 200] * 25)
    env.project('name = "hostile"', f'name = "hostile"\noutput = "{deep}"')


def _hold_lock(env: Env) -> None:
    folder = env.root / "output"
    handle = open(folder / ".ipdma.lock", "a+", encoding="utf-8")  # noqa: SIM115
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    handle.seek(0)
    handle.truncate()
    handle.write("424242 (ipdma analyze)\n")
    handle.flush()
    env.monkeypatch.setenv("IPDMA_LOCK_WAIT", "0.5")
    env.monkeypatch.setattr(Env, "_lock_handle", handle, raising=False)


def _release(env: Env, text: str) -> None:
    env._lock_handle.close()  # type: ignore[attr-defined]


@case("lock", 1, "in use by process 424242 (ipdma analyze)", "waiting for", "wait for that",
      command=FORCE, after=_release)  # fmt: skip
def second_ingest_while_locked(env):
    _hold_lock(env)


@case("lock", 1, "in use by process 424242", command=("analyze", "--jobs", "1"),
      after=_release)  # fmt: skip
def second_analyze_while_locked(env):
    _hold_lock(env)


@case("lock", 1, "in use by process 424242", command=("report",), after=_release)
def report_while_locked(env):
    _hold_lock(env)


@case("lock", 1, "another process holds the database lock", "wait for the other",
      command=("analyze", "--jobs", "1"))  # fmt: skip
def duckdb_lock_held_by_another_program(env):
    real = duckdb.connect

    def connect(database=":memory:", *args, **kwargs):
        if str(database).endswith(".duckdb") and not kwargs.get("read_only"):
            raise duckdb.IOException(
                'IO Error: Could not set lock on file "master.duckdb": Conflicting lock is '
                "held in /usr/bin/python3 (PID 4242)"
            )
        return real(database, *args, **kwargs)

    env.monkeypatch.setattr(duckdb, "connect", connect)


def _stale_removed(env: Env, text: str) -> None:
    names = {p.name for p in (env.root / "output").iterdir()}
    assert not {n for n in names if n.startswith(".master.duckdb.") or n.startswith(".new-")}


@case("cleanup", 0, after=_stale_removed, command=FORCE)
def temp_files_of_a_killed_run_are_removed(env):
    output = env.root / "output"
    (output / ".master.duckdb.999999999.tmp").write_bytes(b"partial master")
    (output / ".master.duckdb.999999999.tmp.wal").write_bytes(b"partial wal")
    (output / ".new-tables-999999999").mkdir()
    (output / ".new-tables-999999999" / "overall.csv").write_text("half", encoding="utf-8")


def _remember_tables(env: Env) -> None:
    before = hashes(env.root / "output" / "tables")
    env.monkeypatch.setattr(Env, "_tables_before", before, raising=False)


def _tables_unchanged(env: Env, text: str) -> None:
    tables = env.root / "output" / "tables"
    assert hashes(tables) == env._tables_before  # type: ignore[attr-defined]
    assert sorted(p.name for p in tables.iterdir()) == [
        "forest.csv", "important.csv", "interactions.csv", "models.csv", "overall.csv",
        "plan.json", "subgroups.csv",
    ]  # fmt: skip
    assert not [p for p in (env.root / "output").iterdir() if p.name.startswith(".new-")]


@case("cleanup", 1, "no space left", command=("analyze", "--jobs", "1"),
      after=_tables_unchanged, outputs_intact=False)  # fmt: skip
def failed_table_write_keeps_the_old_set(env):
    _remember_tables(env)
    from ipdma.analysis import _results

    real = _results.write_text_atomic
    calls = []

    def write(text, path):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(text, path)

    env.monkeypatch.setattr(_results, "write_text_atomic", write)
    env.monkeypatch.setattr("ipdma.analysis._run.write_text_atomic", write)
    env.monkeypatch.setattr(
        "ipdma.analysis._run.write_csv_atomic", lambda frame, path: write(frame.to_csv(), path)
    )


# Real permission faults: under root these run as an unprivileged user (``as_user``), so
# the operating system itself refuses the access (see ``_unprivileged.py``).
ANALYZE = ("analyze", "--jobs", "1")


@case("permission", 1, "csvt.toml", "cannot be read", "permission denied", "chmod", as_user=True)
def spec_file_unreadable(env):
    os.chmod(env.root / "trials" / "csvt.toml", 0)


@case("permission", 1, "project.toml", "permission denied", "chmod", as_user=True)
def project_file_unreadable(env):
    os.chmod(env.root / "project.toml", 0)


@case("permission", 1, "permission denied", "chmod", as_user=True)
def data_folder_not_searchable(env):
    os.chmod(env.data, 0)


@case("permission", 1, "trial xlst", "xlst.xlsx", "permission denied", "chmod", as_user=True)
def excel_file_unreadable(env):
    os.chmod(env.data / "xlst.xlsx", 0)


@case("permission", 1, "permission denied", "output", command=ANALYZE, as_user=True)
def analyze_into_read_only_output(env):
    os.chmod(env.root / "output", 0o555)


def _tables_renewed(env: Env, text: str) -> None:
    """The new table set replaced the read-only one whole; nothing of the swap is left."""
    tables = env.root / "output" / "tables"
    assert hashes(tables) == env._tables_before  # type: ignore[attr-defined]  (same inputs)
    assert os.stat(tables).st_mode & 0o200, "the new tables/ folder is writable"
    assert not [p for p in (env.root / "output").iterdir() if p.name.startswith((".new-", ".old-"))]


@case("permission", 0, command=ANALYZE, as_user=True, after=_tables_renewed)
def analyze_with_read_only_tables(env):
    _remember_tables(env)
    os.chmod(env.root / "output" / "tables", 0o555)


@case("permission", 1, "permission denied", "output", command=("report",), as_user=True)
def report_into_read_only_output(env):
    os.chmod(env.root / "output", 0o555)


@case("permission", 1, "permission denied", "chmod", command=FORCE, as_user=True,
      outputs_intact=False)  # fmt: skip
def project_folder_read_only_without_output(env):
    import shutil

    shutil.rmtree(env.root / "output")
    os.chmod(env.root, 0o555)


@case("permission", 1, "master.duckdb", "permission denied", command=ANALYZE, as_user=True)
def master_unreadable(env):
    os.chmod(env.root / "output" / "master.duckdb", 0)


def _same_tables(env: Env, text: str) -> None:
    tables = env.root / "output" / "tables"
    assert hashes(tables) == env._tables_before  # type: ignore[attr-defined]


@case("determinism", 0, command=ANALYZE, after=_same_tables)
def analyze_twice_cached_tables_byte_identical(env):
    _remember_tables(env)  # the template's tables were fitted; these come from the cache


@case("determinism", 0, command=("analyze", "--jobs", "2"), after=_same_tables)
def analyze_refit_in_two_workers_byte_identical(env):
    _remember_tables(env)
    os.remove(env.root / "output" / "results.duckdb")  # no cache: every model is refitted
