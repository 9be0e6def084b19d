"""The trial spec: one TOML file per trial, mapping its raw file to the harmonized variables.

The schema is documented, with a complete annotated example, in ``docs/spec.md``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

__all__ = [
    "ArmSpec",
    "Check",
    "Effect",
    "InstrumentSpec",
    "OutcomeSpec",
    "SourceSpec",
    "TrialMeta",
    "TrialSpec",
    "VariableSpec",
    "code_key",
]

Population = Literal["primary care", "secondary care", "occupational", "general or mixed"]
Category = Literal["exercise", "no treatment", "usual care", "placebo", "other conservative"]
Design = Literal["individualized", "partially individualized", "standardized", "not specified"]
Delivery = Literal[
    "independent", "independent with follow-up", "group", "one-on-one", "not specified"
]
TimeUnit = Literal["days", "weeks", "months", "years"]
Format = Literal["sav", "zsav", "por", "dta", "sas7bdat", "xpt", "csv", "tsv", "xlsx", "parquet"]
Scalar = int | float | str | bool


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("missing", "keep", "allow_identifiers", mode="before", check_fields=False)
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        """``missing = 9`` means ``missing = [9]`` (likewise for column lists)."""
        return [value] if isinstance(value, int | float | str | bool) else value


class TrialMeta(_Frozen):
    """``[trial]``: trial-level characteristics (the paper's Table 1)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_\-]*$")
    label: str
    year: int = Field(ge=1900, le=2100)
    country: str
    population: Population
    comparison_category: str | None = None
    notes: str = ""


class SourceSpec(_Frozen):
    """``[source]``: the raw data file and how to read it."""

    file: str
    format: Format | None = None
    sheet: str | int | None = None
    delimiter: str | None = None
    decimal: str = "."
    encoding: str | None = None
    layout: Literal["wide", "long"] = "wide"
    id: str
    arm: str
    time: str | None = None
    time_unit: TimeUnit = "weeks"
    baseline_time: float = 0.0
    missing: tuple[Scalar, ...] = ()
    keep: tuple[str, ...] = ()
    allow_identifiers: tuple[str, ...] = ()
    pseudonymize: bool = False

    @model_validator(mode="after")
    def _long_needs_time(self) -> SourceSpec:
        if self.layout == "long" and not self.time:
            raise ValueError("layout = 'long' needs 'time' (the column holding the visit time)")
        if self.layout == "wide" and self.time:
            raise ValueError("'time' is only used with layout = 'long'")
        return self


class ArmSpec(_Frozen):
    """``[[arms]]``: one randomized group, identified by its code in the arm column."""

    code: Scalar
    name: str
    category: Category
    type: str
    design: Design | None = None
    delivery: Delivery | None = None

    @model_validator(mode="after")
    def _exercise_fields(self) -> ArmSpec:
        if self.category == "exercise":
            if self.design is None or self.delivery is None:
                raise ValueError("exercise arms need 'design' and 'delivery' (Table 2)")
        elif self.design is not None or self.delivery is not None:
            raise ValueError("'design' and 'delivery' apply to exercise arms only")
        return self


class InputColumn(_Frozen):
    """An input of a derivation: a column and the unit it is recorded in."""

    column: str
    unit: str | None = None


class VariableSpec(_Frozen):
    """``[variables.NAME]``: how one harmonized baseline variable is made from the raw file.

    Steps, in order: missing codes -> ``codes`` (raw value or value label -> number) ->
    numeric -> ``combine`` of ``columns`` -> unit conversion (``unit`` to the variable's
    canonical unit) -> ``scale``/``offset`` -> ``rescale`` to 0-100 (``reverse``) ->
    ``cutoff`` (dichotomize). ``derive = "bmi"`` uses ``weight`` and ``height`` instead;
    ``derive = "age"`` computes age in years from the dates in ``birth`` and ``at`` (the
    date of birth itself is never copied).
    """

    column: str | None = None
    columns: tuple[str, ...] = ()
    combine: Literal["sum", "mean"] | None = None
    derive: Literal["bmi", "age"] | None = None
    weight: InputColumn | None = None
    height: InputColumn | None = None
    birth: str | None = None
    at: str | None = None
    codes: dict[str, float] = Field(default_factory=dict)
    missing: tuple[Scalar, ...] = ()
    unit: str | None = None
    scale: float = 1.0
    offset: float = 0.0
    rescale: tuple[float, float] | None = None
    reverse: bool = False
    cutoff: float | None = None
    cutoff_rule: Literal[">=", ">", "<=", "<"] = ">="

    @model_validator(mode="after")
    def _one_source(self) -> VariableSpec:
        sources = [self.column is not None, bool(self.columns), self.derive is not None]
        if sum(sources) != 1:
            raise ValueError("give exactly one of 'column', 'columns' or 'derive'")
        if self.columns and self.combine is None:
            raise ValueError("'columns' needs 'combine' = 'sum' or 'mean'")
        if self.derive == "bmi" and (self.weight is None or self.height is None):
            raise ValueError("derive = 'bmi' needs 'weight' and 'height'")
        if self.derive == "age" and (self.birth is None or self.at is None):
            raise ValueError("derive = 'age' needs 'birth' and 'at' (date columns)")
        if self.rescale is not None and self.rescale[0] >= self.rescale[1]:
            raise ValueError("'rescale' is [native minimum, native maximum] with minimum < maximum")
        if self.reverse and self.rescale is None:
            raise ValueError("'reverse' needs 'rescale' (the native range to reverse within)")
        return self

    def source_columns(self) -> tuple[str, ...]:
        """Every raw column this variable reads."""
        if self.column is not None:
            return (self.column,)
        if self.columns:
            return self.columns
        if self.derive == "age":
            return tuple(c for c in (self.birth, self.at) if c is not None)
        return tuple(c.column for c in (self.weight, self.height) if c is not None)


class OutcomeSpec(_Frozen):
    """``[outcomes.pain]`` / ``[outcomes.function]``: instrument and where the values are.

    Wide files: ``columns`` maps each time (in ``time_unit``; the baseline time, 0 by
    default, is the baseline) to a column. Long files: ``column`` holds the value at every
    visit; the time comes from ``[source].time``.
    """

    instrument: str
    column: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    time_unit: TimeUnit | None = None
    missing: tuple[Scalar, ...] = ()

    @field_validator("columns")
    @classmethod
    def _numeric_times(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            try:
                float(key)
            except ValueError:
                raise ValueError(f"time {key!r} is not a number (keys are times)") from None
        return value

    @model_validator(mode="after")
    def _one_source(self) -> OutcomeSpec:
        if (self.column is None) == (not self.columns):
            raise ValueError("give 'columns' (wide file) or 'column' (long file), not both")
        return self


class InstrumentSpec(_Frozen):
    """``[instruments.NAME]``: a user instrument; converted linearly to 0-100, higher = worse."""

    label: str
    outcome: Literal["pain", "function"]
    min: float
    max: float
    higher: Literal["worse", "better"] = "worse"

    @model_validator(mode="after")
    def _range(self) -> InstrumentSpec:
        if self.min >= self.max:
            raise ValueError("'min' must be smaller than 'max'")
        return self


class Check(_Frozen):
    """``[[published.checks]]``: a published aggregate the IPD must reproduce."""

    statistic: Literal["n", "mean", "sd", "median", "percent"]
    variable: str | None = None
    outcome: Literal["pain", "function"] | None = None
    time: float | None = None
    scale: Literal["harmonized", "native"] = "harmonized"
    arm: Scalar | None = None
    value: float
    tolerance: float = Field(default=0.0, ge=0)
    source: str = ""

    @model_validator(mode="after")
    def _target(self) -> Check:
        if self.variable is not None and self.outcome is not None:
            raise ValueError("give 'variable' or 'outcome' (with 'time'), not both")
        if self.outcome is not None and self.time is None:
            raise ValueError("an outcome check needs 'time' (0 = baseline)")
        if self.statistic != "n" and self.variable is None and self.outcome is None:
            raise ValueError(f"statistic {self.statistic!r} needs 'variable' or 'outcome'")
        return self


class Effect(_Frozen):
    """``[[published.effects]]``: a published mean difference (0-100, exercise - comparison).

    With ``analysis`` declared, ``ipdma check`` replicates it from the IPD as the publication
    analysed it: ``"ttest"`` (difference in means, pooled-SD standard error), ``"welch"``
    (unpooled standard error) or ``"ancova"`` (OLS on the baseline value), of the follow-up
    values (``scale="followup"``) or the change from baseline (``scale="change"``), at
    ``time_weeks``; ``md`` must match within ``tolerance`` and ``se`` within
    ``se_tolerance`` (defaults: half the last published digit of one decimal / two decimals).
    """

    outcome: Literal["pain", "function"]
    comparison: Literal["any", "usual", "conservative"] = "any"
    md: float
    se: float = Field(gt=0)
    time_weeks: float | None = None
    analysis: Literal["ttest", "welch", "ancova"] | None = None
    scale: Literal["followup", "change"] = "followup"
    tolerance: float = Field(default=0.051, ge=0)
    se_tolerance: float = Field(default=0.0051, ge=0)
    source: str | None = None


class Published(_Frozen):
    """``[published]``: aggregates from the trial's publication."""

    checks: tuple[Check, ...] = ()
    effects: tuple[Effect, ...] = ()


class TrialSpec(_Frozen):
    """A whole trial spec file (``trials/<id>.toml``)."""

    trial: TrialMeta
    source: SourceSpec
    arms: tuple[ArmSpec, ...] = Field(min_length=1)
    variables: dict[str, VariableSpec] = Field(default_factory=dict)
    outcomes: dict[Literal["pain", "function"], OutcomeSpec] = Field(default_factory=dict)
    instruments: dict[str, InstrumentSpec] = Field(default_factory=dict)
    published: Published = Published()

    _path: Path | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _consistent(self) -> TrialSpec:
        codes = [code_key(arm.code) for arm in self.arms]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise ValueError(f"arm code(s) {', '.join(dupes)} appear more than once in [[arms]]")
        for name, outcome in self.outcomes.items():
            if self.source.layout == "wide" and outcome.column is not None:
                raise ValueError(f"outcomes.{name}: a wide file needs 'columns' (time -> column)")
            if self.source.layout == "long" and outcome.columns:
                raise ValueError(f"outcomes.{name}: a long file needs 'column' (one value column)")
        return self

    @property
    def id(self) -> str:
        """The trial id."""
        return self.trial.id

    @property
    def path(self) -> Path | None:
        """The spec file this was read from (None when built in memory)."""
        return self._path

    @property
    def data_path(self) -> Path:
        """The raw data file, resolved against the spec's directory."""
        base = self._path.parent if self._path is not None else Path.cwd()
        # normalized but not resolved: a symlink (even a loop or a dangling one) is named
        # as the spec names it, and its errors are reported by the reader
        return Path(os.path.normpath(base.absolute() / self.source.file))

    def arm_for(self, code: object) -> ArmSpec | None:
        """The arm whose code matches ``code`` (1, 1.0 and "1" match), or None."""
        key = code_key(code)
        for arm in self.arms:
            if code_key(arm.code) == key:
                return arm
        return None


def code_key(code: object) -> str:
    """A code as text, numbers without a trailing '.0' (1, 1.0 and "1" are the same code).

    ``code`` is a :data:`Scalar` of a spec or a raw value read from a data file.
    """
    if isinstance(code, bool):
        return str(int(code))
    if isinstance(code, float) and code.is_integer():
        return str(int(code))
    return str(code).strip()
