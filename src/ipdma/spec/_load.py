"""Read trial specs and project files from TOML, with errors that say where and how to fix."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import SpecError
from ._errors import spec_error_from_validation
from ._plan import check_plan
from ._project import Project, _resolved
from ._trial import TrialSpec
from ._variables import registry_with

__all__ = ["file_sha256", "load_project", "load_trial_spec", "read_toml"]


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in chunks (the file is opened read-only)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file; a missing file or a syntax error is a SpecError naming the file."""
    path = Path(path)
    if path.is_dir():
        raise SpecError(
            "the spec path is a folder, not a file",
            file=path,
            hint="point at the .toml file inside that folder",
        )
    if not path.is_file():
        raise SpecError(
            "the spec file does not exist",
            file=path,
            hint="check the path (trial spec paths are relative to the project file)",
        )
    try:
        with open(path, "rb") as handle:
            content = handle.read()
    except OSError as exc:
        from .._fs import os_error

        error = os_error(exc, path)
        raise SpecError(f"the spec file cannot be read: {error.message}", file=path,
                        hint=error.hint) from None  # fmt: skip
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        column = exc.start - (content.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError(
            f"the file is not UTF-8 text: byte {content[exc.start]:#04x} at line {line}, "
            f"column {column} cannot be decoded",
            file=path,
            row=line,
            value=content[max(0, exc.start - 20) : exc.start + 10].decode("utf-8", "replace"),
            hint="save the file as UTF-8 (TOML files must be UTF-8; e.g. iconv -f latin1 -t "
            "utf-8), or retype the character at that place",
        ) from None
    try:
        return tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(
            f"the file is not valid TOML: {exc}",
            file=path,
            hint='fix the TOML syntax at the line given (quote keys such as "1.5")',
        ) from None


M = TypeVar("M", bound=BaseModel)


def _validate(model: type[M], data: dict[str, Any], path: Path, trial: str | None) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise spec_error_from_validation(exc, model, path, trial=trial) from None


def load_trial_spec(path: str | Path) -> TrialSpec:
    """Read and validate a trial spec (``trials/<id>.toml``).

    Raises
    ------
    SpecError
        The file is missing or invalid; the message names the file, the dotted key and the fix
        (an unknown key suggests the nearest allowed key).
    """
    path = _resolved(Path(path))
    data = read_toml(path)
    trial = data.get("trial", {}).get("id") if isinstance(data.get("trial"), dict) else None
    spec = _validate(TrialSpec, data, path, trial if isinstance(trial, str) else None)
    spec._path = path
    return spec


def load_project(path: str | Path) -> Project:
    """Read and validate a project file (``project.toml``); trial specs are not read yet.

    The ``[analysis]`` table is validated here too (every command that reads the project
    checks it): unknown keys, values, consistency, and that every modifier and adjuster is a
    harmonized variable (the registry or the project's ``[variables]``).
    """
    path = _resolved(Path(path))
    data = read_toml(path)
    if "trial" in data and "source" in data and "trials" not in data:
        raise SpecError(
            "this is a trial spec, not a project file",
            file=path,
            hint="pass the project file (project.toml) that lists this spec under `trials`, "
            "or its folder",
        )
    project = _validate(Project, data, path, None)
    check_plan(project.analysis, file=path, variables=registry_with(project.variables))
    project._path = path
    return project
