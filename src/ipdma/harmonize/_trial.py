"""Harmonize one trial: its raw table and spec -> trial row, arms, participants, outcomes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import InputError, IpdmaError, SpecError
from ..io import RawTable
from ..spec import TrialSpec, VariableDef, code_key, convert_unit, nearest
from ._identifiers import detect_identifiers
from ._instruments import Instrument, lookup
from ._notices import trial_notices
from ._pseudonym import pseudonyms
from ._recode import Context, derive_variable, numeric_column, plain, require_columns

__all__ = ["USUAL_CATEGORIES", "HarmonizedTrial", "harmonize_trial"]

#: comparison categories analysed together as "no treatment / usual care" (incl. placebo)
USUAL_CATEGORIES = ("no treatment", "usual care", "placebo")


@dataclass(frozen=True)
class HarmonizedTrial:
    """One trial after harmonization (rows for the master dataset's tables)."""

    trial: dict[str, object]
    arms: pd.DataFrame
    participants: pd.DataFrame
    outcomes: pd.DataFrame
    identifiers: pd.DataFrame
    notices: tuple[str, ...] = ()


def _comparison_set(category: str) -> str | None:
    if category == "exercise":
        return None
    return "usual" if category in USUAL_CATEGORIES else "conservative"


def _columns_used(spec: TrialSpec) -> list[tuple[str, str]]:
    used = [(spec.source.id, "[source].id"), (spec.source.arm, "[source].arm")]
    if spec.source.time:
        used.append((spec.source.time, "[source].time"))
    used += [(c, "[source].keep") for c in spec.source.keep]
    for name, var in spec.variables.items():
        used += [(c, f"variables.{name}") for c in var.source_columns()]
    for name, out in spec.outcomes.items():
        cols = [out.column] if out.column else list(out.columns.values())
        used += [(c, f"outcomes.{name}") for c in cols]
    return used


def _identifier_report(spec: TrialSpec, raw: RawTable, ctx: Context) -> pd.DataFrame:
    found = detect_identifiers(raw.data)
    allowed = set(spec.source.allow_identifiers)
    copied = {c: "[source].keep" for c in spec.source.keep}
    if not spec.source.pseudonymize:
        copied[spec.source.id] = "[source].id"
    for column, key in copied.items():
        if column in found and column not in allowed:
            raise SpecError(
                f"column {column!r} ({key}) looks like a direct identifier: {found[column]}",
                trial=ctx.trial,
                file=ctx.file,
                variable=column,
                hint=(
                    "set [source].pseudonymize = true (ids replaced by a keyed hash; key in "
                    "IPDMA_PSEUDONYM_KEY), use a pseudonymous id column, "
                    if key == "[source].id"
                    else "remove it from [source].keep, "
                )
                + "or list the column in [source].allow_identifiers if it is not identifying",
            )
    rows = [
        {
            "trial": spec.id,
            "column": column,
            "reason": reason,
            "action": "copied (allowed by spec)"
            if column in allowed and column in copied
            else "left out",
        }
        for column, reason in found.items()
    ]
    return pd.DataFrame(rows, columns=["trial", "column", "reason", "action"])


def _baseline_rows(ctx: Context, frame: pd.DataFrame, spec: TrialSpec) -> pd.DataFrame:
    """One row per participant: the row itself (wide) or the baseline visit (long)."""
    if spec.source.layout == "wide":
        dupes = frame["_pid"].duplicated(keep=False)
        if dupes.any():
            index = dupes.idxmax()
            raise InputError(
                f"duplicate participant ids ({int(frame['_pid'].duplicated().sum())} extra "
                "row(s)) in a wide file",
                trial=ctx.trial, file=ctx.file, variable=spec.source.id,
                row=ctx.row_of(frame, frame.index[dupes][1]), value=plain(frame.at[index, "_pid"]),
                hint="make the id column unique, or set layout = 'long' with a time column",
            )  # fmt: skip
        return frame
    pairs = frame[["_pid", "_time"]]
    dupes = pairs.duplicated(keep=False)
    if dupes.any():
        index = frame.index[dupes][1]
        raise InputError(
            "duplicate participant id and time in a long file",
            trial=ctx.trial, file=ctx.file, variable=spec.source.id,
            row=ctx.row_of(frame, index), value=plain(frame.at[index, "_pid"]),
            hint="each participant may have one row per visit time",
        )  # fmt: skip
    ordered = frame.assign(_is_base=frame["_time"] == spec.source.baseline_time)
    ordered = ordered.sort_values(["_pid", "_is_base", "_time"], ascending=[True, False, True])
    arms = frame.groupby("_pid")["_armkey"].nunique()
    if (arms > 1).any():
        pid = arms.index[arms > 1][0]
        rows = frame[frame["_pid"] == pid]
        index = rows.index[rows["_armkey"] != rows["_armkey"].iloc[0]][0]
        raise InputError(
            f"participant {pid} changes arm across visits (arm {rows['_armkey'].iloc[0]} in "
            f"row {int(rows['_row'].iloc[0])}, arm {rows.at[index, '_armkey']} here)",
            trial=ctx.trial, file=ctx.file, variable=spec.source.arm,
            row=ctx.row_of(frame, index), value=plain(frame.at[index, spec.source.arm]),
            hint="the arm column must be constant within participant (randomized arm); "
            "fix that row",
        )  # fmt: skip
    return ordered.drop_duplicates("_pid", keep="first").drop(columns="_is_base")


def _map_arms(ctx: Context, frame: pd.DataFrame, spec: TrialSpec) -> pd.Series:
    """The spec's arm code for each row (matched on the raw code, then on its value label)."""
    column = spec.source.arm
    missing = {code_key(m) for m in spec.source.missing}
    values = frame[column]
    lost = values.isna() | values.map(lambda v: pd.notna(v) and code_key(v) in missing)
    if lost.any():
        raise InputError(
            "participant without an arm code",
            trial=ctx.trial, file=ctx.file, variable=column,
            row=ctx.row_of(frame, lost.idxmax()),
            hint="every participant must have a randomized group; remove the row",
        )  # fmt: skip
    found: dict[object, str] = {}
    for value in values.unique():
        arm = spec.arm_for(value)
        if arm is None:
            label = ctx.raw.label_of(column, value)
            arm = spec.arm_for(label) if label is not None else None
        if arm is None:
            known = ", ".join(code_key(a.code) for a in spec.arms)
            index = (values == value).idxmax()
            raise InputError(
                f"arm code not mapped by the spec (mapped codes: {known})",
                trial=ctx.trial, file=ctx.file, variable=column,
                row=ctx.row_of(frame, index), value=plain(value),
                hint=f"add an [[arms]] entry with code = {code_key(value)!r}",
            )  # fmt: skip
        found[value] = code_key(arm.code)
    return values.map(found).astype(object)


def _outcome_rows(
    ctx: Context,
    frame: pd.DataFrame,
    spec: TrialSpec,
    name: Literal["pain", "function"],
    instrument: Instrument,
) -> pd.DataFrame:
    out = spec.outcomes[name]
    to_weeks = convert_unit(out.time_unit or spec.source.time_unit, "weeks")
    parts = []
    if out.column is not None:  # long
        pairs = [(out.column, frame["_time"], frame)]
    else:
        pairs = [(col, pd.Series(float(t), index=frame.index), frame)
                 for t, col in out.columns.items()]  # fmt: skip
    for column, times, rows in pairs:
        native = numeric_column(ctx, rows, column, missing=out.missing)
        try:
            value = instrument.to_100(native, trial=ctx.trial, column=column)
        except InputError as exc:
            raise InputError(
                exc.message, trial=ctx.trial, file=ctx.file, variable=column,
                row=ctx.row_of(rows, exc.row), value=exc.value, hint=exc.hint,
            ) from None  # fmt: skip
        part = pd.DataFrame({
            "trial": spec.id, "pid": rows["_pid"], "outcome": name,
            "time_weeks": ((times - spec.source.baseline_time) * to_weeks).round(4),
            "value": value, "native_value": native, "instrument": instrument.name,
        })  # fmt: skip
        parts.append(part[part["value"].notna()])
    return pd.concat(parts, ignore_index=True)


def harmonize_trial(
    spec: TrialSpec,
    raw: RawTable,
    *,
    variables: Mapping[str, VariableDef],
    instruments: Mapping[str, Instrument],
) -> HarmonizedTrial:
    """Harmonize one trial's raw table with its spec (see docs/spec.md for every step).

    Errors name the data file and, beside it, the trial spec that read it.
    """
    try:
        return _harmonize(spec, raw, variables, instruments)
    except IpdmaError as exc:
        if exc.spec is not None or spec.path is None:
            raise
        context = {k: getattr(exc, k) for k in ("trial", "file", "variable", "row", "value")}
        raise type(exc)(exc.message, **context, spec=spec.path, hint=exc.hint) from None


def _cell_errors(ctx: Context, spec: TrialSpec) -> None:
    """Excel error cells (#DIV/0!, #REF! ...) in a column the spec reads are input errors."""
    for column, key in _columns_used(spec):
        if column in ctx.raw.cell_errors:
            row, text, count = ctx.raw.cell_errors[column]
            raise InputError(
                f"Excel error value in a column named in {key} ({count} cell(s))",
                trial=ctx.trial, file=ctx.file, variable=column, row=row, value=text,
                hint="fix the formula in the workbook (or replace the error by an empty cell "
                "if the value is unknown) and save it again",
            )  # fmt: skip


def _case_only_ids(ctx: Context, frame: pd.DataFrame, spec: TrialSpec) -> None:
    """Ids that differ only in letter case ('ab12' and 'AB12') are almost always one person."""
    folded = frame["_pid"].str.casefold()
    pairs = frame.assign(_fold=folded).drop_duplicates(["_pid"])
    clash = pairs["_fold"].duplicated(keep=False)
    if clash.any():
        rows = pairs[clash].sort_values("_fold").iloc[:2]
        first, second = rows["_pid"].tolist()
        raise InputError(
            f"participant ids {first!r} and {second!r} differ only in letter case",
            trial=ctx.trial, file=ctx.file, variable=spec.source.id,
            row=ctx.row_of(frame, rows.index[1]), value=second,
            hint="write each participant's id the same way in every row (ids are compared "
            "exactly, so these count as two participants)",
        )  # fmt: skip


def _harmonize(
    spec: TrialSpec,
    raw: RawTable,
    variables: Mapping[str, VariableDef],
    instruments: Mapping[str, Instrument],
) -> HarmonizedTrial:
    ctx = Context(spec.id, raw.path, raw, spec.source.missing)
    for column, key in _columns_used(spec):
        require_columns(ctx, [column], key=key)
    _cell_errors(ctx, spec)
    unknown = sorted(set(spec.variables) - set(variables))
    if unknown:
        guess = nearest(unknown[0], variables)
        raise SpecError(
            f"unknown variable {unknown[0]!r} in [variables]",
            trial=spec.id, file=spec.path or ctx.file,
            hint=(f"did you mean {guess!r}? " if guess else "")
            + f"use one of {', '.join(variables)}, or declare it in project.toml [variables]",
        )  # fmt: skip
    identifiers = _identifier_report(spec, raw, ctx)
    frame = raw.data.reset_index(drop=True)
    frame.insert(0, "_row", np.arange(1, len(frame) + 1))
    missing_id = frame[spec.source.id].isna()
    if missing_id.any():
        raise InputError(
            "participant id is missing", trial=spec.id, file=ctx.file,
            variable=spec.source.id, row=int(frame.loc[missing_id.idxmax(), "_row"]),
            hint="every row needs a participant id",
        )  # fmt: skip
    frame["_pid"] = frame[spec.source.id].map(code_key)
    _case_only_ids(ctx, frame, spec)
    if spec.source.layout == "long":
        assert spec.source.time is not None  # SourceSpec: a long layout needs `time`
        frame["_time"] = numeric_column(ctx, frame, spec.source.time)
        if frame["_time"].isna().any():
            raise InputError(
                "visit time is missing in a long file", trial=spec.id, file=ctx.file,
                variable=spec.source.time, row=ctx.row_of(frame, frame["_time"].isna().idxmax()),
                hint="every row of a long file needs its visit time",
            )  # fmt: skip
    frame["_armkey"] = _map_arms(ctx, frame, spec)
    base = _baseline_rows(ctx, frame, spec)

    outcome_parts, instrument_labels = [], {}
    measured: tuple[Literal["pain", "function"], ...] = ("pain", "function")
    for outcome in measured:
        if outcome in spec.outcomes:
            instrument = lookup(instruments, spec.outcomes[outcome].instrument,
                                trial=spec.id, file=ctx.file, outcome=outcome)  # fmt: skip
            instrument_labels[outcome] = instrument.label
            outcome_parts.append(_outcome_rows(ctx, frame, spec, outcome, instrument))
    columns = ["trial", "pid", "outcome", "time_weeks", "value", "native_value", "instrument"]
    outcomes = pd.concat(outcome_parts, ignore_index=True) if outcome_parts else (
        pd.DataFrame(columns=columns))  # fmt: skip

    arm_of = {code_key(a.code): a for a in spec.arms}
    data = {
        "trial": spec.id,
        "pid": base["_pid"].to_numpy(),
        "arm_code": base["_armkey"].to_numpy(),
        "treat": [1.0 if arm_of[k].category == "exercise" else 0.0 for k in base["_armkey"]],
        "comparison": [_comparison_set(arm_of[k].category) for k in base["_armkey"]],
    }
    participants = pd.DataFrame(data, index=base.index)
    for name, definition in variables.items():
        if name in spec.variables:
            participants[name] = derive_variable(ctx, base, name, spec.variables[name], definition)
        elif name not in ("pain0", "function0"):
            participants[name] = np.nan
    for name in ("pain", "function"):
        at_base = outcomes[(outcomes["outcome"] == name) & (outcomes["time_weeks"] == 0)]
        participants[f"{name}0"] = participants["pid"].map(at_base.set_index("pid")["value"])
    for column in spec.source.keep:
        participants[column] = base[column].to_numpy()
    participants = participants.reset_index(drop=True)
    participants["pain0"] = participants["pain0"].astype(float)
    participants["function0"] = participants["function0"].astype(float)

    counts = participants["arm_code"].value_counts()
    arms = pd.DataFrame([
        {"trial": spec.id, "arm_code": key, "arm": arm.name,
         "role": "exercise" if arm.category == "exercise" else "comparison",
         "category": arm.category, "type": arm.type, "design": arm.design,
         "delivery": arm.delivery, "n": int(counts.get(key, 0))}
        for key, arm in arm_of.items()
    ])  # fmt: skip
    trial = _trial_row(spec, participants, arms, instrument_labels)
    notices = tuple(trial_notices(spec, participants, outcomes, arms))
    if spec.source.pseudonymize:
        participants["pid"] = pseudonyms(participants["pid"], spec.id)
        outcomes["pid"] = pseudonyms(outcomes["pid"], spec.id)
    return HarmonizedTrial(trial, arms, participants, outcomes, identifiers, notices)


def _comparison_category(arms: pd.DataFrame) -> str:
    comparison = arms[arms["role"] == "comparison"]
    if comparison.empty:
        return "N/A"
    if comparison["category"].isin(USUAL_CATEGORIES).all():
        return "No treatment/usual care"
    types = comparison["type"].unique()
    return str(types[0]).capitalize() if len(types) == 1 else "Multiple"


def _trial_row(spec, participants, arms, instruments) -> dict[str, object]:
    meta = spec.trial
    return {
        "trial": spec.id, "label": meta.label, "year": meta.year, "country": meta.country,
        "population": meta.population, "included": True,
        "n_participants": len(participants),
        "pct_female": float(100 * participants["female"].mean()),
        "mean_age": float(participants["age"].mean()),
        "mean_pain0": float(participants["pain0"].mean()),
        "n_exercise_arms": int((arms["role"] == "exercise").sum()),
        "n_comparison_arms": int((arms["role"] == "comparison").sum()),
        "comparison_category": meta.comparison_category or _comparison_category(arms),
        "pain_instrument": instruments.get("pain"),
        "function_instrument": instruments.get("function"),
    }  # fmt: skip
