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
* random effects (logistic): the paper's structure, a random treatment effect and a random
  baseline slope (independent, like the linear models) with stratified intercepts, by
  adaptive Gauss-Hermite quadrature with 7 nodes per dimension (``nagq = 7``, 49 nodes per
  trial; Stata ``melogit``'s default, which the paper used). On the paper-sized model 7 nodes
  are within 4e-6 of the 25-node log-likelihood with both random effects (3e-7 with the
  treatment effect alone; ``docs/models.md``); ``ipdma.mixed`` without ``nagq`` uses 11 for
  two random effects. ``random_binomial = ["treatment"]`` gives the simpler 1-D model
  (the default of earlier versions, chosen then for speed); ``nagq = 1`` the Laplace
  approximation (lme4 ``glmer``'s default, the only one glmer offers for two random
  effects). On the simulated consortium most logistic models put the baseline-slope
  variance at 0: a boundary fit, verified as such and reported as singular.
* residual variance common (Stata ``mixed`` default); ``"stratified"`` gives one per trial.
* covariates (baseline, modifier, adjusters) centred at their trial-specific means.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Collection, Mapping
from pathlib import Path
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
from ._errors import nearest, spec_error_from_validation
from ._modifiers import DEFAULT_MODIFIERS
from ._variables import VARIABLES

__all__ = [
    "Adjustment",
    "AnalysisPlan",
    "ImportanceRules",
    "ImputationSettings",
    "ModelOptions",
    "ModifierSpec",
    "ModifierType",
    "RandomTerm",
    "check_plan",
    "check_plan_variables",
    "plan_from_dict",
]

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
    """

    model_config = _FROZEN

    type: ModifierType = "continuous"
    prespecified: bool = Field(
        default=True, description="pre-specified in the protocol (else exploratory; ICEMAN)"
    )
    direction: Literal["larger", "smaller"] | None = Field(
        default=None,
        description="hypothesized change of the benefit for higher values (ICEMAN)",
    )
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
    random_binomial: tuple[RandomTerm, ...] = ("treatment", "baseline")
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
    """Appendix 9 (``[analysis.importance]``): significant AND important in size, and stable.

    ``rule = "results"`` (default) is the rule the paper's Results applied: a difference in
    treatment effect of ``md_points`` (3.3) points or more on the 0-100 scale, or a
    difference in odds ratio of ``or_difference`` (0.7) or more. ``rule = "methods"`` is its
    Methods' rule: ``swe_fraction`` (20 %) of the mean baseline value, or an OR of
    ``odds_ratio`` (2) or more. ``direction_change`` adds the direction-change rule. A row is
    unstable (marked, never listed) when its model failed, did not converge or showed
    separation, or its CI is wider than ``max_ci_width`` points (MD) or its upper/lower
    ratio exceeds ``max_ci_ratio`` (OR). See :mod:`ipdma.analysis._importance`.
    """

    model_config = _FROZEN

    rule: Literal["results", "methods"] = "results"
    alpha: float = Field(default=0.05, gt=0, lt=1)
    md_points: float = Field(default=3.3, gt=0)
    or_difference: float = Field(default=0.7, gt=0)
    swe_fraction: float = Field(default=0.20, gt=0, lt=1)
    odds_ratio: float = Field(default=2.0, gt=1)
    direction_change: bool = True
    max_ci_width: float = Field(default=40.0, gt=0)
    max_ci_ratio: float = Field(default=25.0, gt=1)
    fdr: Literal["bh"] = "bh"


class ImputationSettings(BaseModel):
    """Multilevel multiple imputation of missing covariates (``[analysis.imputation]``).

    Off by default (``m = 0``: the paper's complete-case analysis). With ``m >= 2`` the models
    of the kinds in ``kinds`` are also fitted on ``m`` imputed datasets and pooled by Rubin's
    rules (a sensitivity analysis beside the complete-case results; see
    :func:`ipdma.impute.impute` for the imputation model). A covariate measured in fewer
    than ``min_trials`` trials is not imputed.
    """

    model_config = _FROZEN

    m: int = Field(default=0, ge=0, le=500)
    seed: int = Field(default=20200101, ge=0)
    iterations: int = Field(default=10, ge=1, le=1000)
    method: Literal["2stage", "2stage-random-slopes"] = Field(
        default="2stage",
        description="two-stage multilevel imputation with trial-specific intercepts, treatment "
        "coefficients and residual variances and common slopes (default), or with every "
        "coefficient trial-specific (attenuates interactions when few trials measured a "
        "covariate)",
    )
    min_trials: int = Field(default=5, ge=2)
    kinds: tuple[Literal["overall", "interaction", "subgroup"], ...] = ("overall", "interaction")
    ordered: tuple[str, ...] = Field(
        default=(),
        description="covariates that are ordered categories coded as numbers (e.g. a 1-5 "
        "scale): imputed among their observed levels with trial-specific cutpoints",
    )

    @field_validator("m")
    @classmethod
    def _enough(cls, value: int) -> int:
        if value == 1:
            raise ValueError("m must be 0 (no imputation) or at least 2")
        return value

    @property
    def enabled(self) -> bool:
        """Whether the imputed analyses are run (m >= 2)."""
        return self.m >= 2


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
    aggregate: bool = Field(
        default=False,
        description="add the trials of [[aggregate_trials]] and the published effects of "
        "[[not_included]] trials to the overall effects (two-stage and one-stage; a "
        "sensitivity analysis, docs/aggregate.md)",
    )
    level: float = Field(default=0.95, gt=0.5, lt=1)
    counts: Literal["contributing", "model"] = Field(
        default="contributing",
        description="studies/participants per row: those contributing to the treatment "
        "comparison (default), or every trial and participant in the model (the paper's)",
    )
    splines: bool = Field(
        default=True,
        description="non-linear interactions: a restricted cubic spline per continuous "
        "modifier (pain, function: linear mixed models; global recovery: logistic mixed "
        "models; primary window and comparison; Riley et al. 2020)",
    )
    spline_knots: int = Field(default=4, ge=3, le=7, description="knots of the splines")
    prediction: bool = Field(
        default=True,
        description="individual treatment-effect prediction with internal-external "
        "cross-validation (pain, function, global recovery; primary window and comparison)",
    )
    prediction_modifiers: tuple[str, ...] | None = Field(
        default=None,
        description="modifiers of the prediction model (default: the outcome's potentially "
        "important numeric modifiers in the primary window and comparison)",
    )
    credibility: bool = Field(
        default=True,
        description="ICEMAN-style credibility of every potentially important modifier",
    )
    model: ModelOptions = Field(default_factory=ModelOptions)
    importance: ImportanceRules = Field(default_factory=ImportanceRules)
    imputation: ImputationSettings = Field(default_factory=ImputationSettings)

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
    """Type, label and levels of a harmonized variable from the registry."""
    variable = VARIABLES.get(name)
    if variable is None:
        return {}
    entry: dict[str, Any] = {"type": variable.kind, "label": variable.label}
    if variable.kind == "binary" and variable.levels:
        entry["levels"] = tuple(level.capitalize() for level in variable.levels)
    return entry


def plan_from_dict(
    raw: Mapping[str, Any] | AnalysisPlan | None, *, file: Path | None = None
) -> AnalysisPlan:
    """Validate the project file's ``[analysis]`` table into an :class:`AnalysisPlan`.

    An :class:`AnalysisPlan` is checked for consistency and returned as it is.

    Raises
    ------
    SpecError
        For an unknown key (naming the nearest valid one) or an invalid value.
    """
    if isinstance(raw, AnalysisPlan):
        check_plan(raw, file=file)
        return raw
    try:
        plan = AnalysisPlan.model_validate(dict(raw or {}))
    except ValidationError as exc:
        raise spec_error_from_validation(exc, AnalysisPlan, file, prefix=("analysis",)) from None
    check_plan(plan, file=file)
    return plan


def check_plan(
    plan: AnalysisPlan, *, file: Path | None = None, variables: Collection[str] | None = None
) -> None:
    """Checks across fields of the plan; with ``variables`` (the names the data can have:
    the registry plus the project's own), also that every modifier and adjuster is one of them.

    Raises
    ------
    SpecError
        Naming the key, the value and the fix (a misspelt variable suggests the nearest).
    """
    _check_consistency(plan, file)
    if variables is not None:
        check_plan_variables(plan, variables, file=file)


def check_plan_variables(
    plan: AnalysisPlan, variables: Collection[str], *, file: Path | None = None
) -> None:
    """Every modifier and adjuster of ``plan`` must be one of ``variables``.

    Raises
    ------
    SpecError
        Naming the key (``analysis.modifiers`` / ``analysis.adjust_for``), the variable and
        the nearest known one.
    """
    for key, names in (
        ("modifiers", plan.modifiers),
        ("adjust_for", plan.adjust_for),
        ("prediction_modifiers", plan.prediction_modifiers or ()),
    ):
        for name in names:
            if name not in variables:
                guess = nearest(name, variables)
                raise SpecError(
                    f"analysis.{key} names {name!r}, which is not a harmonized variable",
                    file=file,
                    variable=name,
                    hint=(f"did you mean {guess!r}? " if guess else "")
                    + "use a variable of ipdma.spec.VARIABLES or define it under [variables]",
                )


def _check_consistency(plan: AnalysisPlan, file: Path | None) -> None:
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
            suggestion = nearest(name, plan.modifiers)
            raise SpecError(
                f"analysis.modifier.{name} configures a modifier that is not in analysis.modifiers",
                file=file,
                variable=name,
                hint=f"did you mean {suggestion!r}?" if suggestion else "add it to modifiers",
            )
    for name in plan.imputation.ordered:
        if name not in (*plan.modifiers, *plan.adjust_for):
            suggestion = nearest(name, (*plan.modifiers, *plan.adjust_for))
            raise SpecError(
                "analysis.imputation.ordered names a variable that is not a modifier or "
                "adjustment variable of the plan",
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
