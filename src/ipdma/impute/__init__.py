"""Multilevel multiple imputation of (systematically) missing covariates, and Rubin's rules.

::

    imputation = ipdma.impute.impute(frame, ["bmi", "heavy_demands"], m=20, seed=1)
    completed = imputation.completed(0)          # one completed analysis frame
    pooled = ipdma.impute.rubin_pool(estimates, variances, dfcom=df)

The imputation model has trial-specific parameters (two-stage method: Resche-Rigon & White
2018) and includes the outcomes and their products with the treatment, so treatment-covariate
interactions are not biased towards zero; see :func:`impute`.
"""

from ._chained import Imputation, impute
from ._rubin import RubinPooled, rubin_pool

__all__ = ["Imputation", "RubinPooled", "impute", "rubin_pool"]
