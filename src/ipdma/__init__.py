"""ipdma: individual participant data meta-analysis, from raw trial files to the report.

The public API::

    ipdma.mixed(formula, data, *, family="gaussian", reml=True, residual="common", ddf=...)
    ipdma.predict_effect(model, profiles)   # model from ipdma.analysis.fit_effect_model
    ipdma.meta.pool(yi, vi, *, method="REML", hksj=False)
    ipdma.load(path)                 # the harmonized master dataset as DataFrames
    ipdma.simulate.consortium(seed=...)
    ipdma.summaries.summarize(...) / fit_summaries(...)   # federated, exact one-stage fits

Sub-packages are imported lazily so that ``import ipdma`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import (
    ConvergenceWarning,
    IpdmaError,
    SeparationWarning,
    SingularFitWarning,
)

if TYPE_CHECKING:  # pragma: no cover
    from . import analysis, describe, draft, impute, meta, plots, report, simulate, summaries
    from .analysis import predict_effect
    from .models import mixed
    from .store import load

__all__ = [
    "ConvergenceWarning",
    "IpdmaError",
    "SeparationWarning",
    "SingularFitWarning",
    "__version__",
    "analysis",
    "describe",
    "draft",
    "impute",
    "load",
    "meta",
    "mixed",
    "plots",
    "predict_effect",
    "report",
    "simulate",
    "summaries",
]

_LAZY_ATTRS = {
    "mixed": ("ipdma.models", "mixed"),
    "load": ("ipdma.store", "load"),
    "predict_effect": ("ipdma.analysis", "predict_effect"),
}
_LAZY_MODULES = {
    "analysis",
    "describe",
    "draft",
    "impute",
    "meta",
    "plots",
    "report",
    "simulate",
    "summaries",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY_ATTRS:
        module, attr = _LAZY_ATTRS[name]
        return getattr(importlib.import_module(module), attr)
    if name in _LAZY_MODULES:
        return importlib.import_module(f"ipdma.{name}")
    raise AttributeError(f"module 'ipdma' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
