"""Trial specs, project files and the analysis plan: frozen pydantic models read from TOML
(see docs/spec.md), and the vocabulary of harmonized variables (``VARIABLES``)."""

from ._aggregate import AggregateTrial
from ._errors import nearest, spec_error_from_validation
from ._load import file_sha256, load_project, load_trial_spec, read_toml
from ._modifiers import DEFAULT_MODIFIERS
from ._plan import (
    AnalysisPlan,
    ImportanceRules,
    ModelOptions,
    ModifierSpec,
    check_plan,
    check_plan_variables,
    plan_from_dict,
)
from ._project import (
    NotIncludedArm,
    NotIncludedTrial,
    Project,
    RecoverySettings,
    Settings,
    VariableDefSpec,
    WindowSetting,
)
from ._trial import (
    ArmSpec,
    Check,
    Effect,
    InstrumentSpec,
    OutcomeSpec,
    SourceSpec,
    TrialMeta,
    TrialSpec,
    VariableSpec,
    code_key,
)
from ._variables import UNITS, VARIABLES, VariableDef, convert_unit, registry_with

__all__ = [
    "DEFAULT_MODIFIERS",
    "UNITS",
    "VARIABLES",
    "AggregateTrial",
    "AnalysisPlan",
    "ArmSpec",
    "Check",
    "Effect",
    "ImportanceRules",
    "InstrumentSpec",
    "ModelOptions",
    "ModifierSpec",
    "NotIncludedArm",
    "NotIncludedTrial",
    "OutcomeSpec",
    "Project",
    "RecoverySettings",
    "Settings",
    "SourceSpec",
    "TrialMeta",
    "TrialSpec",
    "VariableDef",
    "VariableDefSpec",
    "VariableSpec",
    "WindowSetting",
    "check_plan",
    "check_plan_variables",
    "code_key",
    "convert_unit",
    "file_sha256",
    "load_project",
    "load_trial_spec",
    "nearest",
    "plan_from_dict",
    "read_toml",
    "registry_with",
    "spec_error_from_validation",
]
