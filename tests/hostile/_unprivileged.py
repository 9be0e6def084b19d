"""Run the CLI as an unprivileged user, so that permission faults are real under root.

Root ignores file permissions, so a ``chmod 000`` file is still readable by a test running
as root (CI does). For those cases the project is copied into a fresh folder owned by an
unprivileged user (``nobody``, else uid 65534), the case damages the copy, and the CLI runs
in a subprocess under that user, dropped to by ``setpriv`` (util-linux) or ``runuser``:
the operating system then refuses the access with EACCES, as it would for a real user.

The subprocess needs a Python interpreter that user can execute with the same version as
the test run, and the test run's ``sys.path`` (sources and site-packages; a virtualenv whose
base interpreter sits in root's home is replaced by another build of the same version).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Unprivileged", "find_unprivileged"]

_SCRIPT = "import sys; from ipdma.cli import main; sys.exit(main(sys.argv[1:]))"
_PROBE = (
    f"import sys; assert sys.version_info[:2] == {tuple(sys.version_info[:2])}; import ipdma.cli"
)


@dataclass(frozen=True)
class Unprivileged:
    """How to run a command as the unprivileged user ``uid:gid``."""

    uid: int
    gid: int
    drop: tuple[str, ...]  # the root-drop prefix (setpriv ... or runuser ...)
    python: str
    pythonpath: str

    def environment(self, home: Path) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TZ")}
        return {**keep, "PYTHONPATH": self.pythonpath, "HOME": str(home),
                "MPLCONFIGDIR": str(home / ".mpl"), "COLUMNS": "4000",
                "PYTHONDONTWRITEBYTECODE": "1", "IPDMA_LOCK_WAIT": "0.5"}  # fmt: skip

    def command(self, *args: str) -> list[str]:
        return [*self.drop, self.python, *args]

    def copy(self, project: Path) -> Path:
        """A copy of ``project`` in a new folder owned by the user (removed by ``cleanup``)."""
        folder = Path(tempfile.mkdtemp(prefix="ipdma-hostile-"))
        target = folder / "project"
        shutil.copytree(project, target, symlinks=True)
        for path in [folder, *folder.rglob("*")]:
            os.lchown(path, self.uid, self.gid)
        return target

    def run(self, argv: list[str], project: Path) -> tuple[int, str]:
        """Exit code and output (stdout + stderr) of ``ipdma argv`` run as the user."""
        home = project.parent
        done = subprocess.run(
            self.command("-c", _SCRIPT, *argv), capture_output=True, text=True,
            env=self.environment(home), cwd=home, timeout=600, check=False,
        )  # fmt: skip
        return done.returncode, done.stdout + "\n" + done.stderr

    @staticmethod
    def cleanup(project: Path) -> None:
        shutil.rmtree(project.parent, ignore_errors=True)


def _user() -> tuple[int, int] | None:
    try:
        entry = pwd.getpwnam("nobody")
        return entry.pw_uid, entry.pw_gid
    except KeyError:
        return (65534, 65534) if os.geteuid() == 0 else None


def _drops(uid: int, gid: int) -> list[tuple[str, ...]]:
    drops = []
    if shutil.which("setpriv"):
        drops.append(("setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups"))
    if shutil.which("runuser"):
        try:
            name = pwd.getpwuid(uid).pw_name
            drops.append(("runuser", "-u", name, "--"))
        except KeyError:
            pass
    return drops


def _interpreters() -> list[str]:
    found = [sys.executable, os.path.realpath(sys.executable)]
    base = getattr(sys, "_base_executable", None)
    if base:
        found.append(base)
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    for name in (version, "python3"):
        for folder in ("/usr/bin", "/usr/local/bin"):
            found.append(os.path.join(folder, name))
    return list(dict.fromkeys(p for p in found if os.path.exists(p)))


def find_unprivileged() -> Unprivileged | str:
    """An :class:`Unprivileged` runner, or why none can be made (the reason to skip)."""
    if not sys.platform.startswith("linux"):
        return "needs Linux (setpriv/runuser)"
    user = _user()
    if user is None:
        return "no unprivileged user (nobody) exists"
    uid, gid = user
    drops = _drops(uid, gid)
    if not drops:
        return "neither setpriv nor runuser is installed to drop root privileges"
    pythonpath = os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))
    with tempfile.TemporaryDirectory() as home:
        os.chmod(home, 0o777)
        env = Unprivileged(uid, gid, (), "", pythonpath).environment(Path(home))
        for drop in drops:
            for python in _interpreters():
                probe = subprocess.run([*drop, python, "-c", _PROBE], capture_output=True,
                                       env=env, cwd=home, timeout=120, check=False)  # fmt: skip
                if probe.returncode == 0:
                    return Unprivileged(uid, gid, drop, python, pythonpath)
    return (
        f"no Python {sys.version_info[0]}.{sys.version_info[1]} that user {uid} can run "
        "with ipdma importable (is the virtualenv readable by others?)"
    )
