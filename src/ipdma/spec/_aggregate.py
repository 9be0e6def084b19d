"""``[[aggregate_trials]]``: trials that give only a published treatment effect.

Each entry is one trial, one outcome and one follow-up: the published mean difference
(exercise minus comparison, 0-100 scale, like the one-stage models' treatment effect) with
its standard error or its confidence interval. With ``[analysis] aggregate = true`` these
trials (and the published ``effects`` of ``[[not_included]]`` trials) enter the overall
effects, two-stage and one-stage (Riley et al. 2008, Stat Med 27:1870); see
``docs/aggregate.md``.

Example::

    [[aggregate_trials]]
    id = "smith2004"
    label = "Smith 2004"
    outcome = "pain"
    follow_up = "short"          # a window name, or the time in weeks (e.g. 12)
    estimate = -8.2
    ci_low = -13.9               # or se = 2.9
    ci_high = -2.5
    n_exercise = 40
    n_comparison = 38
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .._literals import Comparison

_WINDOWS = ("short", "moderate", "long")

__all__ = ["AggregateTrial", "check_aggregate_ids"]


class AggregateTrial(BaseModel):
    """One ``[[aggregate_trials]]`` entry (see the module docstring).

    ``se`` or both ``ci_low``/``ci_high`` (a symmetric Wald interval at ``ci_level``, the
    SE is ``(ci_high - ci_low) / (2 z)``) must be given; ``follow_up`` is a window name
    (``short``, ``moderate``, ``long``) or the follow-up time in weeks (the window whose
    target is nearest within its maximum distance, ``[settings.windows]``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-.]*$")
    label: str | None = None
    outcome: Literal["pain", "function"]
    follow_up: str | float
    comparison: Comparison = "any"
    estimate: float
    se: float | None = Field(default=None, gt=0)
    ci_low: float | None = None
    ci_high: float | None = None
    ci_level: float = Field(default=0.95, gt=0.5, lt=1)
    n_exercise: int | None = Field(default=None, ge=1)
    n_comparison: int | None = Field(default=None, ge=1)
    source: str | None = None

    @model_validator(mode="after")
    def _variance(self) -> AggregateTrial:
        if isinstance(self.follow_up, str) and self.follow_up not in _WINDOWS:
            raise ValueError(
                f"entry {self.id!r}: follow_up = {self.follow_up!r} is not a window; use "
                "short, moderate or long, or the follow-up time in weeks (a number)"
            )
        if not isinstance(self.follow_up, str) and not self.follow_up > 0:
            raise ValueError(f"entry {self.id!r}: follow_up (weeks) must be > 0")
        if not math.isfinite(self.estimate):
            raise ValueError(f"entry {self.id!r}: estimate must be a finite number")
        if self.se is not None:
            if not (math.isfinite(self.se) and self.se > 0):
                raise ValueError(
                    f"entry {self.id!r}: se must be > 0 (got {self.se}); give the standard "
                    "error of the published mean difference"
                )
            return self
        if self.ci_low is None or self.ci_high is None:
            raise ValueError(
                f"entry {self.id!r}: se is missing; give se, or ci_low and ci_high "
                "(the published confidence interval)"
            )
        if not self.ci_low < self.estimate < self.ci_high:
            raise ValueError(
                f"entry {self.id!r}: the interval ci_low = {self.ci_low}, ci_high = "
                f"{self.ci_high} must contain the estimate {self.estimate} (ci_low < ci_high)"
            )
        return self

    @property
    def standard_error(self) -> float:
        """``se``, or the SE implied by the confidence interval."""
        if self.se is not None:
            return self.se
        from scipy import stats  # lazily: importing ipdma stays free of scipy.stats

        assert self.ci_low is not None and self.ci_high is not None
        z = float(stats.norm.ppf(0.5 + self.ci_level / 2.0))
        return (self.ci_high - self.ci_low) / (2.0 * z)

    @property
    def name(self) -> str:
        """The label shown in tables and forest plots (the id when no label is given)."""
        return self.label or self.id


def check_aggregate_ids(entries: tuple[AggregateTrial, ...]) -> None:
    """One entry per trial, outcome, follow-up and comparison (ValueError naming the entry).

    An id may also be a ``[[not_included]]`` trial: for the same outcome and window its
    ``[[aggregate_trials]]`` entry is used instead of the published ``effects``.
    """
    seen: set[tuple[str, str, str, str]] = set()
    for index, entry in enumerate(entries):
        key = (entry.id, entry.outcome, str(entry.follow_up), entry.comparison)
        if key in seen:
            raise ValueError(
                f"aggregate_trials[{index}] (id {entry.id!r}) repeats the {entry.outcome} "
                f"effect at follow_up {entry.follow_up!r}; give each effect once"
            )
        seen.add(key)
