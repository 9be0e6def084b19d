"""The drafted spec: one :class:`Field` per proposed setting, with evidence and confidence."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["TODO", "Confidence", "Draft", "Field", "is_todo"]

Confidence = Literal["high", "medium", "low"]

#: the value of a setting that could not be decided (the validator lists every one)
TODO = "TODO"


def is_todo(value: object) -> bool:
    """Whether a spec value (or a key of a table) is an undecided ``TODO``."""
    if isinstance(value, str):
        return value.strip().upper().startswith(TODO)
    if isinstance(value, dict):
        return any(is_todo(k) or is_todo(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(is_todo(v) for v in value)
    return False


@dataclass(frozen=True)
class Field:
    """One proposed setting of a trial spec.

    Attributes
    ----------
    path
        Where it goes: ``("source", "id")``, ``("arms", 0, "code")``,
        ``("variables", "age")`` (the whole table), ``("outcomes", "pain", "instrument")``.
    value
        A TOML value (scalar, list or table), or :data:`TODO`.
    confidence
        ``"high"``, ``"medium"`` or ``"low"``; None for a TODO.
    evidence
        Why: what in the file's names, labels or values led to the value (or, for a TODO,
        what was found and what is needed).
    """

    path: tuple[str | int, ...]
    value: object
    confidence: Confidence | None
    evidence: str

    @property
    def todo(self) -> bool:
        return is_todo(self.value)

    @property
    def key(self) -> str:
        """The dotted key (``arms[0].code``)."""
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
        return out


@dataclass(frozen=True)
class Draft:
    """A drafted trial spec for one raw file: its fields and what was left unmapped."""

    trial: str
    file: str
    fields: tuple[Field, ...]
    unmapped: tuple[str, ...] = ()
    identifiers: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def todos(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.todo)

    def get(self, *path: str | int) -> Field | None:
        """The field at ``path``, or None."""
        for item in self.fields:
            if item.path == path:
                return item
        return None

    def to_dict(self) -> dict:
        """The spec as nested dicts/lists (TODO values kept), ready for TOML."""
        out: dict = {}
        for item in self.fields:
            _put(out, item.path, item.value)
        return out

    def summary(self) -> str:
        """Counts of fields by confidence and the TODOs."""
        counts = {c: sum(1 for f in self.fields if f.confidence == c and not f.todo)
                  for c in ("high", "medium", "low")}  # fmt: skip
        lines = [f"{self.trial}: {len(self.fields)} settings drafted from {self.file} "
                 f"({counts['high']} high, {counts['medium']} medium, {counts['low']} low "
                 f"confidence; {len(self.todos)} TODO)"]  # fmt: skip
        lines += [f"  TODO {f.key}: {f.evidence}" for f in self.todos]
        return "\n".join(lines)


def _put(out: dict, path: tuple[str | int, ...], value: object) -> None:
    node: dict | list = out
    for here, nxt in itertools.pairwise(path):
        if isinstance(here, int):
            assert isinstance(node, list)
            while len(node) <= here:
                node.append({})
            node = node[here]
        else:
            assert isinstance(node, dict)
            node = node.setdefault(here, [] if isinstance(nxt, int) else {})
    last = path[-1]
    if isinstance(node, list):
        assert isinstance(last, int)
        while len(node) <= last:
            node.append({})
        node[last] = value
    else:
        node[last] = value
