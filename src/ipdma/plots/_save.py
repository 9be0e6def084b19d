"""Writing figures: PNG and SVG, atomically and reproducibly."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["save"]

_UMASK = os.umask(0)  # read once at import (os.umask can only be read by setting it)
os.umask(_UMASK)


def _write(fig: Figure, target: Path, fmt: str, dpi: int) -> None:
    import matplotlib

    handle, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(handle)
    metadata = {"Date": None} if fmt == "svg" else {"Software": None}
    try:
        with matplotlib.rc_context({"svg.hashsalt": "ipdma", "svg.fonttype": "path"}):
            fig.savefig(tmp, format=fmt, dpi=dpi, metadata=metadata, facecolor="white")
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; figures are for sharing
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(fig: Figure, stem: str | os.PathLike[str], *, dpi: int = 200) -> tuple[Path, Path]:
    """Write ``fig`` to ``stem.png`` and ``stem.svg`` and return both paths.

    Each file is written to a temporary file in the target folder and moved into place
    (``os.replace``), so a reader never sees a half-written figure. The SVG has no date and
    fixed element ids, so the same figure gives the same bytes.
    """
    stem = Path(stem)
    if stem.suffix.lower() in (".png", ".svg"):
        stem = stem.with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    png, svg = stem.with_name(stem.name + ".png"), stem.with_name(stem.name + ".svg")
    _write(fig, png, "png", dpi)
    _write(fig, svg, "svg", dpi)
    return png, svg
