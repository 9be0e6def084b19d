"""Pain and function outcomes: which columns, at which times, on which instrument.

Wide files: columns are grouped by stem (``vas_0 vas_w8 vas_w26`` -> ``vas``); a group
with a baseline or two or more visits is an outcome when its stem or labels name pain or
function (vocabulary). Long files: numeric columns that change within participants.
The instrument comes from the name (``rmdq``, ``odi``, ``vas``, ``nrs`` ...) checked
against the observed range, or from the range alone (0-10 integers -> NRS, 0-24 -> RMDQ,
0-100 -> VAS) at lower confidence; a value outside the instrument's range rules it out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..harmonize import INSTRUMENTS
from ._profile import FileProfile
from ._record import Confidence, Field
from ._visits import Visit, parse_visit, unit_of_numbers, visit_from_label
from ._vocabulary import match, tokens

__all__ = ["OutcomeGroup", "draft_outcomes", "instrument_for", "outcome_groups"]

WEEKS_PER = {"days": 1 / 7, "weeks": 1.0, "months": 52.1775 / 12, "years": 52.1775}

#: (name words, outcome, instrument or a rule name) in order of precedence
_NAMED = (
    (("vas3",), "pain", "vas3"), (("borg",), "pain", "borg_cr10"),
    (("lbprsp",), "pain", "lbprs_pain"), (("lbprsf",), "function", "lbprs_function"),
    (("lbprs",), None, "lbprs"), (("prs", "ppi"), "pain", "pain_rating_scale"),
    (("nrs", "nprs", "vrs", "evn"), "pain", "nrs_0_10"), (("vas", "eva"), "pain", "vas"),
    (("rdq16", "rmdq16", "rmq16"), "function", "rmdq_16"),
    (("rdq18", "rmdq18", "rmq18"), "function", "rmdq_18"),
    (("rmdq", "rdq", "rmq", "roland"), "function", "rmdq"),
    (("odi", "oswestry"), "function", "odi"), (("quebec", "qbpds"), "function", "quebec"),
    (("aberdeen", "abd"), "function", "aberdeen"), (("psfs",), "function", "psfs"),
    (("snq",), "function", "snq_activity"),
)  # fmt: skip
_RMDQ_LANG = {"es", "pt", "nl", "da", "it", "fi", "sv", "no", "de"}


@dataclass(frozen=True)
class OutcomeGroup:
    """Columns of one measure: stem, {column: Visit}, the outcome it names and why."""

    stem: str
    visits: dict[str, Visit]
    outcome: str | None
    evidence: str
    label: str


def _range(
    profile: FileProfile, columns: list[str], missing: dict[str, list[float]]
) -> tuple[float, float, bool] | None:
    """(lowest, highest, all whole numbers) of the non-missing values; None if not numeric."""
    values = []
    for c in columns:
        col = profile.data[c]
        if not pd.api.types.is_numeric_dtype(col):
            return None
        v = col.to_numpy(float)
        v = v[~np.isnan(v) & ~np.isin(v, missing.get(c, []))]
        values.append(v)
    allv = np.concatenate(values) if values else np.array([])
    if not allv.size:
        return None
    return float(allv.min()), float(allv.max()), bool(np.all(allv == np.round(allv)))


def instrument_for(outcome: str | None, text: str, lo: float, hi: float, integer: bool,
                   language: str | None) -> tuple[str | None, str | None, Confidence | None, str]:  # fmt: skip
    """(instrument, outcome, confidence, evidence) from a measure's name and range
    (no instrument: None and no confidence)."""
    toks = tokens(text)
    joined = "".join(toks)
    named = None
    for words, kind, rule in _NAMED:
        if any(w in toks or (len(w) >= 4 and w in joined) for w in words):
            named = (words, kind, rule)
            break
    rng = f"values {lo:g}-{hi:g}"
    if named is not None:
        words, kind, rule = named
        name = {"vas3": "vas3_sum" if hi <= 30 else "vas3_sum_mm",
                "lbprs": "lbprs_pain" if outcome == "pain" else "lbprs_function",
                "vas": "vas_100mm" if hi > 10 else "vas_10cm",
                "rmdq": "rmdq_24", "odi": "odi_percent" if hi > 50 else "odi_points",
                "aberdeen": "aberdeen_zh" if language == "zh" else "aberdeen"}.get(rule, rule)  # fmt: skip
        if name == "rmdq_24" and language in _RMDQ_LANG:
            name = f"rmdq_24_{language}"
        inst = INSTRUMENTS[name]
        if lo < inst.min or hi > inst.max:
            return None, kind, None, f"named {words[0]!r} but {rng} are outside {name}'s range"
        confidence: Confidence = "high"
        why = f"name contains {words[0]!r}; {rng} fit {inst.min:g}-{inst.max:g}"
        if rule == "vas" and hi <= 10:
            confidence, why = "medium", why + " (a 10 cm line: decimals expected)"
        if rule == "odi" and hi <= 50:
            confidence, why = "low", why + " (could be the percent version with low scores)"
        if name.startswith("rmdq_24_") or name == "aberdeen_zh":
            confidence, why = "medium", why + f" (language version from the file: {language})"
        return name, inst.outcome, confidence, why
    kind = outcome
    if kind == "pain":
        if hi <= 5 and integer:
            return "pain_rating_scale", kind, "low", f"{rng}, whole numbers: a 0-5 rating"
        if hi <= 10:
            name = "nrs_0_10" if integer else "vas_10cm"
            return name, kind, "medium", f"{rng}{', whole numbers' if integer else ''}"
        if hi <= 100:
            return "vas_100mm", kind, "medium", f"{rng}: a 0-100 scale"
    if kind == "function":
        if hi <= 24 and integer:
            return "rmdq_24", kind, "low", f"{rng}, whole numbers: RMDQ-24 most likely"
        if hi <= 100:
            return "odi_percent", kind, "low", f"{rng}: a 0-100 disability scale"
    return None, kind, None, f"{rng}: no instrument recognised"


def outcome_groups(profile: FileProfile, exclude: set[str]) -> list[OutcomeGroup]:
    """Wide files: columns grouped by stem, each group with the outcome its name says."""
    groups: dict[str, dict[str, Visit]] = {}
    for col in profile.columns:
        if col.name in exclude or col.kind != "numeric":
            continue
        visit = parse_visit(col.name)
        if visit is not None:
            groups.setdefault(visit.stem, {})[col.name] = visit
    out = []
    for stem, visits in groups.items():
        if len(visits) < 2 and not any(v.baseline for v in visits.values()):
            continue
        if len(visits) < 2:
            continue
        label = next((profile.column(c).label for c in visits if profile.column(c).label), "")
        outcome, why = _outcome_of(stem, label)
        out.append(OutcomeGroup(stem, visits, outcome, why, label))
    return out


def _outcome_of(stem: str, label: str) -> tuple[str | None, str]:
    for words, kind, _ in _NAMED:
        if kind is not None and any(w in tokens(stem) or w in "".join(tokens(stem))
                                    for w in words):  # fmt: skip
            return kind, f"stem {stem!r}"
    pain, function = match("pain", stem, label), match("function", stem, label)
    if pain and not function:
        return "pain", pain.evidence
    if function and not pain:
        return "function", function.evidence
    return None, ""


def _from_labels(profile: FileProfile, visits: dict[str, Visit]) -> dict[str, Visit]:
    """Visits whose unit the name leaves open, completed from the column labels."""
    out = dict(visits)
    for column, visit in visits.items():
        if visit.unit not in (None, "visit") or visit.baseline:
            continue
        found = visit_from_label(profile.column(column).label)
        if found is None:
            continue
        number, unit = found
        if unit == "baseline":
            out[column] = Visit(visit.stem, 0.0, None, True, visit.tag)
        else:
            out[column] = Visit(visit.stem, number, unit, False, f"label {number:g} {unit}")
    return out


def _times(visits: dict[str, Visit]) -> tuple[dict[str, str], str, Confidence | None, str]:
    """Spec ``columns`` (time key -> column), the time unit, confidence, evidence."""
    units = {v.unit for v in visits.values() if not v.baseline and v.unit is not None}
    if "visit" in units:
        keys = {("0" if v.baseline else f"TODO:{v.tag}"): c for c, v in visits.items()}
        return keys, "weeks", None, ("visit numbers (t1, t2, ...) do not give the times: "
                                     "replace each TODO key by the visit's time")  # fmt: skip
    if len(units) > 1:  # mixed naming (_6w, _3m): everything in weeks
        keys = {}
        for c, v in visits.items():
            weeks = 0.0 if v.baseline else v.number * WEEKS_PER[v.unit or "weeks"]
            keys[f"{round(weeks, 2):g}"] = c
        return keys, "weeks", "medium", f"mixed units ({', '.join(sorted(units))}) in weeks"
    if units:
        unit = units.pop()
        confidence: Confidence = "high"
        why = f"suffixes {', '.join(v.tag for v in visits.values())}"
    else:
        unit, confidence, why = unit_of_numbers([v.number for v in visits.values()])
        why = f"bare visit numbers: {why}"
    keys = {f"{(0.0 if v.baseline else v.number):g}": c for c, v in visits.items()}
    return keys, unit, confidence, why


def _language(profile: FileProfile) -> str | None:
    from ._vocabulary import LANGUAGE_WORDS

    words = set()
    for col in profile.columns:
        words |= set(tokens(col.name)) | set(tokens(col.label))
        for label in col.value_labels.values():
            words |= set(tokens(label))
    scores = {lang: len(words & set(ws)) for lang, ws in LANGUAGE_WORDS.items()}
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] >= 2 and list(scores.values()).count(scores[best]) == 1 else None


def draft_outcomes(profile: FileProfile, layout: str, exclude: set[str], time_col: str | None,
                   id_col: str | None, missing: dict[str, list[float]]) -> tuple[list[Field], set[str]]:  # fmt: skip
    """Fields of ``[outcomes.pain]``/``[outcomes.function]`` and the columns they use."""
    language = _language(profile)
    fields: list[Field] = []
    used: set[str] = set()
    if layout == "long":
        candidates = _long_candidates(profile, exclude | {time_col or ""}, id_col)
        chosen: dict[str, tuple] = {}
        for column in candidates:
            col = profile.column(column)
            outcome, why = _outcome_of(column, col.label)
            rng = _range(profile, [column], missing)
            if rng is None:
                continue
            inst, kind, confidence, iwhy = instrument_for(outcome, col.text, *rng, language)
            kind = kind or outcome
            if inst is None or kind is None or kind in chosen:
                continue
            chosen[kind] = (column, inst, confidence, f"{why}; {iwhy}")
        for kind, (column, inst, confidence, why) in sorted(chosen.items(), reverse=True):
            fields.append(Field(("outcomes", kind, "instrument"), inst, confidence, why))
            fields.append(Field(("outcomes", kind, "column"), column, confidence,
                                f"{column!r} changes between visits"))  # fmt: skip
            used.add(column)
        return fields, used
    best: dict[str, tuple] = {}
    for group in outcome_groups(profile, exclude):
        rng = _range(profile, list(group.visits), missing)
        if rng is None:
            continue
        inst, kind, confidence, iwhy = instrument_for(group.outcome, group.stem + " " +
                                                      group.label, *rng, language)  # fmt: skip
        kind = kind or group.outcome
        if inst is None or kind is None:
            continue
        if kind in best and len(best[kind][0].visits) >= len(group.visits):
            continue
        best[kind] = (group, inst, confidence, f"{group.evidence}; {iwhy}".strip("; "))
    for kind in ("pain", "function"):
        if kind not in best:
            continue
        group, inst, confidence, why = best[kind]
        keys, unit, t_conf, t_why = _times(_from_labels(profile, group.visits))
        if not any(v.baseline for v in group.visits.values()):
            t_conf, t_why = "low", t_why + "; no baseline suffix: the earliest is taken as 0"
        fields.append(Field(("outcomes", kind, "instrument"), inst, confidence, why))
        fields.append(Field(("outcomes", kind, "time_unit"), unit, t_conf or "low", t_why))
        fields.append(Field(("outcomes", kind, "columns"), keys, t_conf, t_why))
        used |= set(group.visits)
    return fields, used


def _long_candidates(profile: FileProfile, exclude: set[str], id_col: str | None) -> list[str]:
    data = profile.data
    out = []
    for col in profile.columns:
        if col.name in exclude or col.kind != "numeric" or id_col is None:
            continue
        varies = data.groupby(id_col)[col.name].nunique(dropna=True)
        if (varies > 1).mean() > 0.2:
            out.append(col.name)
    return out
