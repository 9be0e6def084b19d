"""Turn pydantic validation errors into SpecErrors that name the file, the key and the fix.

The one translator of pydantic errors in ipdma: trial specs, project files, the analysis plan
and the simulator's configuration all report through :func:`spec_error_from_validation`.
"""

from __future__ import annotations

import collections.abc
import difflib
import re
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import SpecError

__all__ = ["dotted", "nearest", "spec_error_from_validation"]


#: pydantic error types of a key the model does not have (models; dataclasses)
_UNKNOWN_KEY = ("extra_forbidden", "unexpected_keyword_argument")


def dotted(loc: tuple[Any, ...]) -> str:
    """``("arms", 0, "code")`` -> ``"arms[0].code"``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text or "(top level)"


def nearest(word: str, options: typing.Iterable[str]) -> str | None:
    """The option closest to ``word`` (difflib ratio >= 0.5), or None."""
    found = difflib.get_close_matches(word, list(options), n=1, cutoff=0.5)
    return found[0] if found else None


def _unwrap(annotation: Any) -> list[Any]:
    """The model / container types inside an annotation (Optional, Union, Annotated)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        out: list[Any] = []
        for arg in typing.get_args(annotation):
            out.extend(_unwrap(arg))
        return out
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    return [annotation]


def _model_fields(annotation: Any) -> dict[str, Any] | None:
    """Field name -> annotation of a pydantic model or pydantic dataclass, else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {name: f.annotation for name, f in annotation.model_fields.items()}
    fields = getattr(annotation, "__pydantic_fields__", None)
    if isinstance(annotation, type) and isinstance(fields, dict):
        return {name: f.annotation for name, f in fields.items()}
    return None


def _fields_at(root: type, loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model that holds the key at ``loc`` (empty when unknown)."""
    candidates: list[Any] = [root]
    for part in loc:
        following: list[Any] = []
        for cand in candidates:
            for ann in _unwrap(cand):
                origin = typing.get_origin(ann)
                fields = _model_fields(ann)
                if fields is not None:
                    if isinstance(part, str) and part in fields:
                        following.append(fields[part])
                elif origin in (dict, typing.Mapping, collections.abc.Mapping) and isinstance(
                    part, str
                ):
                    following.append(typing.get_args(ann)[1])
                elif origin in (list, tuple) and isinstance(part, int):
                    following.append(typing.get_args(ann)[0])
        candidates = following
    names: list[str] = []
    for cand in candidates:
        for ann in _unwrap(cand):
            names.extend(_model_fields(ann) or ())
    return names


def spec_error_from_validation(
    exc: ValidationError,
    root: type,
    file: Path | None = None,
    *,
    trial: str | None = None,
    prefix: tuple[str, ...] = (),
    docs: str = "docs/spec.md",
) -> SpecError:
    """The first validation error as a SpecError (file, dotted key, what is wrong, the fix).

    Parameters
    ----------
    exc, root
        The error and the pydantic model or dataclass that was validated (for the keys
        allowed at a location).
    file, trial
        Where the values came from.
    prefix
        Keys above ``root`` in the file, e.g. ``("analysis",)`` for the ``[analysis]`` table.
    docs
        Where the allowed values are documented (named in the hint).
    """
    errors = exc.errors(include_url=False)
    # a misspelt key also makes the right key "missing": report the misspelling first
    errors.sort(key=lambda e: e["type"] not in _UNKNOWN_KEY)
    first = errors[0]
    inner = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    loc = prefix + inner
    key = dotted(loc)
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    if first["type"] in _UNKNOWN_KEY:
        options = _fields_at(root, inner[:-1])
        guess = nearest(str(loc[-1]), options)
        hint = f"did you mean {guess!r}?" if guess else "remove it."
        if options:
            hint += f" Keys allowed here: {', '.join(sorted(options))}"
        return SpecError(f"unknown key {key!r}{more}", trial=trial, file=file, hint=hint)
    if first["type"] == "missing":
        return SpecError(
            f"required key {key!r} is missing{more}",
            trial=trial,
            file=file,
            hint=f"add {key} (see {docs})",
        )
    value = first.get("input")
    if first["type"] in ("literal_error", "enum") and isinstance(value, str):
        options = re.findall(r"'([^']*)'", str(first.get("ctx", {}).get("expected", "")))
        guess = nearest(value, options)
        is_key = loc and loc[-1] == "[key]"
        where = dotted(loc[:-2]) if is_key else key
        what = (
            f"unknown name {value!r} under {where!r}"
            if is_key
            else (f"invalid value for {where!r}")
        )
        return SpecError(
            f"{what}: {first['msg']}{more}",
            trial=trial,
            file=file,
            value=value,
            hint=(f"did you mean {guess!r}? " if guess else "")
            + f"allowed: {', '.join(map(repr, options))}",
        )
    return SpecError(
        f"invalid value for {key!r}: {first['msg']}{more}",
        trial=trial,
        file=file,
        value=value if not isinstance(value, dict | list) else None,
        hint=f"see {docs} for the allowed values of this key",
    )
