"""``validate``: check a project as ingest would, write nothing, and list every problem.

Ingest stops at the first error; validation goes on. Per trial spec: TOML syntax, every key
(unknown, missing, wrong values; each one), ``TODO`` left by drafting, the raw file
readable, every named column present (nearest names suggested), direct identifiers used as
id or ``keep``, every arm code in the data mapped, ids unique, then each baseline variable
and each outcome harmonized on its own (codes covering every value, numbers, units and
ranges) and the follow-up schedule (a baseline visit; times between 0 and 10 years).
Project level: the project file's keys, duplicate trial ids, the analysis plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ValidationError

from ..errors import IpdmaError
from ..harmonize import registry_with
from ..spec import Project, TrialSpec, nearest, read_toml
from ._record import is_todo

__all__ = ["Problem", "ValidationReport", "validate"]

_MAX_WEEKS = 520.0


@dataclass(frozen=True)
class Problem:
    """One problem: where (trial, file, key or column) and what to do."""

    trial: str
    file: str
    key: str
    message: str
    hint: str = ""


@dataclass(frozen=True)
class ValidationReport:
    """Every problem found in a project (empty: ingest will accept it)."""

    project: Path
    trials: tuple[str, ...]
    problems: tuple[Problem, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_frame(self) -> pd.DataFrame:
        """One row per problem."""
        columns = ["trial", "file", "key", "message", "hint"]
        return pd.DataFrame([vars(p) for p in self.problems], columns=columns)

    def summary(self) -> str:
        """The problems grouped by trial (project-level first)."""
        if self.ok:
            return (f"{self.project}: {len(self.trials)} trial spec(s) checked, no problems: "
                    "ingest will accept this project")  # fmt: skip
        lines = [f"{self.project}: {len(self.problems)} problem(s) in "
                 f"{len({p.trial for p in self.problems})} place(s)"]  # fmt: skip
        order = ["(project)", *self.trials]
        groups = sorted({p.trial for p in self.problems},
                        key=lambda t: order.index(t) if t in order else len(order))  # fmt: skip
        for trial in groups:
            items = [p for p in self.problems if p.trial == trial]
            lines.append(f"\n{trial} ({items[0].file}): {len(items)} problem(s)")
            for p in items:
                lines.append(f"  - {p.key}: {p.message}" if p.key else f"  - {p.message}")
                if p.hint:
                    lines.append(f"      fix: {p.hint}")
        return "\n".join(lines)


def _dotted(loc: tuple) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not (isinstance(part, str) and part.startswith("function-")):
            text += ("." if text else "") + str(part)
    return text or "(top level)"


def _todos(data: Any, prefix: str = "") -> list[str]:
    out: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            here = f"{prefix}.{key}" if prefix else str(key)
            if is_todo(key):
                out.append(here)
            else:
                out += _todos(value, here)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += _todos(value, f"{prefix}[{i}]")
    elif is_todo(data):
        out.append(prefix)
    return out


def _validation_problems(exc: ValidationError, trial: str, file: str, todo: list[str]) -> list[Problem]:  # fmt: skip
    problems = []
    for error in exc.errors(include_url=False):
        key = _dotted(tuple(error["loc"]))
        if any(key == t or key.startswith(t + ".") or key.startswith(t + "[") or
               t.startswith(key + ".") or t.startswith(key + "[") for t in todo):  # fmt: skip
            continue  # reported as a TODO already
        message = error["msg"]
        hint = "see docs/spec.md for this key"
        if error["type"] == "extra_forbidden":
            message = "unknown key"
            guess = nearest(str(error["loc"][-1]), _allowed(error["loc"]))
            hint = f"did you mean {guess!r}?" if guess else "remove it"
        elif error["type"] == "missing":
            message, hint = "required key is missing", f"add {key} (see docs/spec.md)"
        value = error.get("input")
        if error["type"] != "missing" and isinstance(value, str | int | float):
            message += f" (value {value!r})"
        problems.append(Problem(trial, file, key, message, hint))
    return problems


def _allowed(loc: tuple) -> list[str]:
    from ..spec import ArmSpec, OutcomeSpec, SourceSpec, TrialMeta, VariableSpec

    head = loc[0] if loc else ""
    models: dict[str, type[BaseModel]] = {
        "trial": TrialMeta,
        "source": SourceSpec,
        "arms": ArmSpec,
        "variables": VariableSpec,
        "outcomes": OutcomeSpec,
    }
    model = models.get(head)
    if model is None:
        return list(TrialSpec.model_fields) + list(Project.model_fields)
    return list(model.model_fields)


def validate(project_path: str | Path) -> ValidationReport:
    """Check a project (``project.toml`` or its folder) without writing anything.

    Returns
    -------
    ValidationReport
        Every problem, grouped by trial in :meth:`ValidationReport.summary`.
    """
    path = Path(project_path)
    if path.is_dir():
        path = path / "project.toml"
    problems: list[Problem] = []
    try:
        data = read_toml(path)
    except IpdmaError as exc:
        return ValidationReport(path, (), (Problem("(project)", path.name, "", exc.message,
                                                   exc.hint or ""),))  # fmt: skip
    todo = _todos(data)
    problems += [Problem("(project)", path.name, k, "TODO left", "decide and fill it in")
                 for k in todo]  # fmt: skip
    try:
        project = Project.model_validate(data)
        project._path = path.resolve()
    except ValidationError as exc:
        problems += _validation_problems(exc, "(project)", path.name, todo)
        return ValidationReport(path, (), tuple(problems))
    problems += _plan_problems(project, path)
    variables = registry_with(project.variables)
    seen: dict[str, str] = {t.id: "[[not_included]]" for t in project.not_included}
    trials = []
    for spec_path in project.trial_paths:
        rel = _rel(spec_path, path.parent)
        spec, found, name = _load_spec(spec_path, rel)
        problems += found
        trials.append(name)
        if spec is None:
            continue
        if spec.id in seen:
            problems.append(Problem(spec.id, rel, "trial.id", f"trial id {spec.id!r} is also "
                                    f"used by {seen[spec.id]}", "trial ids must be unique"))  # fmt: skip
        seen[spec.id] = rel
        from ._validate_trial import check_trial

        problems += check_trial(spec, rel, project, variables)
    return ValidationReport(path, tuple(trials), tuple(problems))


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _plan_problems(project: Project, path: Path) -> list[Problem]:
    from ..analysis import plan_from_dict

    try:
        plan_from_dict(project.analysis or None, file=path)
    except IpdmaError as exc:
        return [Problem("(project)", path.name, "analysis", exc.message, exc.hint or "")]
    return []


_PLACEHOLDERS = {("trial", "country"): "(to decide)", ("trial", "population"): "general or mixed",
                 ("trial", "label"): "(to decide)", ("trial", "year"): 2000}  # fmt: skip


def _without_todos(data: dict) -> dict:
    """A copy with every TODO replaced or removed, so the data checks can still run.

    Undecided trial facts get neutral placeholders, undecided arm facts a non-exercise
    category, undecided variables and outcomes are left out, undecided time keys dropped.
    The TODOs themselves are reported apart.
    """
    import copy

    out = copy.deepcopy(data)
    for key in ("trial", "source"):
        table = out.get(key, {})
        for name, value in list(table.items()):
            if is_todo(value):
                if (key, name) in _PLACEHOLDERS:
                    table[name] = _PLACEHOLDERS[(key, name)]
                else:
                    del table[name]
    for arm in out.get("arms", []):
        if is_todo(arm.get("code")):
            arm["code"] = "(to decide)"
        if is_todo(arm.get("name")):
            arm["name"] = "(to decide)"
        if is_todo(arm.get("category")):
            arm["category"] = "other conservative"
        if is_todo(arm.get("type")):
            arm["type"] = "(to decide)"
        for part in ("design", "delivery"):
            if is_todo(arm.get(part)) or (arm.get("category") != "exercise" and part in arm):
                arm[part] = "not specified"
                if arm.get("category") != "exercise":
                    del arm[part]
    for section in ("variables", "outcomes"):
        tables = out.get(section, {})
        for name, table in list(tables.items()):
            if not isinstance(table, dict):
                continue
            if is_todo(table.get("column")) or is_todo(table.get("instrument")):
                del tables[name]
            elif isinstance(table.get("columns"), dict):
                table["columns"] = {k: v for k, v in table["columns"].items()
                                    if not is_todo(k) and not is_todo(v)}  # fmt: skip
                if not table["columns"]:
                    del tables[name]
    return out


def _load_spec(spec_path: Path, rel: str) -> tuple[TrialSpec | None, list[Problem], str]:
    try:
        data = read_toml(spec_path)
    except IpdmaError as exc:
        return None, [Problem(spec_path.stem, rel, "", exc.message, exc.hint or "")], spec_path.stem
    trial = data.get("trial", {}).get("id") if isinstance(data.get("trial"), dict) else None
    name = trial if isinstance(trial, str) and not is_todo(trial) else spec_path.stem
    todo = _todos(data)
    problems = [Problem(name, rel, k, "TODO: to decide (the comment beside it gives the "
                        "evidence)") for k in todo]  # fmt: skip
    try:
        spec = TrialSpec.model_validate(_without_todos(data) if todo else data)
    except ValidationError as exc:
        return None, problems + _validation_problems(exc, name, rel, todo), name
    spec._path = spec_path.resolve()
    return spec, problems, name
