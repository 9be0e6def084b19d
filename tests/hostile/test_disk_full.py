"""A real full disk and a real read-only file system: the output folder on a tiny tmpfs,
mounted in a private mount namespace.

``unshare -m`` gives the subprocess its own mount table, so the tmpfs exists only for it
and disappears with it (nothing is left mounted, even if the test is killed). The previous
outputs are copied onto the small disk first; ``ipdma ingest --force`` then runs out of
space while writing the new master. It must exit 1 with what to do, keep the previous
master byte-identical and leave no temporary file. Skipped where mounting is not allowed
(not root, or a container without the capability). The same tmpfs remounted read-only:
``ipdma analyze`` cannot write its results and says so (exit 1).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

SCRIPT = r"""
import hashlib, json, subprocess, shutil, sys
from pathlib import Path

root, disk, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
previous = root / "output"
used = sum(p.stat().st_blocks * 512 for p in previous.rglob("*") if p.is_file())
# the old outputs fit; a new master (>= one 256 KB DuckDB block) or table set does not
size = used + (4096 if mode == "full-analyze" else 32768)
subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(disk)], check=True)
shutil.copytree(previous, disk / "output")
if mode == "read-only":
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
project = root / "project.toml"
text = project.read_text("utf-8")
project.write_text(text.replace('name = "hostile"',
                                f'name = "hostile"\noutput = "{disk / "output"}"', 1), "utf-8")

def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()

def tables():
    folder = disk / "output" / "tables"
    return {p.name: digest(p) for p in sorted(folder.iterdir())} if folder.is_dir() else {}

before, tables_before = digest(disk / "output" / "master.duckdb"), tables()
from ipdma.cli import _app, main
_app.console.width = _app.out.width = 4000
command = ["ingest", "--force"] if mode == "full" else ["analyze", "--jobs", "1"]
code = main(["--quiet", *command, str(root)])
left = sorted(p.name for p in (disk / "output").iterdir() if ".tmp" in p.name or
              p.name.startswith(".new-"))
print(json.dumps({"code": code, "same": digest(disk / "output" / "master.duckdb") == before,
                  "tables_same": tables() == tables_before, "left": left}))
"""


def _namespaces() -> str | None:
    """Why a private mount namespace with a tmpfs cannot be made here (None when it can)."""
    if not sys.platform.startswith("linux"):
        return "needs Linux mount namespaces"
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return "unshare or mount is not installed"
    probe = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c",
         "mount -t tmpfs -o size=64k tmpfs /mnt"],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    if probe.returncode != 0:
        return f"cannot mount a tmpfs in a private namespace: {probe.stderr.decode()[:200]}"
    return None


def _run(template, tmp_path, mode: str) -> tuple[dict, str]:
    reason = _namespaces()
    if reason:
        pytest.skip(reason)
    root = tmp_path / "project"
    shutil.copytree(template, root, symlinks=True)
    disk = tmp_path / "disk"
    disk.mkdir()
    raw = {p.name: p.read_bytes() for p in (root / "data").iterdir()}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    done = subprocess.run(
        ["unshare", "-m", "--propagation", "private", sys.executable, "-c", SCRIPT,
         str(root), str(disk), mode],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )  # fmt: skip
    text = " ".join((done.stdout + "\n" + done.stderr).split())
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in text and "internal error" not in text, text
    assert {p.name: p.read_bytes() for p in (root / "data").iterdir()} == raw
    assert not any(disk.iterdir()), "the tmpfs was visible outside its namespace"
    return json.loads(done.stdout.strip().splitlines()[-1]), text


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_master_write_on_a_full_disk(template, tmp_path):
    result, text = _run(template, tmp_path, "full")
    assert result["code"] == 1, text
    assert "no space left on the device" in text and "free disk space" in text, text
    assert result["same"], "the previous master changed"
    assert result["left"] == [], result["left"]


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_analyze_on_a_read_only_file_system(template, tmp_path):
    result, text = _run(template, tmp_path, "read-only")
    assert result["code"] == 1, text
    assert "read-only" in text and "fix:" in text, text
    assert result["same"] and result["left"] == []


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_analyze_on_a_full_disk_keeps_the_table_set(template, tmp_path):
    result, text = _run(template, tmp_path, "full-analyze")
    assert result["code"] == 1, text
    assert "no space left on the device" in text and "fix:" in text, text
    assert result["tables_same"], "tables/ is not the previous run's set"
    assert result["left"] == [], result["left"]
