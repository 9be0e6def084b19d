"""Harmonization: instruments to 0-100, recoding, derived variables, arms, follow-up windows,
global recovery, direct-identifier detection, and the analysis frame."""

from ._combine import combine_trials
from ._comparison import comparison_set
from ._followup import WINDOWS, analysis_frame, choose_windows, followup_table, recovered
from ._identifiers import detect_identifiers
from ._instruments import INSTRUMENTS, Instrument, instrument_registry
from ._trial import USUAL_CATEGORIES, HarmonizedTrial, harmonize_trial
from ._variables import UNITS, VARIABLES, VariableDef, convert_unit, registry_with

__all__ = [
    "INSTRUMENTS",
    "UNITS",
    "USUAL_CATEGORIES",
    "VARIABLES",
    "WINDOWS",
    "HarmonizedTrial",
    "Instrument",
    "VariableDef",
    "analysis_frame",
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
