"""The demo consortium split across three sites, and the pooled fit to compare with."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

import ipdma
from ipdma.analysis import AnalysisPlan, prepare
from ipdma.analysis._window import WindowArrays
from ipdma.simulate import harmonized_ipd


def consortium(seed: int = 7) -> pd.DataFrame:
    return harmonized_ipd(seed=seed)


def split(frame: pd.DataFrame, sites: int = 3) -> list[pd.DataFrame]:
    """Trials dealt round-robin to ``sites`` sites (sorted trial ids)."""
    trials = sorted(frame["trial"].unique())
    return [frame[frame["trial"].isin(trials[k::sites])] for k in range(sites)]


def pooled_fit(frame: pd.DataFrame, spec, plan: AnalysisPlan):
    """The grid's own model (``prepare`` + ``ipdma.mixed``) on the pooled rows."""
    prepared = prepare(spec, WindowArrays(frame), plan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ipdma.errors.IpdmaWarning)
        options = {"reml": plan.model.reml, "residual": plan.model.residual}
        return prepared, ipdma.mixed(prepared.formula, prepared.data, **options)


def relative(got, want, atol: float = 0.0) -> float:
    got, want = np.asarray(got, float), np.asarray(want, float)
    return float(np.max(np.abs(got - want) / np.maximum(np.abs(want), atol)))


def pooled_fit_binomial(frame: pd.DataFrame, spec, plan: AnalysisPlan):
    """The grid's logistic model on the pooled rows."""
    prepared = prepare(spec, WindowArrays(frame), plan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ipdma.errors.IpdmaWarning)
        return ipdma.mixed(prepared.formula, prepared.data, family="binomial", nagq=plan.model.nagq)
