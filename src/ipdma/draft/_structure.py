"""Which column is the participant id, which the randomized arm, and wide or long layout.

Evidence combined for the id: the name or label names an id (vocabulary ``id``), the values
are unique per row (wide) or unique per participant and visit (long), the column is among
the first ones. For the arm: the name or label names a group or allocation, 2-8 distinct
values constant within a participant, and value labels that name treatments. A column that
looks like a direct identifier (``ipdma.harmonize.detect_identifiers``) is never proposed.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ._profile import ColumnProfile, FileProfile
from ._record import TODO, Confidence, Field
from ._vocabulary import match

__all__ = ["Structure", "find_structure"]


@dataclass(frozen=True)
class Structure:
    """The structural columns found (None when undecided) and their fields."""

    id: str | None
    arm: str | None
    layout: str
    time: str | None
    fields: tuple[Field, ...]


def _id_score(col: ColumnProfile, position: int) -> tuple[int, str]:
    score, why = 0, []
    hit = match("id", col.name, col.label)
    if hit is not None:
        score += 3 if hit.whole else 2
        why.append(hit.evidence)
    if position < 3:
        score += 1
        why.append(f"column {position + 1} of the file")
    return score, "; ".join(why)


def _time_candidates(profile: FileProfile, id_col: str, exclude: set[str]) -> list[tuple]:
    data = profile.data
    out = []
    for col in profile.columns:
        if col.name in exclude or col.name == id_col or col.kind != "numeric":
            continue
        if not 2 <= col.distinct <= 30 or col.missing:
            continue
        if data[[id_col, col.name]].duplicated().any():
            continue
        hit = match("time", col.name, col.label)
        out.append((3 if hit else 1, col.name, hit.evidence if hit else "no name evidence"))
    return sorted(out, reverse=True)


def find_structure(profile: FileProfile, identifiers: dict[str, str]) -> Structure:
    """Propose ``[source]`` id, arm, layout and (long files) the time column."""
    data = profile.data
    fields: list[Field] = []
    candidates = []
    for position, col in enumerate(profile.columns):
        if col.name in identifiers or col.kind == "date" or col.missing:
            continue
        score, why = _id_score(col, position)
        repeats = int(data[col.name].duplicated().sum())
        candidates.append((score, -repeats, -position, col.name, why, repeats))
    candidates.sort(reverse=True)
    id_col = layout_time = None
    layout = "wide"
    confidence: Confidence
    for score, _, _, name, why, repeats in candidates:
        if score < 2:
            continue
        if repeats == 0:
            id_col = name
            confidence = "high" if score >= 4 else "medium"
            fields.append(Field(("source", "id"), name, confidence,
                                f"{why}; unique in every row"))  # fmt: skip
            fields.append(Field(("source", "layout"), "wide", confidence,
                                "one row per participant (the id is unique)"))  # fmt: skip
            break
        times = _time_candidates(profile, name, set(identifiers))
        if times and data[name].nunique() >= 0.1 * len(data):
            t_score, t_name, t_why = times[0]
            id_col, layout_time, layout = name, t_name, "long"
            confidence = "high" if score >= 4 and t_score >= 3 else "medium"
            fields.append(Field(("source", "id"), name, confidence,
                                f"{why}; unique per participant and {t_name!r}"))  # fmt: skip
            fields.append(Field(("source", "layout"), "long", confidence,
                                f"ids repeat ({repeats} extra rows) with a different "
                                f"{t_name!r} each time"))  # fmt: skip
            fields.append(Field(("source", "time"), t_name, "high" if t_score >= 3 else "low",
                                f"{t_why}; {profile.column(t_name).distinct} distinct "
                                "values, unique within participant"))  # fmt: skip
            break
    if id_col is None:
        fields.append(Field(("source", "id"), TODO, None,
                            "no column both names an id and is unique per row (or per "
                            "participant and visit); give the participant id column"))  # fmt: skip
        fields.append(
            Field(("source", "layout"), "wide", "low", "default: one row per participant")
        )
    arm_col = _find_arm(profile, id_col, layout_time, identifiers, fields)
    return Structure(id_col, arm_col, layout, layout_time, tuple(fields))


_ARM_WORDS = ("exercise", "training", "control", "usual", "placebo", "sham", "waiting",
              "therapy", "treatment", "care", "advice", "oefen", "traening", "traning",
              "trening", "harjoit", "ubung", "esercizi", "ejercicio", "exercicio", "yoga",
              "pilates", "mckenzie", "manipulation", "massage", "physio", "behandling",
              "intervent", "group", "gruppe", "groep", "gruppo", "grupo", "ex", "ctrl")  # fmt: skip


def _labels_name_treatments(col: ColumnProfile) -> bool:
    from ._vocabulary import normalize

    texts = [normalize(t) for t in col.value_labels.values()]
    texts += [normalize(v) for v, _ in col.values] if col.kind == "text" else []
    hits = sum(any(w in t for w in _ARM_WORDS if len(w) > 2) or t in ("ex", "ctrl")
               or t.rstrip("0123456789") in ("ex", "ctrl", "exp", "con", "int")
               for t in texts)  # fmt: skip
    return bool(texts) and hits >= max(1, len(texts) // 2)


def _find_arm(profile, id_col, time_col, identifiers, fields) -> str | None:
    data = profile.data
    best = None
    for col in profile.columns:
        if col.name in (id_col, time_col) or col.name in identifiers or col.kind == "date":
            continue
        if not 2 <= col.distinct <= 8 or col.missing:
            continue
        varies = time_col is not None and id_col is not None
        if varies and (data.groupby(id_col)[col.name].nunique() > 1).any():
            continue
        score, why = 0, []
        hit = match("arm", col.name, col.label)
        if hit is not None:
            score += 3 if hit.whole else 2
            why.append(hit.evidence)
        if _labels_name_treatments(col):
            score += 2
            why.append("its values or value labels name treatments")
        sizes = data[col.name].value_counts(normalize=True)
        if sizes.min() >= 0.15:
            score += 1
            why.append(f"{col.distinct} groups of similar size")
        if best is None or score > best[0]:
            best = (score, col.name, "; ".join(why))
    if best is None or best[0] < 3:
        fields.append(Field(("source", "arm"), TODO, None,
                            "no column names the randomized group; give the arm column"))  # fmt: skip
        return None
    confidence: Confidence = "high" if best[0] >= 4 else "medium"
    fields.append(Field(("source", "arm"), best[1], confidence, best[2]))
    return best[1]


def codes_of(data: pd.DataFrame, column: str) -> list[object]:
    """Distinct non-missing values of ``column``, sorted, as TOML scalars."""
    values = data[column].dropna()
    values = values[values.map(lambda v: not (isinstance(v, str) and not v.strip()))]
    out: list[object] = []
    for v in sorted(values.unique(), key=lambda v: (isinstance(v, str), v)):
        if isinstance(v, float) and v.is_integer():
            out.append(int(v))
        elif hasattr(v, "item"):
            out.append(v.item())
        else:
            out.append(str(v).strip() if isinstance(v, str) else v)
    return out
