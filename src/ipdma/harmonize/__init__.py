"""Harmonization: instruments to 0-100, recoding, derived variables, arms, follow-up windows,
global recovery and direct-identifier detection.

The variable vocabulary (``VARIABLES``, ``UNITS``, ``VariableDef``) lives in :mod:`ipdma.spec`
and the analysis frame in :mod:`ipdma.store` (``ipdma.store.analysis_frame``); both are
re-exported here for compatibility. Harmonization never imports the store: data flow one way.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

from ..spec import UNITS, VARIABLES, VariableDef, convert_unit, registry_with
from ._combine import combine_trials
from ._comparison import comparison_set
from ._followup import WINDOWS, choose_windows, followup_table, recovered
from ._identifiers import detect_identifiers
from ._instruments import INSTRUMENTS, Instrument, instrument_registry
from ._trial import USUAL_CATEGORIES, HarmonizedTrial, harmonize_trial

__all__ = [
    "INSTRUMENTS",
    "UNITS",
    "USUAL_CATEGORIES",
    "VARIABLES",
    "WINDOWS",
    "HarmonizedTrial",
    "Instrument",
    "VariableDef",
    "choose_windows",
    "combine_trials",
    "comparison_set",
    "convert_unit",
    "detect_identifiers",
    "followup_table",
    "harmonize_trial",
    "instrument_registry",
    "recovered",
    "registry_with",
]


def __getattr__(name: str) -> Any:
    """``ipdma.harmonize.analysis_frame`` moved to ``ipdma.store.analysis_frame``."""
    if name == "analysis_frame":
        warnings.warn(
            "ipdma.harmonize.analysis_frame moved to ipdma.store.analysis_frame",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module("ipdma.store").analysis_frame
    raise AttributeError(f"module 'ipdma.harmonize' has no attribute {name!r}")
