"""The analysis plan: every analytic choice, declared once, validated once, recorded with results.

The plan is read from the ``[analysis]`` table of the project file. Every field has the
paper's choice as its default (Hayden et al. 2020, Methods "Data analysis" and "IPD
Syntheses"), so an empty table reproduces the paper's analysis. Unknown keys are errors with
the nearest valid key suggested.

Choices made where the paper is silent (each documented on its field):

* random effects (linear): random treatment and random baseline slopes with *independent*
  (diagonal) covariance and stratified (fixed) trial intercepts: the paper's "random treatment
  effect, trial-specific intercepts and random effects for baseline values"; Stata ``mixed``
  (which the paper used) defaults to an independent covariance for random slopes.
* random effects (logistic): only the random treatment effect (1-D), by adaptive
  Gauss-Hermite quadrature with 7 nodes (``nagq = 7``: Stata ``melogit``'s default, and within
  1e-6 of the 25-node log-likelihood on the paper-sized model), and the baseline slope a
  common fixed effect, so the whole default grid (1566 models) meets its 60 s budget on 2 cores. Measured on the simulated consortium
  (per recovery interaction model): 1-D Laplace 0.09 s, 1-D AGHQ(7) 0.12 s, 2-D Laplace
  0.17 s, 2-D AGHQ(7) 0.47 s. Set ``random_binomial = ["treatment", "baseline"]`` for the
  paper's structure; ``nagq = 1`` gives the Laplace approximation (lme4 ``glmer``'s default). On the
  simulated consortium the 2-D structure doubles the logistic grid's CPU time (27 s vs 13 s;
  47 s with 7 nodes) and 456 of its 513 models put the baseline-slope variance at 0.
* residual variance common (Stata ``mixed`` default); ``"stratified"`` gives one per trial.
* covariates (baseline, modifier, adjusters) centred at their trial-specific means.
"""

from __future__ import annotations

import difflib
import itertools
import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .._literals import Comparison, DfMethod, Outcome, Residual, Window
from ..errors import SpecError
from ._modifiers import DEFAULT_MODIFIERS

__all__ = ["AnalysisPlan", "ImportanceRules", "ModelOptions", "ModifierSpec", "plan_from_dict"]

RandomTerm = Literal["treatment", "baseline"]
Adjustment = Literal["unadjusted", "adjusted"]
ModifierType = Literal["continuous", "binary", "categorical"]

_FROZEN = ConfigDict(extra="forbid", frozen=True)


class ModifierSpec(BaseModel):
    """One candidate modifier: its type, labels, reference level and subgroup categories.

    ``binary`` modifiers are 0/1 columns; ``reference`` is the value whose row is shown as
    ``--`` in Tables 4-6 (default 0, 'absent'). ``categorical`` modifiers are string columns
    (one interaction row per non-reference level), or continuous columns cut at ``cutpoints``.
    ``cutpoints`` / ``median`` define the subgroup categories of a continuous modifier.
    ``prespecified`` (default true: the paper's modifiers were) and ``direction`` (the
    hypothesized change of benefit for higher values: ``"larger"`` or ``"smaller"``) feed
    the credibility assessment (ICEMAN).
    """

    model_config = _FROZEN

    type: ModifierType = "continuous"
    prespecified: bool = True
    direction: Literal["larger", "smaller"] | None = None
    label: str | None = None
    levels: tuple[str, str] | None = Field(
        default=None, description="labels of (reference, other) levels of a binary modifier"
    )
    reference: str | float | None = None
    cutpoints: tuple[float, ...] | None = None

    @field_validator("cutpoints")
    @classmethod
    def _increasing(cls, value: tuple[float, ...] | None) -> tuple[float, ...] | None:
        if value is not None and (
            len(value) == 0 or any(b <= a for a, b in itertools.pairwise(value))
        ):
            raise ValueError("cutpoints must be a non-empty, strictly increasing list")
        return value


class ModelOptions(BaseModel):
    """Options of the one-stage models (see the module docstring for the defaults' reasons)."""

    model_config = _FROZEN

    random: tuple[RandomTerm, ...] = ("treatment", "baseline")
    random_binomial: tuple[RandomTerm, ...] = ("treatment",)
    correlated: bool = False
    residual: Residual = "common"
    reml: bool = True
    nagq: int = Field(default=7, ge=1, le=25)
    df_method: DfMethod = "satterthwaite"
    interaction: Literal["fixed", "random"] = "fixed"
    prognostic: Literal["common", "random", "stratified"] = "common"
    treatment_coding: Literal["01", "centred"] = "01"
    across_trial: bool = True
    min_trials_across: int = Field(default=3, ge=2)

    @field_validator("random", "random_binomial")
    @classmethod
    def _treatment_first(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("random terms must not repeat")
        return value

    @model_validator(mode="after")
    def _kenward_roger_needs_reml(self) -> ModelOptions:
        if self.df_method == "kenward-roger" and not self.reml:
            raise ValueError("df_method = 'kenward-roger' needs reml = true (KR is a REML method)")
        return self


class ImportanceRules(BaseModel):
    """Clinical importance (Appendix 9): smallest worthwhile effect and OR threshold."""

    model_config = _FROZEN

    alpha: float = Field(default=0.05, gt=0, lt=1)
    swe_fraction: float = Field(default=0.20, gt=0, lt=1)
    odds_ratio: float = Field(default=2.0, gt=1)
    fdr: Literal["bh"] = "bh"


class AnalysisPlan(BaseModel):
    """The whole analysis grid and its options; defaults reproduce the paper.

    Examples
    --------
    >>> plan = AnalysisPlan()
    >>> plan.primary_window, plan.outcomes
    ('short', ('pain', 'function', 'recovery'))
    """

    model_config = _FROZEN

    outcomes: tuple[Outcome, ...] = ("pain", "function", "recovery")
    windows: tuple[Window, ...] = ("short", "moderate", "long")
    primary_window: Window = "short"
    comparisons: tuple[Comparison, ...] = ("any", "usual", "conservative")
    primary_comparison: Comparison = "any"
    modifiers: tuple[str, ...] = tuple(DEFAULT_MODIFIERS)
    modifier: dict[str, ModifierSpec] = Field(default_factory=dict)
    adjust_for: tuple[str, ...] = ("age", "female")
    adjustments: tuple[Adjustment, ...] = ("unadjusted", "adjusted")
    subgroups: bool = True
    subgroup_adjustment: Adjustment = "adjusted"
    two_stage: bool = True
    level: float = Field(default=0.95, gt=0.5, lt=1)
    model: ModelOptions = Field(default_factory=ModelOptions)
    importance: ImportanceRules = Field(default_factory=ImportanceRules)

    def modifier_spec(self, name: str) -> ModifierSpec:
        """The modifier's settings: the plan's override merged over the paper's default."""
        base = dict(DEFAULT_MODIFIERS.get(name) or _registry_entry(name))
        if name in self.modifier:
            base.update(self.modifier[name].model_dump(exclude_unset=True))
        return ModifierSpec(**base)

    def record(self) -> str:
        """The plan as canonical JSON (stored with every result and in ``models.csv``)."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True)


def _registry_entry(name: str) -> dict[str, Any]:
    """Type, label and levels of a project variable from the harmonized registry."""
    from ..harmonize import VARIABLES

    variable = VARIABLES.get(name)
    if variable is None:
        return {}
    entry: dict[str, Any] = {"type": variable.kind, "label": variable.label}
    if variable.kind == "binary" and variable.levels:
        entry["levels"] = tuple(level.capitalize() for level in variable.levels)
    return entry


def _suggest(key: str, options: list[str]) -> str | None:
    match = difflib.get_close_matches(key, options, n=1, cutoff=0.5)
    return match[0] if match else None


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] | None = AnalysisPlan
    for part in loc:
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            return model
        annotation = model.model_fields[part].annotation
        if annotation is ModelOptions or annotation is ImportanceRules:
            model = annotation
        elif part == "modifier":
            return ModifierSpec
        else:
            return model
    return model


def plan_from_dict(raw: Mapping[str, Any] | None, *, file: Any = None) -> AnalysisPlan:
    """Validate the project file's ``[analysis]`` table into an :class:`AnalysisPlan`.

    Raises
    ------
    SpecError
        For an unknown key (naming the nearest valid one) or an invalid value.
    """
    try:
        plan = AnalysisPlan.model_validate(dict(raw or {}))
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        where = "analysis." + ".".join(str(p) for p in loc)
        if error["type"] == "extra_forbidden":
            model = _model_at(loc[:-1]) or AnalysisPlan
            suggestion = _suggest(str(loc[-1]), list(model.model_fields))
            hint = f"did you mean {suggestion!r}?" if suggestion else None
            hint = hint or f"valid keys: {', '.join(model.model_fields)}"
            raise SpecError(
                f"unknown key {where!r} in the analysis plan", file=file, hint=hint
            ) from None
        raise SpecError(
            f"invalid value for {where!r} in the analysis plan: {error['msg']}",
            file=file,
            value=error.get("input"),
            hint="see docs of ipdma.analysis.AnalysisPlan for the allowed values",
        ) from None
    _check_consistency(plan, file)
    return plan


def _check_consistency(plan: AnalysisPlan, file: Any) -> None:
    if plan.primary_window not in plan.windows:
        raise SpecError(
            "analysis.primary_window is not among analysis.windows",
            file=file,
            value=plan.primary_window,
            hint="add it to windows or choose one of them",
        )
    if plan.primary_comparison not in plan.comparisons:
        raise SpecError(
            "analysis.primary_comparison is not among analysis.comparisons",
            file=file,
            value=plan.primary_comparison,
            hint="add it to comparisons or choose one of them",
        )
    for name in plan.modifier:
        if name not in plan.modifiers:
            suggestion = _suggest(name, list(plan.modifiers))
            raise SpecError(
                f"analysis.modifier.{name} configures a modifier that is not in analysis.modifiers",
                file=file,
                variable=name,
                hint=f"did you mean {suggestion!r}?" if suggestion else "add it to modifiers",
            )
    for name in plan.modifiers:
        spec = plan.modifier_spec(name)
        if spec.type == "binary" and spec.reference not in (None, 0, 1, 0.0, 1.0):
            raise SpecError(
                "the reference of a binary modifier must be 0 or 1",
                file=file,
                variable=name,
                value=spec.reference,
                hint="use reference = 0 (absent, the paper's choice) or 1",
            )
