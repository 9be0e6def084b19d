"""CLI commands of the federated logistic protocol over a shared folder.

``ipdma federate site SOURCE --folder DIR --site NAME`` runs at each site: it answers the
coordinator's requests from its own rows (per trial: log-likelihood, gradient, curvature,
conditional modes; nothing per participant). ``ipdma federate coordinate FILES... --folder
DIR`` runs at the coordinating centre: it fits every logistic model of the plan by the
protocol, with the sites' summaries files giving the design, and reports rounds and bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._app import app, out
from ._summaries import _plan

federate = typer.Typer(
    help="Federated logistic models: the iterative protocol over a shared folder.",
    no_args_is_help=True,
)
app.add_typer(federate, name="federate")

_FOLDER = typer.Option("--folder", help="The shared folder both sides can read and write.")
_PLAN = typer.Option("--plan", help="TOML file (e.g. project.toml) whose [analysis] is the plan.")


def _site_frame(source: Path):
    """The site's analysis frame (rows stay here): a project, master or Parquet/CSV frame."""
    import pandas as pd

    from ..analysis._source import resolve_source
    from ..errors import DataFileError

    folder_of_parquet = source.is_dir() and not (source / "project.toml").exists()
    if source.suffix == ".parquet" or folder_of_parquet:
        files = sorted(source.glob("*.parquet")) if source.is_dir() else [source]
        if not files:
            raise DataFileError("no Parquet files", file=source, hint="pass the site's data")
        return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True), None
    resolved = resolve_source(source)
    frames = [f.assign(window=w) for w, f in resolved.frames.items()]
    return pd.concat(frames, ignore_index=True), resolved.plan


@federate.command("site")
def site_command(
    source: Annotated[
        Path, typer.Argument(help="The site's project file, master.duckdb or Parquet frame.")
    ],
    folder: Annotated[Path, _FOLDER],
    site: Annotated[str, typer.Option("--site", help="This site's name (as in its summaries).")],
    plan: Annotated[Path | None, _PLAN] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds to wait for a request.")
    ] = 600.0,
) -> None:
    """Answer the coordinator's requests from this site's rows until it says stop."""
    from ..analysis import plan_from_dict
    from ..summaries import BinomialSite, serve_folder

    frame, project_plan = _site_frame(source)
    chosen = _plan(plan) or project_plan
    engine = BinomialSite(frame, plan_from_dict(chosen))
    out.print(f"site {site}: serving {folder / site} (stop: the coordinator's last request)")
    answered = serve_folder(folder, site, engine, timeout=timeout)
    sent = sum(p.stat().st_size for p in (folder / site).glob("response-*.npz"))
    out.print(f"site {site}: answered {answered} request(s), {sent} bytes of per-trial aggregates")


@federate.command("coordinate")
def coordinate_command(
    files: Annotated[list[Path], typer.Argument(help="The sites' summaries files.")],
    folder: Annotated[Path, _FOLDER],
    plan: Annotated[Path | None, _PLAN] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Folder for the tables.")
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds to wait for a site's answer.")
    ] = 600.0,
    min_cell: Annotated[
        int, typer.Option("--min-cell", min=1, help="The disclosure minimum the sites used.")
    ] = 5,
) -> None:
    """Fit the plan's logistic models with the sites over the shared folder."""
    from ..summaries import (
        DisclosureRules,
        FolderTransport,
        fit_federated_binomial,
        read_summaries,
    )
    from ..summaries._coordinate import logistic_tables

    sites = [read_summaries(f) for f in files]
    rules = DisclosureRules(min_cell)
    transport = FolderTransport(folder, tuple(s.site for s in sites), timeout=timeout)
    try:
        fits = fit_federated_binomial(sites, transport, _plan(plan), rules=rules)
    finally:
        transport.close()
    results = logistic_tables(fits, sites, _plan(plan), rules)
    paths = results.write(output or Path.cwd() / "federated")
    for model_id, fit in fits.items():
        out.print(
            f"{model_id}: {fit.rounds} rounds, {fit.messages} messages, "
            f"{fit.bytes_sent} bytes sent, {fit.bytes_received} bytes received"
        )
    total = sum(f.bytes_sent + f.bytes_received for f in fits.values())
    out.print(
        f"logistic models from {len(sites)} site(s): {len(fits)} fitted, "
        f"{sum(f.rounds for f in fits.values())} rounds, {total} bytes in all"
    )
    out.print(f"tables: {paths['terms'].parent}")
