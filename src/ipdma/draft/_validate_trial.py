"""The data-level checks of one trial spec against its raw file (used by ``validate``).

Every check runs and reports on its own: columns, identifiers, arm codes, ids, and each
variable and outcome harmonized separately with ``ipdma.harmonize.harmonize_trial`` on a
spec reduced to it, so one bad variable does not hide the next.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ..errors import IpdmaError
from ..harmonize import detect_identifiers, harmonize_trial, instrument_registry
from ..io import RawTable, read_table
from ..spec import Project, TrialSpec, code_key, nearest
from ._validate import _MAX_WEEKS, Problem

__all__ = ["check_trial"]


def _columns(spec: TrialSpec) -> list[tuple[str, str]]:
    used = [(spec.source.id, "source.id"), (spec.source.arm, "source.arm")]
    if spec.source.time:
        used.append((spec.source.time, "source.time"))
    used += [(c, "source.keep") for c in spec.source.keep]
    for name, var in spec.variables.items():
        used += [(c, f"variables.{name}") for c in var.source_columns()]
    for name, out in spec.outcomes.items():
        cols = [out.column] if out.column else list(out.columns.values())
        used += [(c, f"outcomes.{name}") for c in cols]
    return used


def _problem(spec, rel, key, exc: IpdmaError) -> Problem:
    where = []
    for label, value in (("column", exc.variable), ("row", exc.row), ("value", exc.value)):
        if value is not None:
            where.append(f"{label} {value!r}" if label == "value" else f"{label} {value}")
    message = exc.message + (f" ({', '.join(where)})" if where else "")
    return Problem(spec.id, rel, key, message, exc.hint or "")


def check_trial(spec: TrialSpec, rel: str, project: Project, variables) -> list[Problem]:
    """Every problem of one trial spec with its raw file."""
    source = spec.source
    try:
        raw = read_table(spec.data_path, format=source.format, sheet=source.sheet,
                         delimiter=source.delimiter, decimal=source.decimal,
                         encoding=source.encoding)  # fmt: skip
    except IpdmaError as exc:
        return [Problem(spec.id, rel, "source.file", exc.message, exc.hint or "")]
    problems = []
    available = list(raw.data.columns)
    absent = set()
    for column, key in _columns(spec):
        if column not in available:
            absent.add(column)
            guess = nearest(column, available)
            problems.append(Problem(spec.id, rel, key, f"column {column!r} is not in the data file",
                                    f"did you mean {guess!r}?" if guess else
                                    f"columns are: {', '.join(available[:30])}"))  # fmt: skip
    if {source.id, source.arm, source.time} & absent:
        return problems
    unknown = sorted(set(spec.variables) - set(variables))
    for name in unknown:
        guess = nearest(name, variables)
        problems.append(Problem(spec.id, rel, f"variables.{name}", "unknown variable",
                                (f"did you mean {guess!r}? " if guess else "")
                                + "or declare it in project.toml [variables]"))  # fmt: skip
    found = detect_identifiers(raw.data)
    for column, key in [(source.id, "source.id"), *((c, "source.keep") for c in source.keep)]:
        if column in found and column not in source.allow_identifiers:
            problems.append(Problem(spec.id, rel, key, f"{column!r} looks like a direct "
                                    f"identifier: {found[column]}", "use a pseudonymous id, or "
                                    "list it in [source].allow_identifiers"))  # fmt: skip
    problems += _arm_problems(spec, rel, raw)
    instruments = instrument_registry(project.instruments, spec.instruments)
    base = spec.model_copy(update={"variables": {}, "outcomes": {}})
    base._path = spec.path
    structural_ok = not problems
    if structural_ok:
        try:
            harmonize_trial(base, raw, variables=variables, instruments=instruments)
        except IpdmaError as exc:
            problems.append(_problem(spec, rel, "source", exc))
            structural_ok = False
    if not structural_ok:
        return problems
    for name, var in spec.variables.items():
        if name in unknown or set(var.source_columns()) & absent:
            continue
        one = spec.model_copy(update={"variables": {name: var}, "outcomes": {}})
        one._path = spec.path
        try:
            result = harmonize_trial(one, raw, variables=variables, instruments=instruments)
        except IpdmaError as exc:
            problems.append(_problem(spec, rel, f"variables.{name}", exc))
            continue
        problems += _plausible(spec, rel, name, result.participants[name].to_numpy(float))
    for name, out in spec.outcomes.items():
        cols = [out.column] if out.column else list(out.columns.values())
        if set(cols) & absent:
            continue
        one = spec.model_copy(update={"variables": {}, "outcomes": {name: out}})
        one._path = spec.path
        try:
            harmonize_trial(one, raw, variables=variables, instruments=instruments)
        except IpdmaError as exc:
            problems.append(_problem(spec, rel, f"outcomes.{name}", exc))
        problems += _schedule(spec, rel, name, raw)
    return problems


def _arm_problems(spec: TrialSpec, rel: str, raw: RawTable) -> list[Problem]:
    values = raw.data[spec.source.arm].dropna().unique()
    missing = {code_key(m) for m in spec.source.missing}
    unmapped = []
    for value in values:
        if code_key(value) in missing:
            continue
        if spec.arm_for(value) is None:
            label = raw.label_of(spec.source.arm, value)
            if label is None or spec.arm_for(label) is None:
                unmapped.append(code_key(value))
    if not unmapped:
        return []
    return [Problem(spec.id, rel, "arms", f"arm code(s) {', '.join(sorted(unmapped))} found in "
                    f"{spec.source.arm!r} but not mapped by [[arms]]",
                    "add an [[arms]] entry for each code")]  # fmt: skip


def _plausible(spec, rel, name: str, values: np.ndarray) -> list[Problem]:
    present = values[~np.isnan(values)]
    if not present.size:
        return [Problem(spec.id, rel, f"variables.{name}", "every value is missing",
                        "check the column and the missing codes")]  # fmt: skip
    median = float(np.median(present))
    checks = {"bmi": (15.0, 45.0, "kg/m2: check the units of weight and height"),
              "age": (18.0, 90.0, "years: check the column")}  # fmt: skip
    if name in checks:
        low, high, why = checks[name]
        if not low <= median <= high:
            return [Problem(spec.id, rel, f"variables.{name}", f"median {median:.1f} is "
                            f"implausible for {name}", why)]  # fmt: skip
    return []


def _schedule(
    spec: TrialSpec, rel: str, name: Literal["pain", "function"], raw: RawTable
) -> list[Problem]:
    from ..harmonize import convert_unit

    out = spec.outcomes[name]
    to_weeks = convert_unit(out.time_unit or spec.source.time_unit, "weeks")
    if out.columns:
        times = [float(t) for t in out.columns]
    else:
        times = [float(t) for t in raw.data[spec.source.time].dropna().unique()]
    weeks = [(t - spec.source.baseline_time) * to_weeks for t in times]
    problems = []
    if not any(abs(w) < 1e-9 for w in weeks):
        problems.append(Problem(spec.id, rel, f"outcomes.{name}", "no baseline visit (time "
                                f"{spec.source.baseline_time:g})", "map the baseline column "
                                "to time 0 (or set [source].baseline_time)"))  # fmt: skip
    bad = [w for w in weeks if w < 0 or w > _MAX_WEEKS]
    if bad:
        problems.append(Problem(spec.id, rel, f"outcomes.{name}", f"follow-up time(s) "
                                f"{', '.join(f'{w:g}' for w in bad)} weeks are outside 0-10 "
                                "years", "check the time keys and the time unit"))  # fmt: skip
    return problems
