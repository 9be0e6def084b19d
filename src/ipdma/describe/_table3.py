"""Table 3: participant characteristics at baseline (n, %, mean (95% CI) or median (IQR))."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..spec import VARIABLES
from ..store import MasterData
from ._stats import mean_ci, median_iqr

__all__ = ["table3"]

_NAN = float("nan")


def _participants(master: MasterData | pd.DataFrame) -> pd.DataFrame:
    if isinstance(master, pd.DataFrame):
        return master
    if isinstance(master, MasterData):
        return master.participants
    raise InputError(
        f"expected the master dataset or a participants frame, got {type(master).__name__}",
        variable="participants",
        hint="pass ipdma.load(...) or a participants DataFrame",
    )


def _fmt(value: float, decimals: int) -> str:
    return "-" if not np.isfinite(value) else f"{value:.{decimals}f}"


def table3(
    master: MasterData | pd.DataFrame,
    *,
    variables: Sequence[str] | None = None,
    medians: Sequence[str] = ("episode_months",),
    decimals: int = 1,
    level: float = 0.95,
) -> pd.DataFrame:
    """Baseline characteristics of the participants, in the layout of the paper's Table 3.

    ``master`` is a MasterData (its ``participants``) or a participants DataFrame (e.g. an
    analysis frame). ``variables`` defaults to the registry ``ipdma.harmonize.VARIABLES``
    columns present in the data, in registry order (``ipdma.spec.VARIABLES``). Continuous variables give one row with
    the number of participants with a value and mean (t-based ``level`` CI), or median (IQR)
    for those in ``medians``; binary variables give a header row and one row per level
    (reference 0 first) with n and % of those with a value. Every variable states its %
    missing (of all participants).

    Returns a tidy frame: ``variable, level, kind`` ("value" | "header" | "level"),
    ``characteristic`` (display label with summary type and missingness, as the paper),
    ``n``, ``value`` (display string), and numbers ``estimate, low, high, pct, missing_pct``.
    """
    data = _participants(master)
    registry = VARIABLES
    if variables is None:
        variables = [name for name in registry if name in data.columns]
    total = len(data)
    if total == 0:
        raise InputError("there are no participants to describe", variable="participants")
    rows: list[dict[str, Any]] = []
    for name in variables:
        if name not in data.columns:
            raise InputError(
                f"variable {name!r} is not a participants column",
                variable=name,
                hint="choose from: " + ", ".join(c for c in data.columns if c in registry),
            )
        x = pd.to_numeric(data[name], errors="coerce")
        missing = 100 * float(x.isna().mean())
        spec = registry.get(name)
        label = spec.label if spec is not None else name
        values = x.dropna()
        binary = (spec.kind == "binary") if spec is not None else set(values.unique()) <= {0, 1}
        miss_text = f"missing = {missing:.1f}%" if missing < 10 else f"missing = {missing:.0f}%"
        base = {"variable": name, "missing_pct": missing}
        if binary:
            levels = spec.levels if spec is not None and spec.levels else ("no", "yes")
            rows.append(
                {
                    **base,
                    "level": "",
                    "kind": "header",
                    "characteristic": f"{label} ({miss_text})",
                    "n": len(values),
                    "value": "",
                    "estimate": _NAN,
                    "low": _NAN,
                    "high": _NAN,
                    "pct": _NAN,
                }
            )
            for code, level_label in zip((0, 1), levels, strict=True):
                count = int((values == code).sum())
                pct = 100 * count / len(values) if len(values) else _NAN
                rows.append(
                    {
                        **base,
                        "level": level_label,
                        "kind": "level",
                        "characteristic": level_label.capitalize(),
                        "n": count,
                        "value": _fmt(pct, decimals),
                        "estimate": _NAN,
                        "low": _NAN,
                        "high": _NAN,
                        "pct": pct,
                    }
                )
            continue
        if name in medians:
            est, low, high, n = median_iqr(values)
            kind_text = "(median; IQR)"
            shown = f"{_fmt(est, decimals)} ({_fmt(low, decimals)}-{_fmt(high, decimals)})"
        else:
            est, low, high, n = mean_ci(values, level)
            kind_text = f"(mean, {100 * level:g}% CI)"
            shown = f"{_fmt(est, decimals)} ({_fmt(low, decimals)}-{_fmt(high, decimals)})"
        rows.append(
            {
                **base,
                "level": "",
                "kind": "value",
                "characteristic": f"{label} {kind_text} ({miss_text})",
                "n": n,
                "value": shown,
                "estimate": est,
                "low": low,
                "high": high,
                "pct": _NAN,
            }
        )
    columns = [
        "variable",
        "level",
        "kind",
        "characteristic",
        "n",
        "value",
        "estimate",
        "low",
        "high",
        "pct",
        "missing_pct",
    ]
    return pd.DataFrame(rows, columns=columns)
