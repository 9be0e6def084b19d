"""Process faults: after SIGKILL of the process that fits models, no worker, forkserver or
resource-tracker process survives (the pool is the one ``ipdma analyze`` uses)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

SCRIPT = """
import os, sys, time
from ipdma.analysis._runner import worker_pool

if __name__ == "__main__":
    pool = worker_pool(2)
    futures = [pool.submit(time.sleep, 120) for _ in range(2)]
    while len(pool._processes) < 2:
        time.sleep(0.1)
    print(" ".join(str(p) for p in pool._processes), flush=True)
    time.sleep(120)
"""


def _children(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                         text=True, check=False).stdout  # fmt: skip
    return {int(p) for p in out.split()}


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().split()[2] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and ps")
def test_workers_forkserver_and_tracker_end_after_sigkill(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True, env=env) as parent:  # fmt: skip
        _kill_and_check(parent)


def _kill_and_check(parent: subprocess.Popen) -> None:
    try:
        workers = {int(p) for p in parent.stdout.readline().split()}
        helpers = _children(parent.pid)  # the forkserver and the resource tracker
        assert len(workers) == 2 and len(helpers) >= 2
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(p) for p in workers | helpers):
            time.sleep(0.2)
        survivors = [p for p in workers | helpers if _alive(p)]
        assert not survivors, survivors
    finally:
        if parent.poll() is None:
            parent.kill()


# A real SIGKILL at the worst moment: the process kills itself from inside the write (after
# some of the new files exist, before the swap), so no cleanup code of ours can run.
KILL_DURING_TABLES = """
import os, signal, sys
from ipdma.analysis import _run
from ipdma.cli import main

real, calls = _run.write_csv_atomic, []

def write(frame, path):
    calls.append(path)
    if len(calls) == 3:  # two new tables written, the old set still in place
        os.kill(os.getpid(), signal.SIGKILL)
    return real(frame, path)

_run.write_csv_atomic = write
sys.exit(main(["--quiet", "analyze", sys.argv[1], "--jobs", "1"]))
"""

KILL_DURING_MASTER = """
import os, signal, sys
from ipdma.cli import main

real = os.replace

def replace(src, dst, *args, **kwargs):
    if str(dst).endswith("master.duckdb"):  # the new master is complete in its temp file
        os.kill(os.getpid(), signal.SIGKILL)
    return real(src, dst, *args, **kwargs)

os.replace = replace
sys.exit(main(["--quiet", "ingest", "--force", sys.argv[1]]))
"""


def _killed(script: str, project) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    done = subprocess.run([sys.executable, "-c", script, str(project)], capture_output=True,
                          text=True, env=env, timeout=600, check=False)  # fmt: skip
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]


def _leftovers(output) -> list[str]:
    return sorted(p.name for p in output.iterdir() if ".tmp" in p.name or
                  p.name.startswith((".new-", ".old-")))  # fmt: skip


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="POSIX signals")
def test_kill_while_tables_are_written_keeps_one_whole_set(project):
    from ipdma.cli import main

    from ._project import hashes

    output = project / "output"
    before = hashes(output / "tables")
    _killed(KILL_DURING_TABLES, project)
    assert hashes(output / "tables") == before  # the previous run's set, whole
    assert [n for n in _leftovers(output) if n.startswith(".new-tables-")], _leftovers(output)
    assert main(["--quiet", "analyze", str(project), "--jobs", "1"]) == 0
    assert _leftovers(output) == []
    assert hashes(output / "tables") == before  # same inputs: the same tables


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="POSIX signals")
def test_kill_while_the_master_is_written_leaves_a_temp_file_the_next_run_removes(project):
    from ipdma.cli import main

    output = project / "output"
    before = (output / "master.duckdb").read_bytes()
    _killed(KILL_DURING_MASTER, project)
    assert (output / "master.duckdb").read_bytes() == before
    assert any(n.startswith(".master.duckdb.") for n in _leftovers(output)), _leftovers(output)
    assert main(["--quiet", "ingest", "--force", str(project)]) == 0
    assert _leftovers(output) == []


HOLD_DATABASE = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])  # write mode: DuckDB locks the file for this process
print("ready", flush=True)
time.sleep(120)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="POSIX file locks")
def test_results_store_open_in_another_program(project, capsys, wide_console):
    from ipdma.cli import main

    from ._project import hashes

    tables = project / "output" / "tables"
    before = hashes(tables)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    database = project / "output" / "results.duckdb"
    with subprocess.Popen([sys.executable, "-c", HOLD_DATABASE, str(database)], env=env,
                          stdout=subprocess.PIPE, text=True) as holder:  # fmt: skip
        try:
            assert holder.stdout.readline().strip() == "ready"
            capsys.readouterr()
            code = main(["--quiet", "analyze", str(project), "--jobs", "1"])
            captured = capsys.readouterr()
            text = " ".join((captured.out + "\n" + captured.err).split())
        finally:
            holder.kill()
    assert code == 1, text
    assert "another process holds the database lock" in text and "fix:" in text, text
    assert "internal error" not in text and "Traceback" not in text
    assert hashes(tables) == before
