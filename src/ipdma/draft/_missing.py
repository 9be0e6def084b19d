"""Missing-value codes: declared by the file, named by value labels, or sentinel numbers.

Three kinds of evidence, strongest first: SPSS user-missing values (the reader already
sets them to missing; listed for the record), value labels that say missing or unknown
(in the trials' languages), and sentinel numbers (-9, -99, -999, 99, 999, 9999, 88, 888)
that lie far outside the column's other values. A negative code found in two or more columns goes
to ``[source].missing``; others to the variable's or outcome's own ``missing`` (a 99 that
means missing in one column can be a valid score in another). User-missing values are read
as missing already and need no spec entry.
"""

from __future__ import annotations

import numpy as np

from ._profile import FileProfile
from ._record import Confidence, Field
from ._vocabulary import tokens

__all__ = ["MISSING_WORDS", "find_missing"]

MISSING_WORDS = ("missing", "unknown", "not known", "not answered", "no answer", "refused",
                 "dont know", "don t know", "n a", "na", "not applicable", "onbekend",
                 "ontbreekt", "weet niet", "mangler", "ukendt", "ved ikke", "saknas",
                 "okand", "vet ej", "ukjent", "vet ikke", "puuttuu", "tuntematon", "ei tietoa",
                 "fehlt", "unbekannt", "keine angabe", "mancante", "sconosciuto", "non noto",
                 "falta", "desconocido", "perdido", "ns nc", "ausente", "desconhecido",
                 "nao sabe", "queshi", "weizhi", "system missing", "sysmis")  # fmt: skip
_SENTINELS = (-9.0, -99.0, -999.0, -9999.0, -8.0, -1.0, 99.0, 999.0, 9999.0, 88.0, 888.0)


def _says_missing(label: str) -> bool:
    norm = " ".join(tokens(label))
    return any(norm == w or (len(w) > 3 and w in norm) for w in MISSING_WORDS)


def find_missing(profile: FileProfile, skip: set[str]) -> tuple[list[float], dict[str, list[float]], list[str]]:  # fmt: skip
    """(codes for every column, {column: its own codes}, evidence lines)."""
    per_column: dict[str, list[float]] = {}
    evidence: list[str] = []
    for col in profile.columns:
        if col.name in skip:
            continue
        codes: set[float] = set()
        if col.missing_codes:  # the reader sets these to missing already: no spec entry
            evidence.append(f"{col.name}: user-missing {list(col.missing_codes)} declared in "
                            "the file (read as missing)")  # fmt: skip
        for code, label in col.value_labels.items():
            try:
                number = float(code)
            except ValueError:
                continue
            if _says_missing(label):
                codes.add(number)
                evidence.append(f"{col.name}: {code} is labelled {label!r}")
        if col.kind == "numeric":
            values = profile.data[col.name].to_numpy(float)
            values = values[~np.isnan(values)]
            for sentinel in _SENTINELS:
                hits = values == sentinel
                if not hits.any() or sentinel in codes or sentinel in col.missing_codes:
                    continue
                rest = values[~hits & ~np.isin(values, list(codes))]
                if rest.size < 5:
                    continue
                lo, hi = rest.min(), rest.max()
                far = (sentinel < 0 <= lo) or (
                    sentinel > 0 and sentinel > 2 * hi and sentinel - hi >= 9) or (
                    sentinel > 0 and hi <= 10 and sentinel >= 88)  # fmt: skip
                if far:
                    codes.add(sentinel)
                    evidence.append(f"{col.name}: {sentinel:g} ({int(hits.sum())} rows) lies far "
                                    f"outside the other values ({lo:g}-{hi:g})")  # fmt: skip
        if codes:
            per_column[col.name] = sorted(codes)
    counts: dict[float, int] = {}
    for column_codes in per_column.values():
        for number in column_codes:
            counts[number] = counts.get(number, 0) + 1
    # only negative codes apply to every column: 99 or 999 can be a valid score elsewhere
    common = sorted(c for c, k in counts.items() if k >= 2 and c < 0)
    own = {col: [c for c in codes if c not in common] for col, codes in per_column.items()}
    own = {col: codes for col, codes in own.items() if codes}
    return common, own, evidence


def missing_field(common: list[float], evidence: list[str]) -> Field | None:
    """``[source].missing`` for codes found in two or more columns."""
    if not common:
        return None
    values = [int(c) if float(c).is_integer() else c for c in common]
    lines = [e for e in evidence if any(f"{c:g}" in e for c in common)][:4]
    confidence: Confidence = (
        "high" if any("labelled" in e or "user-missing" in e for e in lines) else "medium"
    )
    return Field(("source", "missing"), values, confidence,
                 f"in several columns: {'; '.join(lines)}")  # fmt: skip
