"""Effect sizes from 2x2 tables and event counts, and the ``escalc`` dispatcher.

Group 1 is the experimental arm. For a 2x2 table ``a, b`` (events, non-events in group 1)
and ``c, d`` (group 2), ``n1 = a + b``, ``n2 = c + d``, ``p1 = a/n1``, ``p2 = c/n2``:

- ``RR``: ``log(p1 / p2)``, ``v = 1/a - 1/n1 + 1/c - 1/n2``;
- ``OR``: ``log(a d / (b c))``, ``v = 1/a + 1/b + 1/c + 1/d`` (Woolf);
- ``RD``: ``p1 - p2``, ``v = p1 (1 - p1) / n1 + p2 (1 - p2) / n2``;
- ``PETO``: Peto's log odds ratio ``(a - E) / V`` with ``E = (a + c) n1 / N`` and the
  hypergeometric variance ``V = (a + c)(b + d) n1 n2 / (N^2 (N - 1))``, ``v = 1 / V``;
- ``IRR`` (counts ``x`` over person-time ``t``): ``log((x1/t1) / (x2/t2))``, ``v = 1/x1 + 1/x2``.

Zero cells (metafor ``escalc`` defaults ``add = 1/2, to = "only0", drop00 = FALSE``): with
``to="only0"`` a study with a zero cell gets ``add`` in every cell (both counts for IRR);
``to="all"`` adds to every study, ``to="if0all"`` to every study when any has a zero,
``to="none"`` never. ``drop00=True`` sets studies with no events in both groups (or only
events, for tables) to NaN.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from .._literals import validate
from ..errors import InputError, SpecError
from ._escalc import EffectSizes, _arrays, mean_difference, standardized_mean_difference
from ._validate import as_labels

__all__ = ["Measure", "ZeroRule", "escalc", "table_cells"]

Measure = Literal["RR", "OR", "RD", "PETO", "IRR", "MD", "SMD"]
ZeroRule = Literal["only0", "all", "if0all", "none"]


def table_cells(
    ai: Any, bi: Any, ci: Any, di: Any, n1i: Any, n2i: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The four cells ``a, b, c, d`` from ``ai, ci`` with either ``bi, di`` or ``n1i, n2i``."""
    if ai is None or ci is None or (bi is None and n1i is None) or (di is None and n2i is None):
        raise SpecError(
            "a 2x2 table needs ai and ci with either bi and di or n1i and n2i",
            hint="pass events and group sizes, e.g. escalc('RR', ai=..., n1i=..., ci=..., n2i=...)",
        )
    names = ("ai", "bi" if bi is not None else "n1i", "ci", "di" if di is not None else "n2i")
    a, second, c, fourth = _arrays(
        names, (ai, bi if bi is not None else n1i, ci, di if di is not None else n2i)
    )
    b = second if bi is not None else second - a
    d = fourth if di is not None else fourth - c
    for name, events, rest in (("ai", a, b), ("ci", c, d)):
        bad = np.flatnonzero((events < 0) | (rest < 0))
        if bad.size:
            row = int(bad[0])
            raise InputError(
                f"{name} must be between 0 and the group size",
                variable=name,
                row=row,
                value=float(events[row]),
                hint="pass event counts and group sizes (not percentages)",
            )
    return a, b, c, d


def _add(cells: np.ndarray, add: float, to: str) -> np.ndarray:
    out = cells.astype(float).copy()
    zero = np.any(out == 0, axis=1)
    if to == "all" or (to == "if0all" and zero.any()):
        out += add
    elif to == "only0":
        out[zero] += add
    return out


def _rates(x1i: Any, t1i: Any, x2i: Any, t2i: Any) -> np.ndarray:
    if any(v is None for v in (x1i, t1i, x2i, t2i)):
        raise SpecError(
            "IRR needs x1i, t1i, x2i and t2i",
            hint="pass event counts and person-time of both groups",
        )
    x1, t1, x2, t2 = _arrays(("x1i", "t1i", "x2i", "t2i"), (x1i, t1i, x2i, t2i))
    for name, values, low in (("x1i", x1, 0.0), ("x2i", x2, 0.0)):
        bad = np.flatnonzero(values < low)
        if bad.size:
            row = int(bad[0])
            raise InputError(
                f"{name} must not be negative",
                variable=name,
                row=row,
                value=float(values[row]),
                hint="pass event counts",
            )
    for name, values in (("t1i", t1), ("t2i", t2)):
        bad = np.flatnonzero(values <= 0)
        if bad.size:
            row = int(bad[0])
            raise InputError(
                f"{name} must be > 0",
                variable=name,
                row=row,
                value=float(values[row]),
                hint="pass person-time at risk",
            )
    return np.column_stack([x1, t1, x2, t2])


def escalc(
    measure: Measure,
    *,
    ai: Any = None,
    bi: Any = None,
    ci: Any = None,
    di: Any = None,
    n1i: Any = None,
    n2i: Any = None,
    x1i: Any = None,
    t1i: Any = None,
    x2i: Any = None,
    t2i: Any = None,
    m1i: Any = None,
    sd1i: Any = None,
    m2i: Any = None,
    sd2i: Any = None,
    add: float = 0.5,
    to: ZeroRule = "only0",
    drop00: bool = False,
    labels: Any = None,
) -> EffectSizes:
    """Effect sizes with metafor's measure names and arguments (``metafor::escalc``).

    ``RR``, ``OR``, ``RD`` take ``ai, ci`` and ``bi, di`` or ``n1i, n2i``; ``IRR`` takes
    ``x1i, t1i, x2i, t2i``; ``MD`` and ``SMD`` (Hedges' g, metafor's large-sample variance)
    take ``m1i, sd1i, n1i, m2i, sd2i, n2i``. See the module docstring for the formulas and
    the zero-cell rules (``add``, ``to``, ``drop00``).

    Examples
    --------
    >>> es = escalc("RR", ai=[4, 6], n1i=[123, 306], ci=[11, 29], n2i=[139, 303])
    >>> [round(y, 4) for y in es.yi]
    [-0.8893, -1.5854]
    """
    validate(measure, Measure, "measure")
    validate(to, ZeroRule, "to")
    if measure in ("MD", "SMD"):
        func = mean_difference if measure == "MD" else standardized_mean_difference
        return func(m1i, sd1i, n1i, m2i, sd2i, n2i, labels=labels)
    if measure == "IRR":
        rates = _rates(x1i, t1i, x2i, t2i)
        counts = _add(rates[:, [0, 2]], add, to)
        x1, x2 = counts.T
        t1, t2 = rates[:, 1], rates[:, 3]
        yi = np.log(x1 / t1) - np.log(x2 / t2)
        vi = 1 / x1 + 1 / x2
        dropped = (rates[:, 0] == 0) & (rates[:, 2] == 0)
    else:
        raw = np.column_stack(table_cells(ai, bi, ci, di, n1i, n2i))
        a, b, c, d = _add(raw, add, to).T
        n1, n2 = a + b, c + d
        p1, p2 = a / n1, c / n2
        with np.errstate(divide="ignore", invalid="ignore"):
            if measure == "RR":
                yi = np.log(p1) - np.log(p2)
                vi = 1 / a - 1 / n1 + 1 / c - 1 / n2
            elif measure == "OR":
                yi = np.log(p1 / (1 - p1)) - np.log(p2 / (1 - p2))
                vi = 1 / a + 1 / b + 1 / c + 1 / d
            elif measure == "PETO":
                total = n1 + n2
                variance = (a + c) * (b + d) * (n1 / total) * (n2 / total) / (total - 1)
                yi = (a - (a + c) * n1 / total) / variance
                vi = 1 / variance
            else:
                yi = p1 - p2
                vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
        dropped = ((raw[:, 0] == 0) & (raw[:, 2] == 0)) | ((raw[:, 1] == 0) & (raw[:, 3] == 0))
    if drop00:
        yi = np.where(dropped, np.nan, yi)
        vi = np.where(dropped, np.nan, vi)
    return EffectSizes(measure, tuple(yi.tolist()), tuple(vi.tolist()), as_labels(labels, yi.size))
