"""The structured convergence record of a mixed-model fit, and its plain-language message.

What every fit checks (``ipdma.models._linear`` and ``_logistic`` state the criteria):

* ``gradient_max``: the largest absolute component of the (projected) gradient of the
  objective at the optimum, in the optimizer's parameter units (lme4's ``checkConv``
  ``check.conv.grad`` in spirit);
* ``restart_loglik_difference``: ``|loglik(second start) - loglik(reported optimum)|``, a
  second optimization from a different start (near the boundary for linear models, scaled
  variance parameters for logistic ones); more than the tolerance means several maxima;
* ``boundary_terms``: random-effect SDs (or correlations) estimated at the boundary
  (``sd(treat)``), lme4's ``isSingular``;
* ``separated_terms``: fixed terms along a direction of complete or quasi-complete
  separation (logistic models; their estimates are not finite, SEs NaN).

The record is data; :attr:`ConvergenceRecord.message` is generated from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["ConvergenceRecord"]


@dataclass(frozen=True)
class ConvergenceRecord:
    """What was verified at the optimum of one fit.

    Attributes
    ----------
    converged
        The optimum was verified (gradient, second start, boundary checks, no separation).
    gradient_max
        Largest absolute gradient component at the optimum (NaN when not computed).
    restart_loglik_difference
        Absolute log-likelihood difference between the two starts (NaN when not computed).
    boundary_terms
        Random-effect terms whose SD (or correlation) is at the boundary.
    separated_terms
        Fixed terms along a separating direction (logistic models).
    checks
        The engine's account of what was checked, with its tolerances.
    """

    converged: bool
    gradient_max: float = math.nan
    restart_loglik_difference: float = math.nan
    boundary_terms: tuple[str, ...] = ()
    separated_terms: tuple[str, ...] = ()
    checks: str = ""

    @property
    def singular(self) -> bool:
        """A variance component is on the boundary."""
        return bool(self.boundary_terms)

    @property
    def message(self) -> str:
        """A plain-language sentence for readers of the report."""
        parts = []
        if self.separated_terms:
            parts.append(
                "the outcome is perfectly predicted along "
                + ", ".join(self.separated_terms)
                + " (separation): those estimates are not finite and have no standard error"
            )
        elif self.converged:
            parts.append("converged (the optimum was verified)")
        else:
            parts.append(
                "the optimum could not be verified (largest gradient "
                f"{_number(self.gradient_max)}; second start "
                f"{_number(self.restart_loglik_difference)} log-likelihood units away)"
            )
        if self.boundary_terms:
            parts.append(
                "boundary (singular) fit: "
                + ", ".join(self.boundary_terms)
                + " estimated at 0 (the model reduces to one without that random effect)"
            )
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (NaN as None)."""
        return {
            "converged": self.converged,
            "gradient_max": _json_float(self.gradient_max),
            "restart_loglik_difference": _json_float(self.restart_loglik_difference),
            "boundary_terms": list(self.boundary_terms),
            "separated_terms": list(self.separated_terms),
            "checks": self.checks,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConvergenceRecord:
        """Inverse of :meth:`to_dict`."""
        return cls(
            converged=bool(data["converged"]),
            gradient_max=_float(data.get("gradient_max")),
            restart_loglik_difference=_float(data.get("restart_loglik_difference")),
            boundary_terms=tuple(data.get("boundary_terms", ())),
            separated_terms=tuple(data.get("separated_terms", ())),
            checks=str(data.get("checks", "")),
        )


def _number(value: float) -> str:
    return "not computed" if not math.isfinite(value) else f"{value:.1e}"


def _json_float(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)
