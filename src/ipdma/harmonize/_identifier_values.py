"""Value patterns of direct identifiers: person names, postcodes, national id numbers.

Person names are recognised by shape and by a small lexicon of common given names and
surnames in the consortium's languages (English, Dutch, German, the Nordic languages,
French, Spanish, Portuguese, Italian): two to four name words, optional particles
("de", "van der", "von", "da", "bin", ...), optional "SURNAME, Given" order, in any letter
case. A column counts as names when most of its values have that shape and, unless written
with capitals (``Jan de Vries``, ``JANSEN, JAN``), when many values hold a lexicon name.

National ids: Danish CPR / Norwegian fødselsnummer / Swedish personnummer / Finnish HETU
(a birth date and a serial), US SSN, UK NHS numbers (mod-11 check), Dutch BSN (11-proof),
Spanish DNI/NIE (check letter), Italian codice fiscale, Belgian national numbers.
Postcodes: UK, Dutch, Canadian, Swedish, Polish, Portuguese and US ZIP+4 shapes (digit-only
postcodes cannot be told from numeric ids by value; their column names are caught).
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

__all__ = ["date_numbers", "looks_like_names", "national_ids", "postcodes"]

_PARTICLES = {
    "de", "da", "das", "do", "dos", "del", "della", "di", "du", "des", "la", "le", "van",
    "von", "der", "den", "ter", "ten", "zu", "af", "av", "bin", "ibn", "al", "el", "y",
    "st", "mc", "mac", "o",
}  # fmt: skip
_GIVEN = frozenset(
    """
jan piet kees henk willem johan pieter maria anna johanna cornelia sanne lotte emma sophie
daan lars sven nils erik per ole anders mikkel jens søren soren kirsten mette ingrid karin
astrid freja ida eva lena hans peter klaus jürgen jurgen uwe karl wolfgang thomas michael
andreas stefan markus sabine ursula petra monika claudia julia laura sara sarah john james
robert william david richard joseph charles mary patricia jennifer linda elizabeth susan
margaret jessica emily olivia jack harry george oliver noah liam lucas paul mark steven
kevin brian jean pierre louis michel françois francois marie isabelle nathalie camille
léa lea manon chloé chloe josé jose juan carlos luis javier miguel antonio manuel francisco
carmen lucía lucia ana isabel joão joao pedro paulo giuseppe giovanni marco luca matteo
francesca chiara giulia alessandro lorenzo andrea ahmed mohammed mohamed ali fatima
yusuf ibrahim omar aisha kim ben tom tim max alex sam nina tina eline femke bram ruben
thijs jesper rasmus henrik magnus bjorn björn olav knut liv sigrid elin maja alice
""".split()  # noqa: SIM905
)
_SURNAMES = frozenset(
    """
jansen janssen de vries bakker visser smit meijer mulder bos vos dijk berg boer dekker
hansen nielsen jensen pedersen andersen christensen larsen sørensen sorensen rasmussen
johansson andersson karlsson nilsson eriksson larsson olsson persson svensson lindberg
müller muller mueller schmidt schneider fischer weber meyer wagner becker schulz hoffmann
smith jones williams brown taylor davies wilson evans thomas johnson roberts walker
martin bernard dubois durand leroy moreau simon laurent lefebvre garcía garcia martínez
martinez lópez lopez sánchez sanchez pérez perez gonzález gonzalez rodríguez rodriguez
fernández fernandez silva santos ferreira pereira oliveira costa rossi russo ferrari
esposito bianchi romano colombo ricci marino khan ahmed hussain ali singh patel kumar
""".split()  # noqa: SIM905
)
_LEXICON = _GIVEN | _SURNAMES
_WORD = r"[^\W\d_][^\W\d_'’\-\.]*(?:['’\-][^\W\d_]+)*\.?"
_NAME = re.compile(rf"^{_WORD}(?:,?\s+{_WORD}){{0,4}}$")
_INITIAL = re.compile(r"^[^\W\d_]\.?$")


def _words(value: str) -> list[str]:
    return [w.strip(".,") for w in re.split(r"[\s,]+", value) if w.strip(".,")]


def _name_shape(value: str) -> tuple[bool, bool, bool]:
    """(name-shaped, written with capitals, holds a lexicon name) for one value."""
    if not _NAME.match(value):
        return False, False, False
    words = _words(value)
    core = [w for w in words if w.casefold() not in _PARTICLES]
    if not 1 <= len(core) <= 3 or len(words) > 5 or any(len(w) > 20 for w in core):
        return False, False, False
    capitals = all(w[0].isupper() for w in core) and not all(_INITIAL.match(w) for w in core)
    lexicon = any(w.casefold() in _LEXICON for w in core)
    multi = len(core) >= 2 or "," in value
    return multi or lexicon, capitals and multi, lexicon


def looks_like_names(text: pd.Series) -> bool:
    """Most values are person names (see the module docstring)."""
    n = len(text)
    distinct = text.nunique()
    if n < 3 or distinct < 0.6 * n:
        return False
    shapes = [_name_shape(v) for v in text]
    shaped = sum(s[0] for s in shapes) / n
    capitals = sum(s[1] for s in shapes) / n
    lexicon = sum(s[2] for s in shapes) / n
    if shaped < 0.8:
        return False
    return (capitals >= 0.8 and distinct >= 5) or lexicon >= 0.3


_POSTCODE = re.compile(
    r"^(?:[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}"  # UK
    r"|\d{4}\s?[A-Z]{2}"  # Netherlands
    r"|[A-Z]\d[A-Z]\s?\d[A-Z]\d"  # Canada
    r"|\d{3}\s\d{2}"  # Sweden
    r"|\d{2}-\d{3}"  # Poland
    r"|\d{4}-\d{3}"  # Portugal
    r"|\d{5}-\d{4})$",  # US ZIP+4
    re.IGNORECASE,
)


def postcodes(text: pd.Series) -> bool:
    """Most values are full postcodes with letters or separators."""
    return bool(text.map(lambda v: bool(_POSTCODE.match(v))).mean() >= 0.8)


def _date_of(digits: str, order: str) -> dt.date | None:
    try:
        if order == "ymd":
            return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
        if order == "dmy":
            return dt.date(int(digits[4:8]), int(digits[2:4]), int(digits[:2]))
        return dt.date(1900 + int(digits[4:6]), int(digits[2:4]), int(digits[:2]))  # ddmmyy
    except ValueError:
        return None


def date_numbers(values: pd.Series) -> pd.Series | None:
    """Dates stored as 8-digit numbers or text (yyyymmdd or ddmmyyyy), else None."""
    text = values.map(_integer_text).dropna()
    if len(text) < 3 or not text.map(lambda v: len(v) in (7, 8)).all():
        return None
    text = text.str.zfill(8)  # ddmmyyyy stored as a number loses its leading zero
    for order in ("ymd", "dmy"):
        dates = text.map(lambda v, o=order: _date_of(v, o))
        ok = dates.map(lambda d: d is not None and 1900 <= d.year <= dt.date.today().year)
        if ok.mean() >= 0.8:
            return pd.to_datetime(dates[ok])
    return None


def _integer_text(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if value != value or not float(value).is_integer():
            return None
        return str(int(value))
    text = str(value).strip()
    return text if text.isdigit() else None


def _mod11(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11


def _nhs(d: str) -> bool:
    if len(d) != 10:
        return False
    check = 11 - _mod11(d[:9], (10, 9, 8, 7, 6, 5, 4, 3, 2))
    return (0 if check == 11 else check) == int(d[9])


def _bsn(d: str) -> bool:
    if len(d) == 8:
        d = "0" + d
    if len(d) != 9:
        return False
    total = sum(int(x) * w for x, w in zip(d[:8], range(9, 1, -1), strict=True)) - int(d[8])
    return total % 11 == 0 and d != "000000000"


def _fnr(d: str) -> bool:
    if len(d) != 11 or _date_of(d[:6], "dmyy") is None:
        return False
    k1 = 11 - _mod11(d[:9], (3, 7, 6, 1, 8, 9, 4, 5, 2))
    k2 = 11 - _mod11(d[:10], (5, 4, 3, 2, 7, 6, 5, 4, 3, 2))
    return (k1 % 11) == int(d[9]) and (k2 % 11) == int(d[10])


_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_ID_TEXT = (
    ("Nordic personal numbers (CPR / personnummer / HETU)",
     re.compile(r"^(?:\d{2})?\d{6}[-+A]\d{3}[\dA-Z]$", re.IGNORECASE)),
    ("US social security numbers", re.compile(r"^\d{3}-\d{2}-\d{4}$")),
    ("NHS numbers", re.compile(r"^\d{3}\s\d{3}\s\d{4}$")),
    ("Belgian national numbers", re.compile(r"^\d{2}\.\d{2}\.\d{2}-\d{3}\.\d{2}$")),
    ("Italian tax codes (codice fiscale)",
     re.compile(r"^[A-Z]{6}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z]$", re.IGNORECASE)),
)  # fmt: skip


def _dni(value: str) -> bool:
    match = re.match(r"^([XYZ]?)(\d{7,8})-?([A-Z])$", value.upper())
    if not match:
        return False
    prefix = str("XYZ".index(match[1])) if match[1] else ""
    number = int(prefix + match[2])
    return _DNI_LETTERS[number % 23] == match[3]


def _share(items: list[str], test) -> float:
    return sum(1 for item in items if test(item)) / len(items)


def national_ids(values: pd.Series) -> str | None:
    """The kind of national id number most values are, or None."""
    sample = values.dropna().tolist()
    if len(sample) < 3:
        return None
    text = [str(v).strip() for v in sample]
    for kind, pattern in _ID_TEXT:
        if _share(text, pattern.match) >= 0.8:
            return kind
    if _share(text, _dni) >= 0.8:
        return "Spanish DNI/NIE numbers"
    digits = [d for d in map(_integer_text, sample) if d is not None and 8 <= len(d) <= 11]
    if len(digits) < max(3, 0.8 * len(sample)):
        return None
    for kind, test in (
        ("NHS numbers", _nhs),
        ("Norwegian national id numbers (fødselsnummer)", _fnr),
        ("Dutch citizen service numbers (BSN)", _bsn),
    ):
        if _share(digits, test) >= 0.8:
            return kind
    return None
