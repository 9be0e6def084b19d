"""Detect likely direct identifiers in a raw file: by column name and by value pattern.

Detected columns are never copied into the master dataset unless the trial spec lists them
in ``[source].allow_identifiers``; ingest reports each one with its reason.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from ._identifier_values import date_numbers, looks_like_names, national_ids, postcodes

__all__ = ["detect_identifiers"]

_NAME_TOKENS = {
    "name", "names", "surname", "firstname", "lastname", "fullname", "forename", "givenname",
    "familyname", "initials", "email", "mail", "phone", "telephone", "tel", "mobile", "cell",
    "address", "adress", "street", "postcode", "zipcode", "zip", "postal", "dob", "birthdate",
    "birthday", "ssn", "cpr", "nhs", "mrn", "personnummer", "bsn", "ahv", "plz", "postnr",
    "postnummer", "fodselsnummer", "hetu", "dni", "nie", "nir", "insee", "codicefiscale",
    "geburtsdatum", "fodselsdato", "geboortedatum", "naam", "achternaam", "voornaam",
    "nachname", "vorname", "nom", "prenom", "nombre", "apellido", "cognome", "efternamn",
    "fornavn", "efternavn", "etternavn",
}  # fmt: skip
_NAME_PATTERNS = (
    re.compile(r"e[-_ ]?mail"),
    re.compile(r"(date|dt)[-_ ]?(of[-_ ]?)?birth|birth[-_ ]?(date|day)"),
    re.compile(r"(first|last|sur|given|family|full|patient|participant)[-_ ]?name"),
    re.compile(r"phone|telefon|street|strasse|straße"),
)
_EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$")
_PHONE = re.compile(r"^\+?[\d\s().\-/]{8,}$")
_STREET_WORDS = (
    r"street|st|road|rd|avenue|ave|lane|ln|drive|dr|way|court|ct|place|pl|boulevard|blvd|"
    r"straat|weg|laan|gade|vej|gatan|veien|via|viale|strasse|straße|str|rue|calle|avenida|rua"
)
_STREET = re.compile(
    rf"(^\d+[a-z]?\s+\w.*\b({_STREET_WORDS})\b\.?)|(\w*({_STREET_WORDS})\.?\s+\d+[a-z]?\b)",
    re.IGNORECASE,
)
_DATE_TEXT = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./-]\d{1,2}[./-]\d{4})([ T].*)?$")


def _by_name(column: str) -> str | None:
    lowered = column.lower()
    tokens = set(re.split(r"[^a-z0-9]+", lowered))
    hit = tokens & _NAME_TOKENS
    if hit:
        return f"column name contains {sorted(hit)[0]!r}"
    for pattern in _NAME_PATTERNS:
        if pattern.search(lowered):
            return f"column name matches {pattern.pattern!r}"
    return None


def _share(values: pd.Series, pattern: re.Pattern[str]) -> float:
    return float(values.map(lambda v: bool(pattern.search(v))).mean())


def _as_dates(values: pd.Series) -> pd.Series | None:
    sample = values.dropna()
    if sample.empty:
        return None
    if pd.api.types.is_datetime64_any_dtype(sample):
        return pd.to_datetime(sample)
    if sample.map(lambda v: isinstance(v, dt.date)).all():
        return pd.to_datetime(sample)
    if sample.map(lambda v: isinstance(v, str) and bool(_DATE_TEXT.match(v.strip()))).mean() > 0.8:
        return pd.to_datetime(sample, errors="coerce", dayfirst=True, format="mixed")
    return None


def _birth_dates(dates: pd.Series) -> bool:
    """Full dates spread over decades, all in a plausible birth-year range (not visit dates)."""
    years = dates.dropna().dt.year
    if years.size < 3:
        return False
    latest = dt.date.today().year - 16
    plausible = ((years >= 1900) & (years <= latest)).mean() >= 0.8
    return bool(plausible and years.max() - years.min() >= 10)


def _by_value(values: pd.Series) -> str | None:
    sample = values.dropna()
    if sample.empty:
        return None
    sample = sample.iloc[:500]
    dates = _as_dates(sample)
    if dates is not None:
        return "values look like full dates of birth" if _birth_dates(dates) else None
    kind = national_ids(sample)
    if kind is not None:
        return f"values look like {kind}"
    numbers = date_numbers(sample)
    if numbers is not None and _birth_dates(numbers):
        return "values look like dates of birth stored as numbers (yyyymmdd or ddmmyyyy)"
    if not (sample.dtype == object or pd.api.types.is_string_dtype(sample)):
        return None
    text = sample.map(lambda v: str(v).strip())
    text = text[text != ""]
    if text.empty:
        return None
    if _share(text, _EMAIL) >= 0.5:
        return "values look like e-mail addresses"
    digits = text.map(lambda v: sum(ch.isdigit() for ch in v))
    phone = text.map(lambda v: bool(_PHONE.match(v))) & (digits >= 8)
    phone &= text.map(lambda v: v.startswith(("+", "0", "(")) or bool(re.search(r"[\s\-/.]", v)))
    if phone.mean() >= 0.5:
        return "values look like phone numbers"
    if _share(text, _STREET) >= 0.5:
        return "values look like street addresses"
    if postcodes(text):
        return "values look like full postcodes"
    if looks_like_names(text):
        return "values look like person names"
    return None


def detect_identifiers(data: pd.DataFrame) -> dict[str, str]:
    """``{column: reason}`` for every column that looks like a direct identifier."""
    found: dict[str, str] = {}
    for column in data.columns:
        reason = _by_name(str(column)) or _by_value(data[column])
        if reason is not None:
            found[str(column)] = reason
    return found
