"""The project file (``project.toml``): the trial specs, settings, not-included trials, plan."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr, model_validator

from .._literals import Window
from ._aggregate import AggregateTrial, check_aggregate_ids
from ._plan import AnalysisPlan
from ._trial import Category, Delivery, Design, Effect, InstrumentSpec, Population, _Frozen

__all__ = [
    "FlowSpec",
    "NotIncludedArm",
    "NotIncludedTrial",
    "Project",
    "RecoverySettings",
    "Settings",
    "VariableDefSpec",
    "WindowSetting",
]


class WindowSetting(_Frozen):
    """One follow-up window: the target time and the largest allowed distance (weeks)."""

    target: float = Field(gt=0)
    max_distance: float = Field(ge=0)


def _default_windows() -> dict[Window, WindowSetting]:
    return {
        "short": WindowSetting(target=13, max_distance=9),
        "moderate": WindowSetting(target=26, max_distance=10),
        "long": WindowSetting(target=52, max_distance=20),
    }


class RecoverySettings(_Frozen):
    """Global recovery: improvement >= ``relative`` x baseline and >= the points (0-100)."""

    relative: float = Field(default=0.30, ge=0, le=1)
    pain_points: float = Field(default=20.0, ge=0)
    function_points: float = Field(default=10.0, ge=0)


class Settings(_Frozen):
    """``[settings]``: harmonization settings (follow-up windows, ties, recovery)."""

    windows: dict[Window, WindowSetting] = Field(default_factory=_default_windows)
    ties: Literal["earlier", "later"] = "later"
    recovery: RecoverySettings = RecoverySettings()

    @model_validator(mode="after")
    def _all_windows(self) -> Settings:
        missing = {"short", "moderate", "long"} - set(self.windows)
        if missing:
            raise ValueError(f"windows {sorted(missing)} are not set; give all three")
        return self


class VariableDefSpec(_Frozen):
    """``[variables.NAME]`` in the project file: a project-defined harmonized variable."""

    label: str
    kind: Literal["continuous", "binary"]
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    levels: tuple[str, str] | None = None


class NotIncludedArm(_Frozen):
    """An arm of a not-included trial (for Table 2)."""

    name: str
    category: Category
    type: str
    design: Design | None = None
    delivery: Delivery | None = None
    n: int | None = Field(default=None, ge=0)


class NotIncludedTrial(_Frozen):
    """``[[not_included]]``: an eligible trial that did not provide data."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_\-]*$")
    label: str
    year: int = Field(ge=1900, le=2100)
    country: str
    population: Population
    n_participants: int | None = Field(default=None, ge=0)
    pct_female: float | None = Field(default=None, ge=0, le=100)
    mean_age: float | None = None
    mean_pain0: float | None = Field(default=None, ge=0, le=100)
    comparison_category: str | None = None
    pain_instrument: str | None = None
    function_instrument: str | None = None
    arms: tuple[NotIncludedArm, ...] = ()
    effects: tuple[Effect, ...] = ()


class FlowSpec(_Frozen):
    """``[flow]``: the parts of Figure 1 (flow of trials) that the data cannot know.

    ``eligible``: eligible trials (default: the trials with IPD plus ``[[not_included]]``);
    ``requested``: trials whose IPD were requested (default: all eligible);
    ``not_provided``: reasons IPD were not provided, with their counts of trials.
    """

    eligible: int | None = Field(default=None, ge=0)
    requested: int | None = Field(default=None, ge=0)
    not_provided: dict[str, int] = Field(default_factory=dict)


class Project(_Frozen):
    """A whole project file; ``analysis`` is the validated analysis plan (``[analysis]``)."""

    name: str = "ipdma project"
    trials: tuple[str, ...] = Field(min_length=1)
    output: str = "output"
    settings: Settings = Settings()
    variables: dict[str, VariableDefSpec] = Field(default_factory=dict)
    instruments: dict[str, InstrumentSpec] = Field(default_factory=dict)
    not_included: tuple[NotIncludedTrial, ...] = ()
    aggregate_trials: tuple[AggregateTrial, ...] = ()  # [[aggregate_trials]], spec/_aggregate.py
    flow: FlowSpec = FlowSpec()
    analysis: AnalysisPlan = Field(default_factory=AnalysisPlan)

    _path: Path | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _unique(self) -> Project:
        ids = [t.id for t in self.not_included]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"not_included trial id(s) {dupes} appear more than once")
        check_aggregate_ids(self.aggregate_trials)
        return self

    @property
    def path(self) -> Path | None:
        """The project file this was read from (None when built in memory)."""
        return self._path

    @property
    def root(self) -> Path:
        """The project directory (paths in the file are relative to it)."""
        return self._path.parent if self._path is not None else Path.cwd()

    @property
    def trial_paths(self) -> tuple[Path, ...]:
        """The trial spec files, resolved against the project directory."""
        return tuple(_resolved(self.root / p) for p in self.trials)

    @property
    def output_dir(self) -> Path:
        """The output directory (``output`` relative to the project directory)."""
        return _resolved(self.root / self.output)


def _resolved(path: Path) -> Path:
    """``path.resolve()``; a symlink loop or an over-long path is left unresolved
    (normalized), so that the command that uses it reports the fault with its name."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):
        return Path(os.path.normpath(path.absolute()))
