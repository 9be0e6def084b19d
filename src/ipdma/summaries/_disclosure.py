"""Disclosure control: which trial blocks may leave a site.

A block is one model's raw cross-products of one trial (``R_i' R_i`` and ``n_i``). The
rules, checked on the block itself before anything is written (and again by the
coordinator on every file it reads):

1. trial-arm cells: each arm has at least ``min_cell`` participants (a trial with one arm
   carries no information on the treatment effect and is not summarised at all);
2. categories of a 0/1 column (a binary modifier or adjuster, e.g. sex): each category, and
   each category within each arm, has either no participant or at least ``min_cell``
   (sums over a smaller subgroup, e.g. the outcome total of 2 smokers in the control arm,
   come close to individual values);
3. no block determines an individual row: the trial has more rows than the block has
   columns (with ``n_i <= r`` the cross-products can pin rows down), and at least
   ``min_cell``;
4. subgroup models send one block per trial and category of the modifier (a *cell*):
   rules 1 and 3 apply to every cell, except that an arm may be empty in a cell (0
   participants disclose nothing); a trial any of whose cells fails is withheld whole.

The counts are entries of the block (``1'1 = n``, ``1't``, ``1'z``, ``1'(t z)`` for 0/1
columns), so the coordinator can verify them without trusting the site.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DEFAULT_MIN_CELL", "DisclosureRules", "block_problems"]

DEFAULT_MIN_CELL = 5


@dataclass(frozen=True)
class DisclosureRules:
    """Smallest number of participants in any trial-arm cell and category cell."""

    min_cell: int = DEFAULT_MIN_CELL

    def __post_init__(self) -> None:
        if not isinstance(self.min_cell, int) or self.min_cell < 1:
            from ..errors import SpecError

            raise SpecError(
                f"min_cell must be a whole number >= 1, not {self.min_cell!r}",
                value=self.min_cell,
                hint="use the default 5 or a larger number your data-sharing agreement sets",
            )


def block_problems(
    columns: tuple[str, ...],
    gram: np.ndarray,
    binary: np.ndarray,
    rules: DisclosureRules,
    *,
    cell: str = "",
) -> list[str]:
    """Reasons why one trial block (one category ``cell`` of a trial) may not leave the
    site (empty: it may)."""
    k = rules.min_cell
    n = round(gram[0, 0])
    index = {name: j for j, name in enumerate(columns)}
    problems = []
    if n < k or n <= len(columns):
        problems.append(
            f"{n} participant(s): fewer than {max(k, len(columns) + 1)} (the minimum, and more "
            f"than the {len(columns)} summarised columns so that no row is determined)"
        )
    treated = round(gram[0, index["treat"]])
    for arm, size in (("exercise", treated), ("comparison", n - treated)):
        if size < k and not (cell and size == 0):
            problems.append(f"{arm} arm has {size} participant(s) (< {k})")
    for name, j in index.items():
        if name in ("1", "treat") or "*" in name or j == len(columns) - 1 or not binary[j]:
            continue
        ones = round(gram[0, j])
        joint = f"treat*{name}"
        both = round(gram[0, index[joint]]) if joint in index else None
        cells = {f"{name} = 1": ones, f"{name} = 0": n - ones}
        if both is not None:
            cells.update(
                {
                    f"exercise, {name} = 1": both,
                    f"exercise, {name} = 0": treated - both,
                    f"comparison, {name} = 1": ones - both,
                    f"comparison, {name} = 0": n - treated - ones + both,
                }
            )
        for label, size in cells.items():
            if 0 < size < k:
                problems.append(f"cell ({label}) has {size} participant(s) (< {k})")
    return [f"category {cell}: {p}" for p in problems] if cell else problems
