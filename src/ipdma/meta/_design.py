"""The moderator design matrix of a meta-regression (formula, frame or array)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import FormulaError, InputError
from ..models._formula import r_powers

__all__ = ["moderator_matrix"]


def _from_formula(formula: str, data: pd.DataFrame | None, k: int) -> tuple[np.ndarray, list[str]]:
    import formulaic

    if data is None:
        raise InputError(
            f"mods={formula!r} is a formula but no data were given",
            variable="mods",
            hint="pass data=<DataFrame with the moderator columns>",
        )
    if len(data) != k:
        raise InputError(
            f"data has {len(data)} rows but there are {k} studies",
            variable="data",
            hint="pass one row of moderators per study, in the order of yi",
        )
    rhs = formula.split("~", 1)[1] if "~" in formula else formula
    rhs = r_powers(rhs)  # R's I(x^2) is Python's I(x**2)
    try:
        spec = formulaic.Formula(rhs)
        frame = formulaic.model_matrix(spec, data.reset_index(drop=True), na_action="raise")
    except Exception as exc:  # formulaic raises many types; report them uniformly
        missing = [c for c in data.columns if data[c].isna().any()]
        hint = (
            f"column(s) {', '.join(map(str, missing))} have missing values; drop those studies"
            if missing
            else "write the moderators as in R, e.g. '~ latitude + C(allocation)'"
        )
        raise FormulaError(f"cannot evaluate mods={formula!r}: {exc}", hint=hint) from exc
    return frame.to_numpy(dtype=float), list(frame.columns)


def moderator_matrix(
    mods: Any, data: pd.DataFrame | None, k: int, *, intercept: bool
) -> tuple[np.ndarray, tuple[str, ...]]:
    """``(X, terms)``: an intercept column ("Intercept") first unless removed; full rank."""
    if mods is None:
        x, names = np.ones((k, 1)), ["Intercept"]
    elif isinstance(mods, str):
        x, names = _from_formula(mods, data, k)
        if not intercept and "Intercept" in names:
            keep = [i for i, n in enumerate(names) if n != "Intercept"]
            x, names = x[:, keep], [names[i] for i in keep]
    else:
        if isinstance(mods, pd.Series):
            frame = mods.to_frame()
        elif isinstance(mods, pd.DataFrame):
            frame = mods
        else:
            arr = np.asarray(mods, dtype=float)
            arr = arr.reshape(k, -1) if arr.ndim == 1 else arr
            frame = pd.DataFrame(arr, columns=[f"x{i + 1}" for i in range(arr.shape[1])])
        if len(frame) != k:
            raise InputError(
                f"mods has {len(frame)} rows but there are {k} studies",
                variable="mods",
                hint="pass one row of moderators per study",
            )
        try:
            values = frame.to_numpy(dtype=float)
        except (TypeError, ValueError) as exc:
            raise InputError(
                "mods must be numeric",
                variable="mods",
                hint="code categorical moderators as a formula with C(column) and data=",
            ) from exc
        names = [str(c) for c in frame.columns]
        if intercept:
            values = np.column_stack([np.ones(k), values])
            names = ["Intercept", *names]
        x = values
    bad = np.argwhere(~np.isfinite(x))
    if bad.size:
        row, col = (int(i) for i in bad[0])
        raise InputError(
            f"moderator {names[col]} is missing or not finite",
            variable=names[col],
            row=row,
            value=float(x[row, col]),
            hint="drop the study or fill in the moderator",
        )
    if x.shape[1] == 0:
        raise FormulaError("mods leave no coefficient", hint="keep the intercept or a moderator")
    rank = np.linalg.matrix_rank(x)
    if rank < x.shape[1]:
        raise InputError(
            f"moderators are collinear (rank {rank} < {x.shape[1]} columns: {', '.join(names)})",
            variable="mods",
            hint="drop a moderator that is a combination of the others",
        )
    return x, tuple(names)
