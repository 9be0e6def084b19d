"""Tidy result files: UTF-8 with ASCII minus, atomic, with the mode the umask gives."""

import os
import stat

import pandas as pd

from ipdma.analysis._results import write_csv_atomic, write_text_atomic
from ipdma.plots import save


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_tidy_csv_is_machine_readable_and_shareable(tmp_path):
    frame = pd.DataFrame({"trial": ["Sj\u00f6gren, 2006"], "estimate": [-4.25]})
    path = write_csv_atomic(frame, tmp_path / "tables" / "overall.csv")
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")  # no BOM in the tidy files
    assert b"-4.25" in raw and "\u2212".encode() not in raw
    assert "Sj\u00f6gren".encode() in raw  # UTF-8
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~_umask()
    plan = write_text_atomic("{}\n", tmp_path / "tables" / "plan.json")
    assert stat.S_IMODE(plan.stat().st_mode) == 0o666 & ~_umask()
    assert [p.name for p in (tmp_path / "tables").iterdir()] != []
    assert not [p for p in (tmp_path / "tables").iterdir() if p.name.endswith(".tmp")]


def test_figure_files_get_the_umask_mode(tmp_path):
    from matplotlib.figure import Figure

    fig = Figure()
    fig.add_subplot().plot([0, 1], [0, 1])
    png, svg = save(fig, tmp_path / "figure")
    for path in (png, svg):
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~_umask()
