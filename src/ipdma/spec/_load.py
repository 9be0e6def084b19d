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
from ._project import Project
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
    if not path.is_file():
        raise SpecError(
            "the spec file does not exist",
            file=path,
            hint="check the path (trial spec paths are relative to the project file)",
        )
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(
            f"the file is not valid TOML: {exc}",
            file=path,
            hint='fix the TOML syntax at the line given (quote keys such as "1.5")',
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"the spec file cannot be read: {exc}", file=path) from None


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
    path = Path(path).resolve()
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
    path = Path(path).resolve()
    project = _validate(Project, read_toml(path), path, None)
    check_plan(project.analysis, file=path, variables=registry_with(project.variables))
    project._path = path
    return project
