"""Visit times from column-name suffixes (wide files) or a time column's values (long files).

Suffix forms: ``_0 _b _bl _base _baseline _pre _t0`` (baseline); ``_3m _m3 _6mo _12mnd
_12kk _6mes`` (months); ``_w6 _6w _wk6 _week6 _6uke _6v _6sem`` (weeks); ``_1y _2yr``
(years); ``_t1 _v2`` (visit numbers: times unknown); ``_fu6`` or a bare number
(``VAS26``, ``pain_12``): the unit is judged from the numbers (26, 52 are weeks; 3, 6, 12
alone are most often months) at low confidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._record import Confidence
from ._vocabulary import normalize

__all__ = ["Visit", "parse_visit", "unit_of_numbers"]

_WEEKS = ("w", "wk", "wks", "week", "weeks", "uge", "uger", "v", "vk", "vko", "vecka",
          "veckor", "uke", "uker", "sem", "semana", "semanas", "sett", "settimana",
          "settimane", "wo", "woche", "wochen", "weken", "viikko", "viikkoa")  # fmt: skip
_MONTHS = ("m", "mo", "mon", "mth", "mths", "month", "months", "mnd", "mdr", "mndr", "maand",
           "maanden", "maned", "maneder", "man", "manad", "manader", "kk", "kuukausi",
           "mes", "meses", "mese", "mesi", "monat", "monate", "monaten", "yue")  # fmt: skip
_YEARS = ("y", "yr", "yrs", "year", "years", "jaar", "ar", "aar", "vuosi", "jahr", "jahre",
          "anno", "anni", "ano", "anos", "nian")  # fmt: skip
_DAYS = ("d", "day", "days", "dag", "dagen", "dage", "dagar", "paiva", "tag", "tage",
         "giorni", "dias", "tian")  # fmt: skip
_VISIT = ("t", "visit", "v", "tp", "meting", "wave", "fase")
_FOLLOWUP = ("fu", "followup", "fup", "f")
_BASELINE = ("b", "bl", "base", "baseline", "pre", "basal", "inicial", "start", "intake",
             "voormeting", "t0", "v0", "m0", "w0", "baseline0", "lahto", "alku", "vor")  # fmt: skip

_UNIT_OF = {**{w: "weeks" for w in _WEEKS}, **{w: "months" for w in _MONTHS},
            **{w: "years" for w in _YEARS}, **{w: "days" for w in _DAYS}}  # fmt: skip
_SEPARATED = re.compile(
    r"^(?P<stem>.*?[a-z0-9])[_.\- ]+(?P<tag>[a-z]*\d+(?:[.,]\d+)?[a-z]*|[a-z]+)$"
)
_TAG = re.compile(r"^(?P<pre>[a-z]*)(?P<num>\d+(?:[.,]\d+)?)(?P<post>[a-z]*)$")
_GLUED = re.compile(r"^(?P<stem>.*[a-z])(?P<pre>[a-z]{0,2}?)(?P<num>\d+)(?P<post>[a-z]{0,3})$")


@dataclass(frozen=True)
class Visit:
    """A column's stem and its visit: number and unit (``None`` unit = judge from numbers).

    ``unit`` is ``weeks | months | years | days``, ``"visit"`` (a visit number whose time
    is unknown) or None (a bare number); ``baseline`` marks a baseline suffix.
    """

    stem: str
    number: float
    unit: str | None
    baseline: bool
    tag: str


def parse_visit(name: str) -> Visit | None:
    """The stem and visit of a column name, or None when the name has no visit suffix."""
    text = normalize(name).strip()
    m = _SEPARATED.match(text)
    if m:
        stem, tag = m.group("stem"), m.group("tag")
        if tag in _BASELINE:
            return Visit(stem, 0.0, None, True, tag)
        t = _TAG.match(tag)
        if t:
            return _visit(stem, t.group("pre"), t.group("num"), t.group("post"), tag)
        return None
    g = _GLUED.match(text)
    if g and len(g.group("stem")) >= 2:
        return _visit(g.group("stem") + g.group("pre") if g.group("pre") not in _UNIT_OF
                      and g.group("pre") not in _VISIT and g.group("pre") not in _FOLLOWUP
                      else g.group("stem"),
                      g.group("pre") if g.group("pre") in _UNIT_OF or g.group("pre") in _VISIT
                      or g.group("pre") in _FOLLOWUP else "",
                      g.group("num"), g.group("post"), g.group(0))  # fmt: skip
    return None


def _visit(stem: str, pre: str, num: str, post: str, tag: str) -> Visit | None:
    number = float(num.replace(",", "."))
    if post and post not in _UNIT_OF:
        return None
    if pre and pre not in _UNIT_OF and pre not in _VISIT and pre not in _FOLLOWUP:
        return None
    unit = _UNIT_OF.get(post) or (_UNIT_OF.get(pre) if pre not in ("v",) else None)
    if pre in _VISIT and not post:
        if pre == "v" and number > 4:
            unit = "weeks"  # Swedish/Danish "v6" = week 6
        else:
            return Visit(stem, number, "visit", number == 0, tag)
    return Visit(stem, number, unit, number == 0, tag)


_MONTH_LIKE = {1.0, 2.0, 3.0, 4.0, 6.0, 9.0, 12.0, 15.0, 18.0, 24.0, 30.0, 36.0, 48.0, 60.0}
_WEEK_MARKS = {13.0, 26.0, 39.0, 52.0, 78.0, 104.0, 156.0, 208.0, 260.0}


def unit_of_numbers(numbers: list[float]) -> tuple[str, Confidence, str]:
    """(unit, confidence, evidence) for follow-up times given as bare numbers."""
    follow = sorted({n for n in numbers if n > 0})
    if not follow:
        return "weeks", "low", "no follow-up times"
    marks = set(follow) & _WEEK_MARKS
    if marks:
        return "weeks", "medium", f"{', '.join(f'{m:g}' for m in sorted(marks))} are week counts"
    if max(follow) > 60:
        return "weeks", "medium", f"{max(follow):g} is too many months for a trial"
    if set(follow) <= _MONTH_LIKE:
        return "months", "low", (f"{', '.join(f'{n:g}' for n in follow)} look like months "
                                 "(could be weeks: check the protocol)")  # fmt: skip
    return "weeks", "low", f"{', '.join(f'{n:g}' for n in follow)} are not typical month counts"


def visit_from_label(label: str) -> tuple[float, str] | None:
    """(number, unit) from a label such as 'Pain at 6 weeks', '12 mnd', 'semana 6'."""
    from ._vocabulary import tokens

    toks = tokens(label)
    for i, tok in enumerate(toks):
        unit = _UNIT_OF.get(tok)
        if unit is None or (len(tok) < 2 and tok not in ("m", "w", "y")):
            continue
        before = toks[i - 1] if i else ""
        after = toks[i + 1] if i + 1 < len(toks) else ""
        for text in (before, after):
            if text.replace(".", "", 1).isdigit():
                return float(text), unit
    if any(t in _BASELINE for t in toks if len(t) > 2):
        return 0.0, "baseline"
    return None
