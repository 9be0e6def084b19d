"""Exceptions and warnings raised by ipdma.

The hierarchy::

    IpdmaError                      anything ipdma raises on purpose
    ├── InputError                  a data file or a value in it is wrong
    │   └── DataFileError           the file is missing, unreadable, corrupt or empty
    ├── SpecError                   a trial spec, project file or analysis plan is wrong
    │   └── FormulaError            a model formula cannot be parsed or does not fit the data
    └── ModelError                  a model cannot be estimated
        └── RankDeficiencyError     fixed effects are aliased

    IpdmaWarning (UserWarning)
    ├── ConvergenceWarning          the optimum could not be verified
    ├── SingularFitWarning          a variance component is estimated on the boundary (0)
    ├── SeparationWarning           (quasi-)complete separation in a logistic model
    └── DataWarning                 data were dropped, recoded or look suspicious

Every error a user can cause says *where* (trial, file, variable, row, value) and
*how to fix it*; the command-line interface prints the message without a traceback.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConvergenceWarning",
    "DataFileError",
    "DataWarning",
    "FormulaError",
    "InputError",
    "IpdmaError",
    "IpdmaWarning",
    "ModelError",
    "RankDeficiencyError",
    "SeparationWarning",
    "SingularFitWarning",
    "SpecError",
]

_CONTEXT_KEYS = ("trial", "file", "spec", "variable", "row", "value")


class IpdmaError(Exception):
    """Base class of every error ipdma raises on purpose.

    Parameters
    ----------
    message
        What is wrong, in one sentence.
    trial, file, spec, variable, row, value
        Where it is wrong; each is printed when given (``file`` is the file the problem is
        in, ``spec`` the trial spec that read it, when that is another file).
    hint
        How to fix it.
    """

    def __init__(
        self,
        message: str,
        *,
        trial: str | None = None,
        file: Any = None,
        spec: Any = None,
        variable: str | None = None,
        row: Any = None,
        value: Any = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.trial = trial
        self.file = None if file is None else str(file)
        self.spec = None if spec is None or str(spec) == self.file else str(spec)
        self.variable = variable
        self.row = row
        self.value = value
        self.hint = hint
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        for key in _CONTEXT_KEYS:
            val = getattr(self, key)
            if val is not None:
                where.append(f"{key} {val!r}" if key == "value" else f"{key} {val}")
        text = self.message
        if where:
            text += " [" + ", ".join(where) + "]"
        if self.hint:
            text += f"\n  fix: {self.hint}"
        return text

    def __reduce__(self):  # keep pickling (parallel workers) working with keyword args
        return (
            _rebuild,
            (type(self), self.message, {k: getattr(self, k) for k in (*_CONTEXT_KEYS, "hint")}),
        )


def _rebuild(cls: type[IpdmaError], message: str, context: dict[str, Any]) -> IpdmaError:
    return cls(message, **context)


class InputError(IpdmaError):
    """A data file or a value in it is wrong (unknown column, bad value, duplicate id, ...)."""


class DataFileError(InputError):
    """A data file is missing, unreadable, of an unknown format, corrupt or empty."""


class SpecError(IpdmaError):
    """A trial spec, the project file or the analysis plan is invalid."""


class FormulaError(SpecError):
    """A model formula cannot be parsed, or names something the data do not have."""


class ModelError(IpdmaError):
    """A model cannot be estimated from these data."""


class RankDeficiencyError(ModelError):
    """The fixed-effects design is rank deficient; the message names the aliased columns."""


class IpdmaWarning(UserWarning):
    """Base class of ipdma's warnings."""


class ConvergenceWarning(IpdmaWarning):
    """The optimizer stopped, but the optimum could not be verified (gradient or restart)."""


class SingularFitWarning(IpdmaWarning):
    """A variance component was estimated at the boundary (zero variance or |correlation| 1)."""


class SeparationWarning(IpdmaWarning):
    """A trial shows (quasi-)complete separation in a logistic model."""


class DataWarning(IpdmaWarning):
    """Rows were dropped, values recoded, or data look suspicious; the message says which."""
