import subprocess
import sys

from ipdma import __version__
from ipdma.cli import main


def test_version(capsys):
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_unknown_command_is_a_user_error():
    assert main(["no-such-command"]) == 1


def test_python_dash_m():
    proc = subprocess.run(
        [sys.executable, "-m", "ipdma", "--version"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0
    assert __version__ in proc.stdout
