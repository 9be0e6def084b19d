"""``codebook``: a data dictionary per trial, as HTML pages (linked from the report) and CSV.

For every column of a raw file: name, variable label, type, % missing, range, value labels,
missing codes, and a frequency table (up to 12 distinct values) or a small histogram
(inline SVG). A project gets one page per trial, an index page and ``codebook.csv`` with
every trial's rows, in ``<output>/codebook/``; a single raw file gets its page and CSV in
the folder given. Raw files are only read; pages are written atomically.
"""

from __future__ import annotations

import html
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..spec import read_toml
from ._profile import ColumnProfile, FileProfile, profile_file

__all__ = ["CodebookResult", "codebook"]

_STYLE = """body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;font-size:.85rem}th,td{border-bottom:1px solid #ddd;
padding:.3rem .5rem;vertical-align:top;text-align:left}th{background:#f4f4f4}
td.num{text-align:right}.freq td{border:none;padding:0 .4rem}.muted{color:#777}"""


@dataclass(frozen=True)
class CodebookResult:
    """The pages and CSV files written."""

    index: Path
    pages: tuple[Path, ...]
    csv: Path

    def summary(self) -> str:
        return f"codebook: {len(self.pages)} page(s), index {self.index}, CSV {self.csv}"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, path)


def _histogram(profile: FileProfile, col: ColumnProfile) -> str:
    values = profile.data[col.name].to_numpy(float)
    values = values[np.isfinite(values) & ~np.isin(values, col.missing_codes)]
    if values.size < 2 or col.minimum == col.maximum:
        return ""
    counts, edges = np.histogram(values, bins=min(20, max(5, col.distinct)))
    top = counts.max()
    bars = "".join(
        f'<rect x="{i * 6}" y="{30 - 30 * c / top:.1f}" width="5" height="{30 * c / top:.1f}" '
        f'fill="#4a7"><title>{edges[i]:g} to {edges[i + 1]:g}: {c}</title></rect>'
        for i, c in enumerate(counts)
    )
    return f'<svg width="{len(counts) * 6}" height="30" role="img">{bars}</svg>'


def _frequencies(col: ColumnProfile) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(v)}</td><td>{html.escape(col.value_labels.get(v, ''))}</td>"
        f'<td class="num">{n}</td></tr>'
        for v, n in col.values
    )
    return f'<table class="freq">{rows}</table>'


def _identifiers(profile: FileProfile) -> dict[str, str]:
    from ..harmonize import detect_identifiers

    return detect_identifiers(profile.data)


def dictionary(profile: FileProfile) -> pd.DataFrame:
    """The CSV rows of one file; likely direct identifiers keep no value, range or label."""
    frame = profile.to_frame()
    found = _identifiers(profile)
    hidden = frame["variable"].isin(list(found))
    for column in ("min", "max", "value_labels", "frequencies"):
        frame[column] = frame[column].astype(object).where(~hidden, None)
    frame["identifier"] = frame["variable"].map(found).fillna("")
    return frame


def page(profile: FileProfile, title: str, back: str = "") -> str:
    """The HTML data dictionary of one raw file (identifiers' values are never shown)."""
    found = _identifiers(profile)
    head = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{_STYLE}</style></head><body>")  # fmt: skip
    nav = f'<p><a href="{back}">all trials</a></p>' if back else ""
    info = (f"<h1>{html.escape(title)}</h1>{nav}<p>{html.escape(profile.path.name)}: "
            f"{profile.format}, {profile.rows} rows, {len(profile.columns)} columns"
            + (f"; file label: {html.escape(profile.file_label)}" if profile.file_label else "")
            + "</p>")  # fmt: skip
    rows = []
    for c in profile.columns:
        pct = 100.0 * c.missing / c.n if c.n else float("nan")
        rng = f"{c.minimum:g} to {c.maximum:g}" if c.minimum is not None else ""
        labels = "<br>".join(f"{html.escape(k)} = {html.escape(v)}"
                             for k, v in c.value_labels.items())  # fmt: skip
        codes = ", ".join(f"{v:g}" for v in c.missing_codes)
        detail = _frequencies(c) if c.distinct <= 12 else (
            _histogram(profile, c) if c.kind == "numeric" else
            f'<span class="muted">{c.distinct} distinct values</span>')  # fmt: skip
        if c.name in found:  # never show a direct identifier's values
            rng = labels = ""
            detail = (f'<span class="muted">likely direct identifier '
                      f"({html.escape(found[c.name])}): values not shown</span>")  # fmt: skip
        rows.append(
            f"<tr><td><b>{html.escape(c.name)}</b></td><td>{html.escape(c.label)}</td>"
            f"<td>{c.kind}</td><td class='num'>{pct:.1f}</td><td class='num'>{c.distinct}</td>"
            f"<td>{rng}</td><td>{labels}</td><td>{codes}</td><td>{detail}</td></tr>"
        )
    table = ("<table><thead><tr><th>variable</th><th>label</th><th>type</th><th>% missing</th>"
             "<th>distinct</th><th>range</th><th>value labels</th><th>missing codes</th>"
             "<th>frequencies / histogram</th></tr></thead><tbody>" + "".join(rows)
             + "</tbody></table>")  # fmt: skip
    return head + info + table + "</body></html>\n"


def _project_files(project: Path) -> list[tuple[str, Path, dict]]:
    """(trial, raw file, read options) of every trial spec of a project (TODOs tolerated)."""
    data = read_toml(project)
    out = []
    for entry in data.get("trials", []):
        spec_path = (project.parent / entry).resolve()
        spec = read_toml(spec_path)
        trial = spec.get("trial", {}).get("id", spec_path.stem)
        source = spec.get("source", {})
        raw = (spec_path.parent / source.get("file", "")).resolve()
        out.append((str(trial), raw, {"sheet": source.get("sheet")}))
    return out


def codebook(target: str | Path, *, output: str | Path | None = None) -> CodebookResult:
    """Write the data dictionary of a project (every trial) or of one raw file.

    Parameters
    ----------
    target
        A project file or folder, or a raw data file.
    output
        The folder for the pages and CSV; default ``<project output>/codebook`` for a
        project, ``./codebook`` for a raw file.
    """
    target = Path(target)
    if target.is_dir():
        target = target / "project.toml"
    if target.suffix == ".toml":
        data = read_toml(target)
        folder = (
            Path(output) if output else target.parent / data.get("output", "output") / "codebook"
        )
        items = _project_files(target)
    else:
        folder = Path(output) if output else Path("codebook")
        items = [(target.stem, target, {})]
    pages, frames, links = [], [], []
    for trial, raw, options in items:
        profile = profile_file(raw, sheet=options.get("sheet"))
        path = folder / f"{trial}.html"
        _write(path, page(profile, f"Codebook: {trial}", "index.html" if len(items) > 1 else ""))
        frame = dictionary(profile)
        _write(folder / f"{trial}.csv", frame.to_csv(index=False))
        frames.append(frame.assign(trial=trial)[["trial", *frame.columns]])
        pages.append(path)
        links.append(f'<li><a href="{html.escape(path.name)}">{html.escape(trial)}</a> '
                     f"({html.escape(raw.name)}, {profile.rows} rows, "
                     f"{len(profile.columns)} columns)</li>")  # fmt: skip
    index = folder / "index.html"
    _write(index, f"<!doctype html><html><head><meta charset='utf-8'><title>Codebook</title>"
                  f"<style>{_STYLE}</style></head><body><h1>Codebook</h1><p>One data "
                  "dictionary per trial (variables, labels, types, value labels, missing "
                  f"codes, ranges, frequencies).</p><ul>{''.join(links)}</ul></body></html>\n")  # fmt: skip
    csv = folder / "codebook.csv"
    _write(csv, pd.concat(frames, ignore_index=True).to_csv(index=False))
    return CodebookResult(index, tuple(pages), csv)
