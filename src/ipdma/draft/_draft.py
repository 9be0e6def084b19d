"""``draft_trial``: a proposed trial spec for one raw file, every setting with its evidence.

The file is read (read-only) and profiled; then, in order: direct identifiers (never
proposed as id or ``keep``), missing-value codes, id / arm / layout / time, arms,
outcomes, baseline variables, and the trial's own description (id, label and year from a
file name such as ``costa2009.sav``; country and population are left ``TODO``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..harmonize import detect_identifiers
from ._arms import draft_arms
from ._baseline import draft_variables
from ._missing import find_missing, missing_field
from ._outcomes import draft_outcomes
from ._profile import FileProfile, profile_file
from ._record import TODO, Draft, Field
from ._structure import find_structure
from ._visits import unit_of_numbers
from ._vocabulary import match

__all__ = ["draft_trial", "trial_id_from"]


def trial_id_from(path: Path) -> str:
    """A valid trial id from a file name (``Costa 2009.sav`` -> ``costa2009``)."""
    from ._vocabulary import normalize

    text = re.sub(r"[^a-z0-9_\-]+", "", normalize(path.stem).replace(" ", "_"))
    text = text.lstrip("0123456789_-")
    return text or "trial"


def _trial_fields(path: Path) -> list[Field]:
    trial_id = trial_id_from(path)
    fields = [Field(("trial", "id"), trial_id, "medium", f"from the file name {path.name!r}")]
    m = re.match(r"^([a-z\-]+?)[_\- ]?((?:19|20)\d\d)", trial_id)
    if m:
        author = m.group(1).replace("-", " ").title()
        fields.append(Field(("trial", "label"), f"{author}, {m.group(2)}", "medium",
                            "first author and year from the file name"))  # fmt: skip
        fields.append(Field(("trial", "year"), int(m.group(2)), "medium",
                            "year from the file name"))  # fmt: skip
    else:
        fields.append(Field(("trial", "label"), TODO, None, "e.g. 'Costa, 2009'"))
        fields.append(Field(("trial", "year"), TODO, None, "year of publication"))
    fields.append(Field(("trial", "country"), TODO, None, "from the publication"))
    fields.append(Field(("trial", "population"), TODO, None,
                        "primary care | secondary care | occupational | general or mixed"))  # fmt: skip
    return fields


def _source_fields(profile: FileProfile, spec_dir: Path) -> list[Field]:
    rel = Path(os.path.relpath(profile.path.resolve(), spec_dir.resolve())).as_posix()
    fields = [Field(("source", "file"), rel, "high", "the raw file (never modified)")]
    if profile.delimiter:
        fields.append(Field(("source", "delimiter"), profile.delimiter, "high",
                            "the delimiter on every line of the file's head"))  # fmt: skip
    if profile.decimal != ".":
        fields.append(Field(("source", "decimal"), profile.decimal, "high",
                            "numbers are written with a decimal comma"))  # fmt: skip
    if profile.encoding and profile.encoding != "utf-8":
        fields.append(Field(("source", "encoding"), profile.encoding, "medium",
                            "the file is not valid UTF-8"))  # fmt: skip
    if profile.sheet:
        fields.append(Field(("source", "sheet"), profile.sheet, "high",
                            "the widest sheet (the others look like a codebook)"))  # fmt: skip
    return fields


def _long_time_unit(profile: FileProfile, time_col: str) -> Field:
    col = profile.column(time_col)
    for unit, concept_words in (("weeks", ("week", "weeks", "wk", "weken", "uge", "vecka", "uke",
                                           "viikko", "woche", "settimana", "semana")),
                                ("months", ("month", "months", "maand", "maned", "manad",
                                            "kuukausi", "monat", "mese", "mes")),
                                ("days", ("day", "days", "dag", "tag", "dia", "giorno"))):  # fmt: skip
        from ._vocabulary import tokens

        if set(tokens(col.text)) & set(concept_words):
            return Field(("source", "time_unit"), unit, "high", f"{time_col!r} says {unit}")
    numbers = [float(v) for v, _ in col.values]
    unit, confidence, why = unit_of_numbers(numbers)
    return Field(("source", "time_unit"), unit, confidence, why)


def draft_trial(path: str | Path, *, spec_dir: str | Path | None = None,
                profile: FileProfile | None = None) -> Draft:  # fmt: skip
    """Propose a trial spec for the raw file ``path``.

    Parameters
    ----------
    path
        The raw file (any format :func:`ipdma.io.read_table` reads); opened read-only.
    spec_dir
        The folder the spec will be written to (``[source].file`` is relative to it;
        default: the file's folder).
    profile
        A profile already computed (else the file is read).

    Returns
    -------
    Draft
        Every proposed setting as a :class:`Field` with its evidence and confidence, and
        ``TODO`` for what the file cannot tell.
    """
    path = Path(path)
    profile = profile or profile_file(path)
    spec_dir = Path(spec_dir) if spec_dir is not None else path.parent
    identifiers = detect_identifiers(profile.data)
    fields = _trial_fields(path) + _source_fields(profile, spec_dir)
    structure = find_structure(profile, identifiers)
    skip = {c for c in (structure.id, structure.arm, structure.time) if c}
    common, own, evidence = find_missing(profile, skip | set(identifiers))
    fields += list(structure.fields)
    if structure.layout == "long" and structure.time:
        fields.append(_long_time_unit(profile, structure.time))
        base = min(float(v) for v, _ in profile.column(structure.time).values)
        fields.append(Field(("source", "baseline_time"), base, "medium",
                            f"the earliest value of {structure.time!r}"))  # fmt: skip
    miss_field = missing_field(common, evidence)
    if miss_field is not None:
        fields.append(miss_field)
    all_codes = {c.name: sorted(set(common) | set(own.get(c.name, []))) for c in profile.columns}
    exclude = skip | set(identifiers)
    outcome_fields, used = draft_outcomes(profile, structure.layout, exclude, structure.time,
                                          structure.id, all_codes)  # fmt: skip
    outcome_fields = _outcome_missing(outcome_fields, own)
    variable_fields, used_vars = draft_variables(profile, exclude | used, all_codes, own)
    keep = [c.name for c in profile.columns
            if c.name not in exclude | used | used_vars and match("site", c.name, c.label)]  # fmt: skip
    fields.append(Field(("source", "keep"), keep, "medium" if keep else "high",
                        "site/centre columns (copied as they are)" if keep
                        else "nothing else to copy; add raw columns to copy as they are"))  # fmt: skip
    fields.append(Field(("source", "allow_identifiers"), [], "high",
                        "likely identifiers stay out of the master: "
                        + (", ".join(f"{c} ({r})" for c, r in identifiers.items()) or "none")))  # fmt: skip
    fields += draft_arms(profile, structure.arm)
    fields += variable_fields + outcome_fields
    notes = list(evidence)
    for kind in ("pain", "function"):
        if not any(f.path[:2] == ("outcomes", kind) for f in outcome_fields):
            notes.append(f"no {kind} measure recognised: if the file has one, add "
                         f"[outcomes.{kind}] (instrument and columns)")  # fmt: skip
    mapped = exclude | used | used_vars | set(keep)
    unmapped = tuple(c.name for c in profile.columns if c.name not in mapped)
    return Draft(fields[0].value, path.name, tuple(fields), unmapped,  # type: ignore[arg-type]
                 dict(identifiers), tuple(notes))  # fmt: skip


def _outcome_missing(fields: list[Field], own: dict[str, list[float]]) -> list[Field]:
    out = list(fields)
    for f in fields:
        if f.path[-1] not in ("columns", "column") or f.todo:
            continue
        names = list(f.value.values()) if isinstance(f.value, dict) else [f.value]
        columns = [str(name) for name in names]
        codes = sorted({c for col in columns for c in own.get(col, [])})
        if codes:
            out.append(Field((*f.path[:-1], "missing"),
                             [int(c) if float(c).is_integer() else c for c in codes], "medium",
                             "codes outside the instrument's range in these columns"))  # fmt: skip
    return out
