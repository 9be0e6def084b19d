"""Turn raw columns into one harmonized variable: missing codes, value codes and labels,
numeric coercion, combination of items, unit conversion, rescaling to 0-100, cut-offs, BMI."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, SpecError
from ..io import RawTable
from ..spec import UNITS, VariableDef, VariableSpec, code_key, convert_unit, nearest

__all__ = ["Context", "derive_variable", "numeric_column", "plain", "require_columns"]


def plain(value: object) -> object:
    """A numpy scalar as the Python scalar (so messages print ``7.0``, not ``np.float64``)."""
    return value.item() if isinstance(value, np.generic) else value


@dataclass(frozen=True)
class Context:
    """Where values come from, for error messages: trial, file, the raw table, row labels."""

    trial: str
    file: Path
    raw: RawTable
    missing: tuple[object, ...] = ()

    def row_of(self, frame: pd.DataFrame, index: object) -> str:
        """``"12 (id 1003)"``: the 1-based data row in the file and the participant id."""
        row = frame.at[index, "_row"] if "_row" in frame.columns else index
        pid = frame.at[index, "_pid"] if "_pid" in frame.columns else None
        return f"{row} (id {pid})" if pid is not None else str(row)


def require_columns(ctx: Context, columns: list[str], *, key: str) -> None:
    """SpecError naming the first column that the file does not have (nearest suggested)."""
    available = list(ctx.raw.data.columns)
    for column in columns:
        if column not in available:
            guess = nearest(column, available)
            raise SpecError(
                f"column {column!r} named in {key} is not in the data file",
                trial=ctx.trial,
                file=ctx.file,
                variable=column,
                hint=(f"did you mean {guess!r}? " if guess else "")
                + f"columns in the file: {', '.join(available[:40])}",
            )


def _blank_to_missing(values: pd.Series, missing: tuple[object, ...]) -> pd.Series:
    out = values.copy()
    if out.dtype == object or pd.api.types.is_string_dtype(out):
        out = out.map(lambda v: v.strip() if isinstance(v, str) else v)
        out = out.mask(out.map(lambda v: isinstance(v, str) and v == ""))
    if missing:
        keys = {code_key(m) for m in missing}
        out = out.mask(out.map(lambda v: pd.notna(v) and code_key(v) in keys))
    return out


def numeric_column(
    ctx: Context, frame: pd.DataFrame, column: str, *, missing: tuple[object, ...] = ()
) -> pd.Series:
    """The column as floats after missing codes; a non-numeric value is an InputError."""
    values = _blank_to_missing(frame[column], (*ctx.missing, *missing))
    if pd.api.types.is_bool_dtype(values):
        return values.astype(float)
    numbers = pd.to_numeric(values, errors="coerce")
    bad = values.notna() & numbers.isna()
    if bad.any():
        index = bad.idxmax()
        raise InputError(
            f"non-numeric value in a numeric column ({int(bad.sum())} value(s))",
            trial=ctx.trial,
            file=ctx.file,
            variable=column,
            row=ctx.row_of(frame, index),
            value=plain(values[index]),
            hint=_number_hint(values[index]),
        )
    infinite = np.isinf(numbers.astype(float))
    if infinite.any():
        index = infinite.idxmax()
        raise InputError(
            f"infinite value in a numeric column ({int(infinite.sum())} value(s))",
            trial=ctx.trial,
            file=ctx.file,
            variable=column,
            row=ctx.row_of(frame, index),
            value=plain(values[index]),
            hint="replace it with the measured value; if it is unknown, leave the cell "
            "empty or list the code under `missing`",
        )
    return numbers.astype(float)


def _number_hint(value: object) -> str:
    """How to fix a value that is not a number (a decimal comma or point gets its own hint)."""
    text = str(value).strip()
    if re.fullmatch(r"[-+]?\d+,\d+", text):
        return (
            "the file uses a decimal comma: set [source].decimal = ',' in the trial spec "
            "(a comma-separated file with decimal commas needs delimiter = ';')"
        )
    if re.fullmatch(r"[-+]?\d*\.\d+", text):
        return "the file uses a decimal point: remove [source].decimal = ',' from the trial spec"
    if text.startswith("#") and text.endswith(("!", "?", "A")):
        return "an Excel error value: fix the formula in the workbook, or clear the cell"
    return "fix the value, list it under `missing`, or map it with `codes`"


def _coded_column(ctx: Context, frame: pd.DataFrame, column: str, spec: VariableSpec) -> pd.Series:
    values = _blank_to_missing(frame[column], (*ctx.missing, *spec.missing))
    codes = {code_key(k).casefold(): float(v) for k, v in spec.codes.items()}

    def lookup(value: object) -> float:
        if pd.isna(value):
            return np.nan
        key = code_key(value).casefold()
        if key in codes:
            return codes[key]
        label = ctx.raw.label_of(column, value)
        if label is not None and label.strip().casefold() in codes:
            return codes[label.strip().casefold()]
        raise KeyError(value)

    mapped: dict[object, float] = {}
    for value in values.dropna().unique():
        try:
            mapped[value] = lookup(value)
        except KeyError:
            label = ctx.raw.label_of(column, value)
            raise InputError(
                "value not mapped by `codes`" + (f" (its label is {label!r})" if label else ""),
                trial=ctx.trial,
                file=ctx.file,
                variable=column,
                row=ctx.row_of(frame, (values == value).idxmax()),
                value=plain(value),
                hint=f"add {code_key(value)!r} to codes (or to missing) in the variable's spec",
            ) from None
    return values.map(mapped).astype(float)


def _in_range(ctx, frame, values, column, low, high, what, hint=None) -> None:
    bad = values.notna() & ((values < low) | (values > high))
    if bad.any():
        index = bad.idxmax()
        raise InputError(
            f"value outside {what} {low:g} to {high:g} ({int(bad.sum())} value(s))",
            trial=ctx.trial,
            file=ctx.file,
            variable=column,
            row=ctx.row_of(frame, index),
            value=float(values[index]),
            hint=hint or "fix the value, list it under `missing`, or correct the spec's range/unit",
        )


def _input(ctx, frame, item, base_unit: str) -> pd.Series:
    values = numeric_column(ctx, frame, item.column)
    if item.unit is None:
        return values
    return values * convert_unit(item.unit, base_unit)


def derive_variable(
    ctx: Context, frame: pd.DataFrame, name: str, spec: VariableSpec, definition: VariableDef
) -> pd.Series:
    """One harmonized variable (float Series on ``frame``'s index) from its spec.

    Steps: missing codes -> ``codes`` (raw value or its label) -> numeric -> ``combine`` ->
    unit conversion -> ``scale``/``offset`` -> ``rescale`` 100 (x - lo) / (hi - lo) (or
    100 (hi - x) / (hi - lo) when ``reverse``) -> ``cutoff`` -> check the valid range.
    BMI = weight [kg] / height [m]^2.
    """
    label = f"variables.{name}"
    # VariableSpec's validator guarantees the inputs each kind of variable needs
    if spec.derive == "bmi":
        assert spec.weight is not None and spec.height is not None
        weight = _input(ctx, frame, spec.weight, "kg")
        height = _input(ctx, frame, spec.height, "m") if spec.height.unit else None
        if height is None:  # no unit given: metres if values look like metres, else cm
            raw = numeric_column(ctx, frame, spec.height.column)
            height = raw if raw.median() < 3 else raw / 100.0
        values = weight / height**2
    elif spec.derive == "age":
        assert spec.birth is not None and spec.at is not None
        values = _years_between(ctx, frame, spec.birth, spec.at)
    elif spec.columns:
        items = [_coded_or_numeric(ctx, frame, c, spec) for c in spec.columns]
        stacked = pd.concat(items, axis=1)
        values = stacked.sum(axis=1, min_count=len(items))
        values = values.where(stacked.notna().all(axis=1))
        if spec.combine == "mean":
            values = values / len(items)
    else:
        assert spec.column is not None
        values = _coded_or_numeric(ctx, frame, spec.column, spec)
    if spec.unit is not None:
        target = definition.unit
        if target not in UNITS:
            raise SpecError(
                f"{label}: unit {spec.unit!r} given, but {name} has no convertible unit",
                trial=ctx.trial,
                file=ctx.file,
                hint="remove `unit` or use scale/offset",
            )
        values = values * convert_unit(spec.unit, target)
    values = values * spec.scale + spec.offset
    column = spec.column or ",".join(spec.source_columns())
    if spec.rescale is not None:
        low, high = spec.rescale
        _in_range(ctx, frame, values, column, low, high, f"the native range of {label}")
        values = 100.0 * ((high - values) if spec.reverse else (values - low)) / (high - low)
    if spec.cutoff is not None:
        ops = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less}
        hit = ops[spec.cutoff_rule](values, spec.cutoff).astype(float)
        values = hit.where(values.notna())
    if definition.valid is not None:
        low, high = definition.valid
        hint = None
        if definition.kind == "binary":
            ref, yes = definition.levels or ("no", "yes")
            hint = f"map the raw codes to 0 ({ref}) and 1 ({yes}) with `codes`, or use `cutoff`"
        _in_range(ctx, frame, values, column, low, high, f"the valid range of {name}", hint)
    return values.astype(float)


def _dates(ctx: Context, frame: pd.DataFrame, column: str) -> pd.Series:
    raw = _blank_to_missing(frame[column], ctx.missing)
    dates = pd.to_datetime(raw, errors="coerce", dayfirst=True, format="mixed")
    bad = raw.notna() & dates.isna()
    if bad.any():
        index = bad.idxmax()
        raise InputError(
            "value is not a date",
            trial=ctx.trial, file=ctx.file, variable=column,
            row=ctx.row_of(frame, index), value=plain(raw[index]),
            hint="use ISO dates (2004-03-31) or day/month/year, or list the value under missing",
        )  # fmt: skip
    return dates


def _years_between(ctx: Context, frame: pd.DataFrame, birth: str, at: str) -> pd.Series:
    """Age in completed-or-fractional years: (at - birth) in days / 365.25."""
    days = (_dates(ctx, frame, at) - _dates(ctx, frame, birth)).dt.days
    return (days / 365.25).astype(float)


def _coded_or_numeric(ctx, frame, column: str, spec: VariableSpec) -> pd.Series:
    if spec.codes:
        return _coded_column(ctx, frame, column, spec)
    return numeric_column(ctx, frame, column, missing=spec.missing)
