"""Categories of a modifier: binary levels, categorical levels, cut-points or the median."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from ..errors import ModelError
from ._plan import ModifierSpec

__all__ = ["binary_names", "categorise", "check_binary"]


def check_binary(z: pd.Series) -> None:
    """A binary modifier must be coded 0/1."""
    bad = z[~z.isin([0, 1])]
    if len(bad):
        raise ModelError(
            "a binary modifier has values other than 0 and 1",
            variable=str(z.name),
            row=bad.index[0],
            value=bad.iloc[0],
            hint="declare it as continuous or categorical in [analysis.modifier]",
        )


def binary_names(spec: ModifierSpec) -> tuple[str, str, bool]:
    """(reference label, other label, flipped): ``flipped`` when 1 is the reference."""
    names = spec.levels or ("No", "Yes")
    flipped = spec.reference is not None and float(spec.reference) == 1.0
    return (names[1], names[0], True) if flipped else (names[0], names[1], False)


def _put_reference_first(levels: list[str], reference: object) -> list[str]:
    if reference is not None and str(reference) in levels:
        levels.remove(str(reference))
        levels.insert(0, str(reference))
    return levels


def categorise(z: pd.Series, spec: ModifierSpec) -> tuple[np.ndarray, list[str]]:
    """The category label of every row and the ordered levels (reference first).

    Binary: the two level labels; strings: their sorted values; continuous: the plan's
    cut-points (``< a``, ``a-b``, ..., ``>= c``), else the median (``< m``, ``>= m``).
    """
    if spec.type == "binary":
        check_binary(z)
        reference, other, flipped = binary_names(spec)
        ref_value = 1.0 if flipped else 0.0
        labels = np.where(z.to_numpy(float) == ref_value, reference, other).astype(object)
        return labels, [reference, other]
    if not pd.api.types.is_numeric_dtype(z):
        labels = z.astype(str).to_numpy(dtype=object)
        return labels, _put_reference_first(sorted(set(labels)), spec.reference)
    values = z.to_numpy(float)
    cuts = spec.cutpoints
    if cuts is None:
        # the observed median, rounded to 3 significant digits so that the printed label is
        # the exact cut-point used (e.g. "< 39.2", not "< 39.2157")
        median = float(f"{float(np.median(values)):.3g}")
        names = [f"< {median:g}", f">= {median:g}"]
        return np.where(values < median, names[0], names[1]).astype(object), names
    names = [f"< {cuts[0]:g}"]
    names += [f"{low:g}-{high:g}" for low, high in itertools.pairwise(cuts)]
    names += [f">= {cuts[-1]:g}"]
    index = np.searchsorted(np.asarray(cuts), values, side="right")
    labels = np.asarray(names, dtype=object)[index]
    return labels, _put_reference_first(list(names), spec.reference)
