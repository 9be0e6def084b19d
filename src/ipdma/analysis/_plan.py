"""The analysis plan lives in :mod:`ipdma.spec` (it is the ``[analysis]`` table of the project
file, validated when the project is read); re-exported here, its historical home."""

from ..spec._plan import (
    Adjustment,
    AnalysisPlan,
    ImportanceRules,
    ImputationSettings,
    ModelOptions,
    ModifierSpec,
    ModifierType,
    RandomTerm,
    check_plan,
    plan_from_dict,
)

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
    "plan_from_dict",
]
