"""CLI command: ipdma predict (registered on ipdma.cli._app.app)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from .._literals import Window
from ..errors import InputError, SpecError
from ._app import app, out

_BASELINE = {"pain": "pain0", "function": "function0"}


@app.command("predict")
def predict(
    project: Annotated[
        Path, typer.Argument(help="The project file (project.toml) or master.duckdb.")
    ],
    patients: Annotated[
        Path, typer.Argument(help="CSV/XLSX of covariate profiles, one column per modifier.")
    ],
    modifier: Annotated[
        list[str],
        typer.Option("--modifier", "-m", help="A modifier of the effect model (repeat)."),
    ],
    outcome: Annotated[str, typer.Option(help="pain or function.")] = "pain",
    window: Annotated[Window, typer.Option(help="short, moderate or long.")] = "short",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the predictions to this CSV.")
    ] = None,
) -> None:
    """Predicted effect of exercise vs comparison for each profile, with its 95% CI and 95%
    prediction interval (between-trial heterogeneity included)."""
    from ..analysis import fit_effect_model, predict_effect
    from ..io import read_table
    from ..store import analysis_frame, load

    if outcome not in _BASELINE:
        raise SpecError(
            f"--outcome {outcome!r} is not a continuous outcome",
            hint="use --outcome pain or --outcome function",
        )
    if not patients.exists():
        raise InputError(f"no such file: {patients}", file=str(patients))
    frame = analysis_frame(load(project), window=window)
    missing = [m for m in modifier if m not in frame.columns]
    if missing:
        raise SpecError(
            f"--modifier {missing[0]!r} is not a harmonized variable of the project",
            hint="use a baseline variable name, e.g. age, medication, heavy_demands",
        )
    profiles = read_table(patients).data
    model = fit_effect_model(frame, modifier, outcome=outcome, baseline=_BASELINE[outcome])
    result = predict_effect(model, profiles)
    shown = profiles[list(modifier)].join(result.round(2))
    out.print(shown.to_string(index=False))
    out.print(
        f"model: {outcome} ({window} window), within-trial interactions with "
        f"{', '.join(modifier)}; {model.n_trials} trials; tau^2 = {model.tau2:.3g}"
    )
    if output is not None:
        descriptor, temporary = tempfile.mkstemp(dir=output.parent or ".", suffix=".tmp")
        os.close(descriptor)
        shown.to_csv(temporary, index=False)
        os.replace(temporary, output)
        out.print(f"predictions: {output}")
