"""Run the analyses beyond the paper's limits after the grid (``ipdma.analysis.run``).

Non-linear interactions (a restricted cubic spline per continuous modifier, pain, function
and global recovery), individual treatment-effect prediction with internal-external cross-validation,
and the credibility of every potentially important modifier; see
:mod:`ipdma.analysis._beyond_units`, :mod:`ipdma.analysis._beyond_credibility` and the frames
in :mod:`ipdma.analysis._beyond_records`. Switched by the plan (``splines``,
``spline_knots``, ``prediction``, ``prediction_modifiers``, ``credibility``).

The spline fits and cross-validations are cached in the results store like the grid's
models: keyed on the unit's own data (every value of every column it uses), its settings
and the estimation code, so an unchanged re-analysis takes them from the cache. The
credibility assessments are cheap (per-trial least squares) and always recomputed from the
current tables.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .._version import __version__
from ._beyond_credibility import credibility_frames
from ._beyond_records import BeyondResults, frame_from_json, frame_to_json
from ._beyond_units import Unit, cell_frame, run_unit, units
from ._plan import AnalysisPlan

__all__ = ["beyond", "unit_key"]


@functools.cache
def _code_digest() -> str:
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    paths = [*sorted((here.parent / "models").glob("*.py")),
             *(here / n for n in ("_splines.py", "_splines_models.py", "_splines_two_stage.py",
                                  "_predict.py", "_predict_logistic.py", "_benefit.py",
                                  "_separation.py", "_beyond_units.py", "_beyond_records.py"))]  # fmt: skip
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def unit_key(unit: Unit, data: pd.DataFrame, plan: AnalysisPlan) -> str:
    """SHA-256 of the unit, its labels, the code and every value of the columns it uses."""
    digest = hashlib.sha256()
    labels = [plan.modifier_spec(m).label for m in unit.modifiers]
    spec = {"version": __version__, "code": _code_digest(), "unit": unit.__dict__,
            "labels": labels}  # fmt: skip
    digest.update(json.dumps(spec, sort_keys=True, default=str).encode())
    for name in unit.columns:
        values = data[name].to_numpy()
        digest.update(name.encode())
        if values.dtype == object or not np.issubdtype(values.dtype, np.number):
            digest.update("\x1f".join(map(str, values)).encode())
        else:
            digest.update(np.ascontiguousarray(values, dtype=float).tobytes())
    return digest.hexdigest()


def _dump(part: Mapping[str, pd.DataFrame]) -> str:
    return json.dumps({name: frame_to_json(frame) for name, frame in part.items()})


def _load(text: str) -> dict[str, pd.DataFrame]:
    return {name: frame_from_json(obj) for name, obj in json.loads(text).items()}


def beyond(
    plan: AnalysisPlan,
    frames: Mapping[str, pd.DataFrame],
    interactions: pd.DataFrame,
    important: pd.DataFrame,
    lookup: Callable[[list[str]], Mapping[str, str]] | None = None,
) -> tuple[BeyondResults, dict[str, str]]:
    """The :class:`BeyondResults` of a run and the new cache entries ``{key: payload}``.

    ``lookup(keys)`` returns the stored payloads of those unit keys that are in the results
    store's cache (none by default).
    """
    plan_units, datas, keys = unit_keys(plan, frames, important, interactions)
    cached = lookup(keys) if lookup is not None else {}
    new: dict[str, str] = {}
    parts: dict[str, list[pd.DataFrame]] = {}
    for unit, data, key in zip(plan_units, datas, keys, strict=True):
        if key in cached:
            part = _load(cached[key])
        else:
            part = run_unit(unit, data, plan)
            new[key] = _dump(part)
            part = _load(new[key])  # the stored values exactly, fitted or cached alike
        for name, frame in part.items():
            parts.setdefault(name, []).append(frame)
    out = {name: pd.concat(list_, ignore_index=True) for name, list_ in parts.items()}
    if plan.credibility and not important.empty:
        out.update(credibility_frames(plan, dict(frames), interactions, important))
    return BeyondResults.build(out), new


def unit_keys(
    plan: AnalysisPlan,
    frames: Mapping[str, pd.DataFrame],
    important: pd.DataFrame,
    interactions: pd.DataFrame,
) -> tuple[list[Unit], list[pd.DataFrame], list[str]]:
    """The plan's units, the data of each and its cache key."""
    plan_units = units(plan, dict(frames), important, interactions)
    cells: dict[tuple[str, str], pd.DataFrame] = {}
    datas, keys = [], []
    for unit in plan_units:
        cell = (unit.window, unit.comparison)
        if cell not in cells:
            cells[cell] = cell_frame(frames[unit.window], unit.comparison)
        datas.append(cells[cell])
        keys.append(unit_key(unit, cells[cell], plan))
    return plan_units, datas, keys
