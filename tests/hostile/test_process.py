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
