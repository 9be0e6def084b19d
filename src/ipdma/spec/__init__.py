"""Trial specs and project files: frozen pydantic models read from TOML (see docs/spec.md)."""

from ._errors import nearest
from ._load import file_sha256, load_project, load_trial_spec, read_toml
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

__all__ = [
    "ArmSpec",
    "Check",
    "Effect",
    "InstrumentSpec",
    "NotIncludedArm",
    "NotIncludedTrial",
    "OutcomeSpec",
    "Project",
    "RecoverySettings",
    "Settings",
    "SourceSpec",
    "TrialMeta",
    "TrialSpec",
    "VariableDefSpec",
    "VariableSpec",
    "WindowSetting",
    "code_key",
    "file_sha256",
    "load_project",
    "load_trial_spec",
    "nearest",
    "read_toml",
]
