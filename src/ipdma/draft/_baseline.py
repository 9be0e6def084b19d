"""``[variables.NAME]``: the harmonized baseline variables a raw file holds, and how to map them.

A column is a candidate for a variable when its name or label names it (vocabulary, in the
trials' languages); each column maps to one variable at most (the strongest evidence
wins). The mapping then follows from the values: codes from value labels or text
(``male``/``female``, ``yes``/``no`` in each language), 0/1 kept as they are, counts with a
cut-off (days of sick leave >= 1, minutes of activity >= 150 per week, years of schooling
>= 13), units from the range (height in m or cm, weight in kg or lb, episode duration in
weeks, months or years), questionnaire scores rescaled from the smallest known native
range that holds the values (SF-36 0-100, MHI-5 5-30, FABQ-PA 0-24, Tampa 17-68, ...).
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np

from ..harmonize import VARIABLES
from ._profile import ColumnProfile, FileProfile
from ._record import TODO, Confidence, Field
from ._vocabulary import CONCEPTS, match, tokens

__all__ = ["draft_variables"]

_YES = ("yes", "ja", "j", "y", "kylla", "si", "sim", "oui", "true", "shi", "you", "1 yes")
_NO = ("no", "nee", "nej", "nei", "n", "ei", "nein", "non", "nao", "false", "fou", "wu",
       "none", "never", "geen", "ingen", "inga", "nunca")  # fmt: skip
_FEMALE = ("female", "f", "woman", "women", "vrouw", "v", "kvinde", "kvinna", "kvinne", "k",
           "nainen", "n", "weiblich", "w", "frau", "femmina", "donna", "mujer", "feminino",
           "femenino", "mulher", "nu", "nv", "girl")  # fmt: skip
_MALE = ("male", "m", "man", "men", "mand", "mann", "mies", "maennlich", "mannlich", "maschio",
         "uomo", "hombre", "masculino", "homem", "nan", "boy")  # fmt: skip
_HIGHER = ("university", "college", "higher", "tertiary", "bachelor", "master", "academic",
           "hbo", "wo", "universiteit", "hogeschool", "videregaende", "hogskola", "hojskole",
           "korkeakoulu", "yliopisto", "hochschule", "universitat", "universita", "laurea",
           "universidad", "superior", "universitario", "beyond high school", "post secondary",
           "vocational or college", "daxue", "fachhochschule", "post diploma", "univers",
           "hogere", "ammattikorkeakoulu")  # fmt: skip
_LOWER = ("primary", "secondary", "elementary", "none", "basic", "high school", "lbo", "mavo",
          "vmbo", "havo", "grundskole", "grundskola", "peruskoulu", "hauptschule",
          "realschule", "elementare", "media", "primaria", "secundaria", "fundamental",
          "medio", "high school or less", "xiaoxue", "zhongxue", "basisschool", "middelbaar",
          "gymnasium", "gymnasie", "grundschule", "folkeskole", "lagere", "ensino medio")  # fmt: skip
_EMPLOYED = ("employed", "working", "work", "full time", "part time", "werkend", "betaald werk",
             "i arbejde", "arbetar", "i arbeid", "tyossa", "berufstatig", "occupato",
             "empleado", "empregado", "self employed", "jiuye")  # fmt: skip
_NOT_EMPLOYED = ("unemployed", "retired", "homemaker", "student", "not working", "werkloos",
                 "gepensioneerd", "arbejdslos", "arbetslos", "arbeidsledig", "tyoton",
                 "arbeitslos", "rentner", "disoccupato", "pensionato", "desempleado",
                 "jubilado", "desempregado", "aposentado", "sick pension", "disability pension",
                 "homemaker or student", "wuye", "student", "studente", "estudante",
                 "studerende", "huisvrouw", "hausfrau", "casalinga", "ama de casa", "do lar",
                 "hjemmegaende", "pensioneret", "pensionar", "elakkeella")  # fmt: skip
_HEAVY = ("heavy", "zwaar", "tungt", "tung", "raskas", "schwer", "pesante", "pesado",
          "very heavy")  # fmt: skip
_NOT_HEAVY = ("sedentary", "light", "moderate", "licht", "zittend", "matig", "let", "lett",
              "latt", "kevyt", "leicht", "sitzend", "leggero", "ligero", "leve", "moderado",
              "moderato", "mittel", "sedentar", "stillesiddende", "stillasittande", "moderat",
              "leve", "istuva")  # fmt: skip

#: (table, confidence, evidence) of a mapped variable, or (None, None, why not)
_Mapped: TypeAlias = tuple[dict | None, Confidence | None, str]

#: variable -> (levels' words for 1, for 0)
_LEVELS = {"female": (_FEMALE, _MALE), "education": (_HIGHER, _LOWER),
           "employed": (_EMPLOYED, _NOT_EMPLOYED), "heavy_demands": (_HEAVY, _NOT_HEAVY)}  # fmt: skip
#: questionnaire ranges tried for 0-100 scores (smallest first), by name words
_SCALES: dict[str, tuple[tuple[int, int, tuple[str, ...]], ...]] = {
    "general_health": ((0, 10, ()), (1, 5, ()), (0, 100, ())),
    "mental_health": ((5, 30, ("mhi",)), (0, 100, ())),
    "fear_avoidance": ((0, 24, ("fabq",)), (0, 42, ("fabq",)), (17, 68, ("tsk", "tampa")),
                       (0, 96, ("fabq",)), (0, 100, ())),
}  # fmt: skip
_COUNT_CUTOFFS = {
    "sick_leave": (1, "days of sick leave: any (>= 1) = 1"),
    "physically_active": (150, "minutes of activity per week: >= 150 = active"),
    "education": (13, "years of schooling: >= 13 = beyond high school"),
}


_NEGATIONS = {"not", "non", "niet", "geen", "ikke", "inte", "ej", "ei", "nicht", "kein",
              "keine", "nao", "sin", "senza", "without", "uden", "utan", "uten", "ilman", "ohne",
              "bu", "mei"}  # fmt: skip


def _word_level(text: str, name: str) -> int | None:
    """1 / 0 when ``text`` (a value or its label) names a level of variable ``name``.

    A negation before the word flips a "yes" level ('niet werkend', 'not working').
    """
    norm = " ".join(tokens(text))
    if not norm:
        return None
    words = norm.split()
    if len(words) > 1 and words[0] in _NEGATIONS:
        rest = _word_level(" ".join(words[1:]), name)
        return None if rest is None else 1 - rest
    ones, zeros = _LEVELS.get(name, ((), ()))
    if name != "female":
        ones, zeros = ones + _YES, zeros + _NO
    # longest phrase first ("high school or less" before "high school")
    for phrase in sorted(ones + zeros, key=len, reverse=True):
        if norm == phrase or (len(phrase) > 3 and f" {phrase} " in f" {norm} "):
            return 1 if phrase in ones else 0
    for phrase in sorted(ones + zeros, key=len, reverse=True):
        if len(phrase) >= 6 and " " not in phrase and any(w.startswith(phrase) for w in words):
            return 1 if phrase in ones else 0
    return None


def _numbers(data, column: str, missing: list[float]) -> np.ndarray:
    values = data[column].to_numpy(float)
    return values[~np.isnan(values) & ~np.isin(values, missing)]


def _is_missing_code(code: str, missing: list[float]) -> bool:
    try:
        return float(code) in missing
    except ValueError:
        return False


def _codes_from_words(
    col: ColumnProfile, name: str, missing: list[float]
) -> tuple[dict | None, str]:
    if col.value_labels:
        present = {v for v, _ in col.values if not _is_missing_code(v, missing)}
        mapping, unmatched = {}, []
        for code, label in col.value_labels.items():
            if _is_missing_code(code, missing):
                continue
            level = _word_level(label, name)
            if level is None:
                if code in present:
                    unmatched.append(label)
                continue
            mapping[label] = level
        extra = present - set(col.value_labels)
        if unmatched or extra or not mapping:
            return None, f"value labels {dict(col.value_labels)} not all recognised"
        return mapping, f"value labels {dict(col.value_labels)}"
    if col.kind == "text":
        mapping = {}
        for value, _ in col.values:
            if _is_missing_code(value, missing):
                continue
            level = _word_level(value, name)
            if level is None:
                return None, f"value {value!r} not recognised"
            mapping[value] = level
        return mapping, f"values {sorted(mapping)}"
    return None, ""


def _binary(col: ColumnProfile, name: str, data, missing) -> _Mapped:
    """(table, confidence, evidence) for a 0/1 variable, or (None, None, why)."""
    codes, why = _codes_from_words(col, name, missing)
    if codes is not None:
        if len(set(codes.values())) < 2 and col.distinct > 1:
            return None, None, why + " name one level only"
        return {"column": col.name, "codes": codes}, "high", why
    if col.kind != "numeric":
        return None, None, why or "text values not recognised"
    values = _numbers(data, col.name, missing)
    distinct = set(np.unique(values).tolist())
    if distinct <= {0.0, 1.0}:
        levels = VARIABLES[name].levels
        yes = levels[1] if levels else "yes"
        return {"column": col.name}, "medium", f"values 0/1 (1 taken as yes/{yes})"
    if distinct <= {1.0, 2.0} and not col.value_labels:
        if name == "female":
            return ({"column": col.name, "codes": {"1": 0, "2": 1}}, "low",
                    "unlabelled 1/2: taken as 1 = male, 2 = female (the usual coding)")  # fmt: skip
        return ({"column": col.name, "codes": {"1": 1, "2": 0}}, "low",
                "unlabelled 1/2: taken as 1 = yes, 2 = no (the usual questionnaire coding)")  # fmt: skip
    if name in _COUNT_CUTOFFS and len(distinct) > 4 and values.min() >= 0:
        cutoff, text = _COUNT_CUTOFFS[name]
        plausible = {"sick_leave": values.max() <= 366, "physically_active": values.max() > 150,
                     "education": values.min() >= 4 and values.max() <= 25}[name]  # fmt: skip
        if plausible:
            return ({"column": col.name, "cutoff": cutoff}, "medium",
                    f"{text} (values {values.min():g}-{values.max():g})")  # fmt: skip
    return None, None, why or f"values {sorted(distinct)[:8]} not recognised"


def _unit_words(text: str) -> str | None:
    toks = set(tokens(text))
    for unit, words in (("weeks", ("week", "weeks", "wk", "wks", "weken", "uger", "veckor",
                                   "uker", "viikkoa", "wochen", "settimane", "semanas")),
                        ("years", ("year", "years", "yr", "yrs", "jaar", "ar", "aar", "vuotta",
                                   "jahre", "anni", "anos")),
                        ("days", ("day", "days", "dagen", "dage", "dagar", "tage", "giorni",
                                  "dias")),
                        ("months", ("month", "months", "mo", "maanden", "mnd", "maneder",
                                    "manader", "kuukautta", "monate", "mesi", "meses"))):  # fmt: skip
        if toks & set(words):
            return unit
    return None


def _continuous(col: ColumnProfile, name: str, data, missing) -> _Mapped:
    if col.kind != "numeric":
        return None, None, "not numeric"
    values = _numbers(data, col.name, missing)
    if not values.size:
        return None, None, "no values"
    lo, hi = float(values.min()), float(values.max())
    rng = f"values {lo:g}-{hi:g}"
    if name == "age":
        if lo >= 14 and hi <= 105:
            return {"column": col.name}, "high", f"{rng} (years)"
        return None, None, f"{rng} are not ages in years"
    if name == "bmi":
        if lo >= 12 and hi <= 70:
            return {"column": col.name}, "high", f"{rng} (kg/m2)"
        return None, None, f"{rng} are not BMI values"
    if name == "episode_months":
        unit = _unit_words(col.text)
        if unit is not None:
            table = {"column": col.name} if unit == "months" else {"column": col.name, "unit": unit}
            return table, "medium", f"name or label says {unit}; {rng}"
        integer = bool(np.all(values == np.round(values)))
        median = float(np.median(values))
        if integer and hi > 720:
            return ({"column": col.name, "unit": "weeks"}, "low",
                    f"{rng}: too many months, taken as weeks")  # fmt: skip
        if not integer and hi <= 60:
            return ({"column": col.name, "unit": "years"}, "low",
                    f"{rng}, decimals, median {median:g}: years")  # fmt: skip
        if integer and median >= 40:
            return ({"column": col.name, "unit": "weeks"}, "low",
                    f"{rng}, median {median:g}: weeks")  # fmt: skip
        return {"column": col.name}, "low", f"{rng}, median {median:g}: months"
    scales = _SCALES.get(name)
    if scales is None:
        return None, None, rng
    toks = "".join(tokens(col.text))
    named = [(low, high, words) for low, high, words in scales
             if words and any(w in toks for w in words)]  # fmt: skip
    fits = sorted(((hi - lo) / (high - low), low, high, words) for low, high, words in named
                  if lo >= low and hi <= high)  # fmt: skip
    if not fits:
        named = []
        fits = sorted(((hi - lo) / (high - low), low, high, words) for low, high, words in scales
                      if lo >= low and hi <= high)  # fmt: skip
    if fits:
        coverage, low, high, words = fits[-1]
        runner = fits[-2][0] if len(fits) > 1 else 0.0
        confidence: Confidence = (
            "medium" if coverage >= 0.8 and coverage - runner >= 0.15 else "low"
        )
        why = (
            f"{rng} cover {100 * coverage:.0f}% of {low}-{high}"
            + (f" (name: {words[0]})" if named else "")
            + (f", next best {100 * runner:.0f}%" if len(fits) > 1 else "")
        )
        if (low, high) == (0, 100):
            return {"column": col.name}, confidence, why + ": already 0-100"
        return {"column": col.name, "rescale": [low, high]}, confidence, why
    return None, None, f"{rng}: no known range of {name}"


def _bmi_parts(
    candidates: dict[str, list], data, missing
) -> tuple[dict | None, Confidence | None, str, list]:
    heights, weights = candidates.get("height", []), candidates.get("weight", [])
    if not heights or not weights:
        return None, None, "", []
    h, w = heights[0][1], weights[0][1]
    hv, wv = (
        _numbers(data, h.name, missing.get(h.name, [])),
        _numbers(data, w.name, missing.get(w.name, [])),
    )
    if not hv.size or not wv.size:
        return None, None, "", []
    hmed, wmed = float(np.median(hv)), float(np.median(wv))
    h_unit = "m" if 1.2 <= hmed <= 2.2 else "cm" if 120 <= hmed <= 220 else (
        "in" if 48 <= hmed <= 86 else None)  # fmt: skip
    w_unit = "kg" if 40 <= wmed <= 110 else "lb" if 110 < wmed <= 300 else None
    if h_unit is None or w_unit is None:
        return None, None, f"height median {hmed:g}, weight median {wmed:g}: units unclear", []
    table = {"derive": "bmi", "weight": {"column": w.name, "unit": w_unit},
             "height": {"column": h.name, "unit": h_unit}}  # fmt: skip
    confidence: Confidence = "medium" if w_unit == "lb" or h_unit == "in" else "high"
    why = (
        f"{h.name!r} ({heights[0][2]}, median {hmed:g} -> {h_unit}) and {w.name!r} "
        f"({weights[0][2]}, median {wmed:g} -> {w_unit})"
    )
    return table, confidence, why, [h.name, w.name]


def draft_variables(profile: FileProfile, exclude: set[str], missing: dict[str, list[float]],
                    own: dict[str, list[float]]) -> tuple[list[Field], set[str]]:  # fmt: skip
    """``[variables.*]`` fields and the columns they use.

    ``missing``: every missing code per column (excluded from the values judged);
    ``own``: the codes a variable's table must list itself (not in ``[source].missing``).
    """
    data = profile.data
    concepts = [*(v for v in VARIABLES if v in CONCEPTS), "height", "weight"]
    claims: list[tuple[int, str, str, ColumnProfile, str]] = []
    for col in profile.columns:
        if col.name in exclude or col.kind == "date":
            continue
        for concept in concepts:
            hit = match(concept, col.name, col.label)
            if hit is None:
                continue
            score = (4 if hit.whole else 2) + (1 if hit.where == "name" else 0)
            claims.append((score, concept, col.name, col, hit.evidence))
    concepts_of: dict[str, int] = {}
    for claim in claims:
        concepts_of[claim[2]] = concepts_of.get(claim[2], 0) + 1
    # strongest first; among equals, columns that name one concept only, then longer words
    claims.sort(key=lambda c: (-c[0], concepts_of[c[2]], -len(c[4])))
    taken: set[str] = set()
    chosen: dict[str, tuple] = {}
    parts: dict[str, list] = {}
    failed: dict[str, tuple] = {}
    for score, concept, column, col, why in claims:
        if column in taken:
            continue
        if concept in ("height", "weight"):
            parts.setdefault(concept, []).append((score, col, why))
            taken.add(column)
            continue
        if concept in chosen:
            continue
        mapped = _map(concept, col, data, missing.get(col.name, []))
        if mapped[0] is None:
            failed.setdefault(concept, (score, col, why, mapped[2]))
            continue
        chosen[concept] = (score, col, why, mapped)
        taken.add(column)
    fields: list[Field] = []
    used: set[str] = set()
    if "bmi" not in chosen:
        table, confidence, why, cols = _bmi_parts(parts, data, missing)
        if table is not None:
            fields.append(Field(("variables", "bmi"), table, confidence, why))
            used |= set(cols)
    for name in VARIABLES:
        if name in chosen:
            score, col, why, (table, confidence, vwhy) = chosen[name]
            if own.get(col.name):
                table["missing"] = [int(c) if float(c).is_integer() else c for c in own[col.name]]
            if score < 4 and confidence == "high":
                confidence = "medium"
            fields.append(Field(("variables", name), table, confidence, f"{why}; {vwhy}"))
            used.add(col.name)
        elif name in failed and failed[name][1].name not in taken:
            score, col, why, vwhy = failed[name]
            fields.append(Field(("variables", name), TODO, None,
                                f"{col.name!r} ({why}) but {vwhy}: map it or delete this "
                                "table"))  # fmt: skip
            used.add(col.name)
    return fields, used


def _map(name: str, col: ColumnProfile, data, missing: list[float]) -> _Mapped:
    if VARIABLES[name].kind == "binary":
        return _binary(col, name, data, missing)
    return _continuous(col, name, data, missing)
