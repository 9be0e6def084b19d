"""Write a :class:`~ipdma.draft.Draft` as a commented TOML trial spec.

Every setting is followed by a comment ``# <confidence>: <evidence>``; an undecided one has
the value ``"TODO"`` (or a ``TODO:`` time key) and a comment saying what is needed. The
header lists the columns left unmapped and the likely direct identifiers.
"""

from __future__ import annotations

import json
import re

from ._record import Draft, Field

__all__ = ["draft_toml"]

_BARE = re.compile(r"^[A-Za-z0-9_\-]+$")
_ORDER = ("trial", "source", "arms", "variables", "outcomes")


def _key(key: object) -> str:
    text = str(key)
    return text if _BARE.match(text) else json.dumps(text, ensure_ascii=False)


def value_text(value: object) -> str:
    """A TOML value (scalars, lists, inline tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{_key(k)} = {value_text(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _one_line(text: str) -> str:
    """Text safe inside a TOML comment (no line breaks or other control characters)."""
    return "".join(c if c.isprintable() else " " for c in str(text))


def _comment(item: Field) -> str:
    text = _one_line(item.evidence)
    if item.todo:
        return f"TODO: {text}"
    return f"{item.confidence}: {text}"


def _line(key: str, item: Field) -> str:
    line = f"{_key(key)} = {value_text(item.value)}"
    return f"{line:<40}  # {_comment(item)}"


def draft_toml(draft: Draft, *, header: str = "") -> str:
    """The commented TOML text of ``draft``."""
    lines = [
        _one_line(f"# Trial spec drafted by `ipdma draft` from {draft.file}."),
        "# Each setting ends with '# <confidence>: <evidence>' (high | medium | low): check",
        "# the medium and low ones; settings left TODO could not be decided from the file and",
        "# `ipdma validate` lists them. Reference of every key: docs/spec.md.",
    ]
    if header:
        lines += [f"# {h}" for h in header.splitlines()]
    if draft.unmapped:
        lines.append(_one_line(f"# Columns not mapped: {', '.join(draft.unmapped)}"))
    if draft.identifiers:
        lines.append(_one_line("# Likely direct identifiers (never copied): "
                               + ", ".join(f"{c} ({r})" for c, r in draft.identifiers.items())))  # fmt: skip
    lines += [_one_line(f"# Note: {n}") for n in draft.notes]
    sections: dict[tuple, list[Field]] = {}
    for item in draft.fields:
        head = item.path[0]
        if head == "arms":
            section: tuple = ("arms", item.path[1])
        elif head in ("variables", "outcomes"):
            section = (head, item.path[1])
        else:
            section = (head,)
        sections.setdefault(section, []).append(item)
    ordered = sorted(sections, key=lambda s: (_ORDER.index(s[0]), _rank(s)))
    for section in ordered:
        items = sections[section]
        lines.append("")
        if section[0] == "arms":
            lines.append("[[arms]]")
            lines += [_line(str(i.path[2]), i) for i in items]
        elif section[0] == "variables":
            item = items[0]
            lines.append(f"# {_comment(item)}")  # one line: _comment removes line breaks
            lines.append(f"[variables.{_key(section[1])}]")
            if item.todo:
                lines.append('column = "TODO"')
            elif isinstance(item.value, dict):
                lines += [f"{_key(k)} = {value_text(v)}" for k, v in item.value.items()]
            else:
                raise TypeError(f"[variables.{section[1]}] must be a table, not {item.value!r}")
        elif section[0] == "outcomes":
            lines.append(f"[outcomes.{_key(section[1])}]")
            lines += [_line(str(i.path[2]), i) for i in items]
        else:
            lines.append(f"[{section[0]}]")
            lines += [_line(str(i.path[1]), i) for i in items]
    return "\n".join(lines) + "\n"


def _rank(section: tuple) -> tuple:
    if section[0] == "arms":
        return (section[1],)
    if section[0] == "variables":
        from ..harmonize import VARIABLES

        names = list(VARIABLES)
        return (names.index(section[1]) if section[1] in names else len(names), str(section[1]))
    if section[0] == "outcomes":
        return (("pain", "function").index(section[1]) if section[1] in ("pain", "function")
                else 2,)  # fmt: skip
    return ()
