"""Effect sizes from group summaries (the metafor ``escalc`` equivalents used here).

Group 1 is the experimental arm (exercise), group 2 the comparison; every effect is
"group 1 minus group 2" (or the log of the odds ratio group 1 over group 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from ..errors import InputError
from ._validate import as_labels, as_vector

__all__ = [
    "EffectSizes",
    "log_odds_ratio",
    "mean_difference",
    "standardized_mean_difference",
]


@dataclass(frozen=True)
class EffectSizes:
    """Study effect sizes ``yi`` with sampling variances ``vi`` (pass both to ``pool``)."""

    measure: str
    yi: tuple[float, ...]
    vi: tuple[float, ...]
    labels: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """Columns ``label, yi, vi, se, measure``."""
        return pd.DataFrame(
            {
                "label": list(self.labels),
                "yi": list(self.yi),
                "vi": list(self.vi),
                "se": np.sqrt(self.vi),
                "measure": self.measure,
            }
        )

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False)


def _arrays(names: Sequence[str], values: Sequence[Any]) -> list[np.ndarray]:
    arrays = [as_vector(v, name) for name, v in zip(names, values, strict=True)]
    sizes = {a.size for a in arrays}
    if len(sizes) != 1:
        raise InputError(
            "group summaries have different lengths: "
            + ", ".join(f"{n}={a.size}" for n, a in zip(names, arrays, strict=True)),
            hint="pass one value per study for every argument",
        )
    return arrays


def _check_sizes(n: np.ndarray, name: str, minimum: float) -> None:
    bad = np.flatnonzero(n < minimum)
    if bad.size:
        row = int(bad[0])
        raise InputError(
            f"{name} must be at least {minimum:g}",
            variable=name,
            row=row,
            value=float(n[row]),
            hint="check the group size of this study",
        )


def _check_sd(sd: np.ndarray, name: str) -> None:
    bad = np.flatnonzero(sd < 0)
    if bad.size:
        row = int(bad[0])
        raise InputError(
            f"{name} must not be negative",
            variable=name,
            row=row,
            value=float(sd[row]),
            hint="pass standard deviations, not variances or differences",
        )


def mean_difference(
    mean1: Any, sd1: Any, n1: Any, mean2: Any, sd2: Any, n2: Any, *, labels: Any = None
) -> EffectSizes:
    """Raw mean difference ``y = m1 - m2`` with ``v = sd1^2 / n1 + sd2^2 / n2``.

    Matches metafor ``escalc("MD", ...)`` with its default ``vtype="LS"`` (variances not
    assumed equal).
    """
    m1, s1, k1, m2, s2, k2 = _arrays(
        ("mean1", "sd1", "n1", "mean2", "sd2", "n2"), (mean1, sd1, n1, mean2, sd2, n2)
    )
    _check_sizes(k1, "n1", 1)
    _check_sizes(k2, "n2", 1)
    _check_sd(s1, "sd1")
    _check_sd(s2, "sd2")
    yi = m1 - m2
    vi = s1**2 / k1 + s2**2 / k2
    return EffectSizes("MD", tuple(yi.tolist()), tuple(vi.tolist()), as_labels(labels, yi.size))


def hedges_correction(df: Any) -> np.ndarray:
    """Exact small-sample factor ``J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2))`` (Hedges
    1981), the factor metafor uses (``.cmicalc``); ``m = n1 + n2 - 2``."""
    m = np.asarray(df, dtype=float)
    return np.exp(special.gammaln(m / 2) - 0.5 * np.log(m / 2) - special.gammaln((m - 1) / 2))


def standardized_mean_difference(
    mean1: Any, sd1: Any, n1: Any, mean2: Any, sd2: Any, n2: Any, *, labels: Any = None
) -> EffectSizes:
    """Hedges' g: ``g = J(m) (m1 - m2) / s_pooled`` with ``m = n1 + n2 - 2``,
    ``s_pooled^2 = ((n1-1) sd1^2 + (n2-1) sd2^2) / m`` and the exact correction ``J``
    (:func:`hedges_correction`); ``v = 1/n1 + 1/n2 + g^2 / (2 (n1 + n2))``.

    Matches metafor ``escalc("SMD", ...)`` with its default ``vtype="LS"``.
    """
    m1, s1, k1, m2, s2, k2 = _arrays(
        ("mean1", "sd1", "n1", "mean2", "sd2", "n2"), (mean1, sd1, n1, mean2, sd2, n2)
    )
    _check_sizes(k1, "n1", 1)
    _check_sizes(k2, "n2", 1)
    _check_sd(s1, "sd1")
    _check_sd(s2, "sd2")
    m = k1 + k2 - 2
    _check_sizes(m + 2, "n1 + n2", 4)  # J(m) needs m > 1
    sp = np.sqrt(((k1 - 1) * s1**2 + (k2 - 1) * s2**2) / m)
    zero = np.flatnonzero(sp == 0)
    if zero.size:
        row = int(zero[0])
        raise InputError(
            "pooled standard deviation is 0; the SMD is undefined",
            variable="sd1",
            row=row,
            value=0.0,
            hint="use mean_difference for this study or fix its standard deviations",
        )
    yi = hedges_correction(m) * (m1 - m2) / sp
    vi = 1 / k1 + 1 / k2 + yi**2 / (2 * (k1 + k2))
    return EffectSizes("SMD", tuple(yi.tolist()), tuple(vi.tolist()), as_labels(labels, yi.size))


def log_odds_ratio(
    events1: Any, n1: Any, events2: Any, n2: Any, *, add: float = 0.5, labels: Any = None
) -> EffectSizes:
    """Log odds ratio ``log(a d / (b c))`` with ``v = 1/a + 1/b + 1/c + 1/d`` (Woolf).

    ``a, b`` are events and non-events in group 1, ``c, d`` in group 2. A study with a zero
    in any cell gets ``add`` (0.5) added to all four cells; studies with no events (or only
    events) in both groups are kept (metafor ``escalc("OR")`` defaults ``add=1/2,
    to="only0", drop00=FALSE``).
    """
    a, k1, c, k2 = _arrays(("events1", "n1", "events2", "n2"), (events1, n1, events2, n2))
    for name, events, n in (("events1", a, k1), ("events2", c, k2)):
        bad = np.flatnonzero((events < 0) | (events > n))
        if bad.size:
            row = int(bad[0])
            raise InputError(
                f"{name} must be between 0 and the group size",
                variable=name,
                row=row,
                value=float(events[row]),
                hint="pass event counts and group sizes (not percentages)",
            )
    b, d = k1 - a, k2 - c
    cells = np.column_stack([a, b, c, d]).astype(float)
    zero = np.any(cells == 0, axis=1)
    cells[zero] += add
    a, b, c, d = cells.T
    yi = np.log(a * d / (b * c))
    vi = 1 / a + 1 / b + 1 / c + 1 / d
    return EffectSizes("OR", tuple(yi.tolist()), tuple(vi.tolist()), as_labels(labels, yi.size))
