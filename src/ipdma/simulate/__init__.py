"""A simulated IPD consortium shaped like the paper's 27 trials, with planted truths.

``harmonized_ipd(seed=...)`` gives the consortium directly as an analysis frame (no files);
``default_config()`` returns the configuration (Table 1 trials, Table 3 covariates, the
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
from ._harmonized import harmonized_ipd

__all__ = [
    "ArmConfig",
    "BinaryCovariate",
    "ConsortiumConfig",
    "ContinuousCovariate",
    "CovariateConfig",
    "OutcomeModel",
    "TrialConfig",
    "default_config",
    "harmonized_ipd",
]
