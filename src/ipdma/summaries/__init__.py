"""Exact one-stage IPD meta-analysis without pooling the data: per-trial summaries.

The linear mixed model needs only each trial's cross-products and size (``ipdma.models``'
``fit_crossproducts``). A site computes them where its data live (``summarize``: DuckDB by
default, Spark via ibis), applies disclosure control and writes a hashed file with a
manifest (``write_summaries``); the coordinator verifies the files and fits the plan's
linear models from them (``fit_summaries``), with the same estimates as the pooled fit.
See ``docs/federated.md``.
"""

from ._binomial import FederatedFit, fit_federated_binomial
from ._binomial_site import BinomialSite
from ._binomial_spark import SparkBinomialSite
from ._coordinate import FederatedResults, fit_summaries
from ._disclosure import DEFAULT_MIN_CELL, DisclosureRules
from ._file import (
    FORMAT,
    ModelSummary,
    NotSummarised,
    SiteSummaries,
    Withheld,
    read_summaries,
    write_summaries,
)
from ._site import summarize
from ._transport import FolderTransport, InProcessTransport, Transport, serve_folder

__all__ = [
    "DEFAULT_MIN_CELL",
    "FORMAT",
    "BinomialSite",
    "DisclosureRules",
    "FederatedFit",
    "FederatedResults",
    "FolderTransport",
    "InProcessTransport",
    "ModelSummary",
    "NotSummarised",
    "SiteSummaries",
    "SparkBinomialSite",
    "Transport",
    "Withheld",
    "fit_federated_binomial",
    "fit_summaries",
    "read_summaries",
    "serve_folder",
    "summarize",
    "write_summaries",
]
