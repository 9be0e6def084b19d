"""A simulated IPD consortium shaped like the paper's 27 trials, with planted truths.

``consortium(outdir, seed=...)`` writes native trial files, one trial spec per trial, the
project file and ``truth.json``; ``harmonized_ipd(seed=...)`` gives the same consortium
directly as an analysis frame (no files); ``default_config()`` returns the configuration (Table 1 trials, Table 3 covariates, the
planted outcome model), every part of which can be changed with ``dataclasses.replace``.
"""

from ._config import (
    ArmConfig,
    BinaryCovariate,
    ConsortiumConfig,
    ContinuousCovariate,
    CovariateConfig,
    OutcomeModel,
    TrialConfig,
    default_config,
)
from ._consortium import SimulatedConsortium, add_implied_truth, consortium
from ._harmonized import harmonized_ipd
from ._study import fit_planted, planted_truth, recovery_study, summarize
from ._truth import implied_recovery, implied_truth

__all__ = [
    "ArmConfig",
    "BinaryCovariate",
    "ConsortiumConfig",
    "ContinuousCovariate",
    "CovariateConfig",
    "OutcomeModel",
    "SimulatedConsortium",
    "TrialConfig",
    "add_implied_truth",
    "consortium",
    "default_config",
    "fit_planted",
    "harmonized_ipd",
    "implied_recovery",
    "implied_truth",
    "planted_truth",
    "recovery_study",
    "summarize",
]
