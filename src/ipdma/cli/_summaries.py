"""CLI commands: ipdma summarize (site side) and the coordinator's analyze --summaries."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._app import app, console, out, state


@app.command("summarize")
def summarize_command(
    project: Annotated[
        Path,
        typer.Argument(help="The site's project file, master.duckdb or Parquet analysis frame."),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Summaries file (default: output/summaries.json by the data)."
        ),
    ] = None,
    site: Annotated[
        str | None, typer.Option("--site", help="Site name recorded in the file.")
    ] = None,
    min_cell: Annotated[
        int,
        typer.Option(
            "--min-cell", min=1, help="Fewest participants in any trial-arm or category cell."
        ),
    ] = 5,
    plan: Annotated[
        Path | None,
        typer.Option("--plan", help="TOML file (e.g. project.toml) whose [analysis] is the plan."),
    ] = None,
) -> None:
    """Write this site's per-trial summaries of the plan's linear models (no participant data)."""
    from ..summaries import DisclosureRules, summarize, write_summaries

    summaries = summarize(
        project,
        _plan(plan),
        site=site or project.resolve().parent.name,
        rules=DisclosureRules(min_cell),
    )
    if output is None:
        base = project.parent if project.suffix in (".toml", ".duckdb") else Path.cwd()
        output = (base / "output" if project.suffix == ".toml" else base) / "summaries.json"
    path = write_summaries(summaries, output)
    out.print(f"summaries: {path} ({len(summaries.models)} models, {len(summaries.trials)} trials)")
    out.print(f"manifest (what leaves the site): {path.name}.manifest.txt")
    if summaries.not_summarised:
        console.print(
            f"[yellow]not summarised ({len(summaries.not_summarised)} model(s)):[/] "
            + summaries.not_summarised[0].reason
            + (" (and others; see the manifest)" if len(summaries.not_summarised) > 1 else ""),
            highlight=False,
        )
    if summaries.withheld:
        console.print(
            f"[yellow]withheld by disclosure control ({len(summaries.withheld)} trial "
            f"block(s), minimum {min_cell} per cell):[/]",
            highlight=False,
        )
        shown = summaries.withheld if state.verbose else summaries.withheld[:10]
        for w in shown:
            console.print(
                f"  {w.model_id}, trial {w.trial}: {'; '.join(w.reasons)}", highlight=False
            )
        if len(shown) < len(summaries.withheld):
            console.print(
                f"  ... and {len(summaries.withheld) - len(shown)} more (see the manifest)"
            )


def _plan(path: Path | None):
    """The ``[analysis]`` table of a TOML file (a project file), validated; None if no file."""
    if path is None:
        return None
    import tomllib

    from ..analysis import plan_from_dict
    from ..errors import DataFileError

    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DataFileError(
            f"cannot read the plan ({exc})", file=path, hint="pass a TOML file with [analysis]"
        ) from None
    return plan_from_dict(raw.get("analysis", {}), file=path)


def analyze_summaries(files: list[Path], project: Path | None, output: Path | None) -> None:
    """The coordinator's fit of the plan's linear models from the sites' summaries files."""
    from ..summaries import fit_summaries

    results = fit_summaries(files, _plan(project))
    folder = output or (
        (project.parent / "output" if project is not None else Path.cwd()) / "federated"
    )
    paths = results.write(folder)
    counts = results.models["status"].value_counts() if len(results.models) else {}
    out.print(
        f"models from {len(files)} site(s): {len(results.models)} ("
        + ", ".join(f"{v} {k}" for k, v in dict(counts).items())
        + ")"
    )
    out.print(f"tables: {paths['terms'].parent}")
    logistic = sorted({m for m in results.skipped_binomial})
    if logistic:
        out.print(
            f"{len(logistic)} logistic model(s) need the iterative protocol with the sites "
            "(`ipdma federate coordinate` with `ipdma federate site` at each site; docs/federated.md)"
        )
