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

_BASELINE = {"pain": "pain0", "function": "function0", "recovery": "function0"}


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
    outcome: Annotated[
        str, typer.Option(help="pain, function or recovery (global recovery, logistic).")
    ] = "pain",
    window: Annotated[Window, typer.Option(help="short, moderate or long.")] = "short",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the predictions to this CSV.")
    ] = None,
) -> None:
    """Predicted effect of exercise vs comparison for each profile, with its 95% CI and 95%
    prediction interval (between-trial heterogeneity included): a mean difference for pain
    and function; for recovery the odds ratio and, when the profiles give the baseline
    function0, the recovery risks and risk difference."""
    from ..analysis import AnalysisPlan, fit_effect_model, predict_effect
    from ..analysis._source import resolve_source
    from ..io import read_table
    from ..store import analysis_frame, load

    if outcome not in _BASELINE:
        raise SpecError(
            f"--outcome {outcome!r} is not an outcome of the effect model",
            hint="use --outcome pain, --outcome function or --outcome recovery",
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
    plan = resolve_source(project).plan or AnalysisPlan()
    family = "binomial" if outcome == "recovery" else "gaussian"
    model = fit_effect_model(
        frame, modifier, outcome=outcome, baseline=_BASELINE[outcome], family=family,
        nagq=plan.model.nagq, random=tuple(plan.model.random_binomial),
        correlated=plan.model.correlated,
    )  # fmt: skip
    result = predict_effect(model, profiles)
    if family == "binomial":  # the odds ratio and risks (the log OR is in estimate, ...)
        keep = [c for c in result.columns if c.startswith(("odds", "or_", "risk", "rd_"))]
        result = result[keep]
    given = list(dict.fromkeys([*modifier, *([_BASELINE[outcome]] * (family == "binomial"))]))
    shown = profiles[[c for c in given if c in profiles.columns]].join(
        result.round(3 if family == "binomial" else 2)
    )
    out.print(shown.to_string(index=False))
    out.print(
        f"model: {outcome} ({window} window), within-trial interactions with "
        f"{', '.join(modifier)}; {model.n_trials} trials; tau^2 = {model.tau2:.3g}"
        + (" (log odds ratio)" if family == "binomial" else "")
    )
    if output is not None:
        descriptor, temporary = tempfile.mkstemp(dir=output.parent or ".", suffix=".tmp")
        os.close(descriptor)
        shown.to_csv(temporary, index=False)
        os.replace(temporary, output)
        out.print(f"predictions: {output}")
