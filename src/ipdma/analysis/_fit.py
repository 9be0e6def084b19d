"""Fit one prepared model with :func:`ipdma.mixed` and reduce it to a :class:`ModelResult`.

A failing model never stops the grid: its record has status ``failed``, carries ``error``
(the reason) and its terms are reported with missing estimates.
"""

from __future__ import annotations

import hashlib
import math
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._frozen import FrozenFrame
from .._literals import DfMethod
from ..models import MixedResult, StartValues
from ._design import PreparedModel, Term
from ._forest import trial_effects, wants_trials
from ._imputed_records import ImputedFit
from ._plan import AnalysisPlan
from ._records import TIDY_COLUMNS, FitOptions, ModelResult, _floats, no_trials, normal_frame
from ._separation import _trial_columns, separated_trials
from ._two_stage import two_stage_record

__all__ = ["FitOutcome", "ImputedOutcome", "fit_imputed", "fit_prepared", "options_of"]


@dataclass(frozen=True)
class FitOutcome:
    """A record and the run facts of its fit (wall and CPU seconds, kept out of the record)."""

    record: ModelResult
    seconds: float
    cpu_seconds: float


@dataclass(frozen=True)
class ImputedOutcome:
    """A fit on one completed dataset: its lean record, the full record when asked for (the
    first completed dataset of each model), and the run facts of the fit."""

    fit: ImputedFit
    record: ModelResult | None
    seconds: float
    cpu_seconds: float


def options_of(prepared: PreparedModel, plan: AnalysisPlan) -> FitOptions:
    """Options passed to :func:`ipdma.mixed` for this model (Kenward-Roger is computed inside
    the fit, from its design, when ``df_method = "kenward-roger"``)."""
    if prepared.family == "binomial":
        return FitOptions("binomial", nagq=plan.model.nagq)
    ddf = plan.model.df_method if plan.model.df_method in ("kenward-roger", "residual") else None
    return FitOptions("gaussian", reml=plan.model.reml, residual=plan.model.residual, ddf=ddf)


def df_method_of(prepared: PreparedModel, plan: AnalysisPlan) -> DfMethod:
    """The inference of the model's tidy frame: for linear models the plan's ``df_method``
    (Satterthwaite, Kenward-Roger with the KR-adjusted SE, residual n - rank(X), or Wald z);
    z for logistic models."""
    if prepared.family == "gaussian":
        return plan.model.df_method
    return "wald"


def _tidy(prepared: PreparedModel, fit: MixedResult | None, plan: AnalysisPlan) -> FrozenFrame:
    """The reported terms with the fit's inference (:meth:`MixedResult.tidy`'s numbers)
    joined on, as the record's read-only tidy frame.

    A term without a positive, finite standard error (no information, e.g. separation)
    keeps its estimate and has no SE, df, CI or p. (Built in one step from its columns,
    already in the record's normal form: the grid makes thousands of these, and a pandas
    step per column cost more than the fit's own inference.)
    """
    terms = prepared.terms
    estimable = np.array([bool(t.estimable) for t in terms], dtype=bool)
    if fit is None:
        values = np.full((len(terms), len(_INFERENCE)), np.nan)
    else:
        # MixedResult.tidy is this frame with the term as a column
        inference = fit._inference(plan.level, df_method_of(prepared, plan))
        values = _term_rows(inference.index, inference.to_numpy(dtype=float), terms)
        values[~estimable] = np.nan
        se = values[:, 1]
        informative = np.isfinite(se) & (se > 0)
        values[~informative, 1:] = np.nan
    columns = {
        "term": [t.column for t in terms],
        "role": [t.role for t in terms],
        "level": [t.level for t in terms],
        "studies": np.array([t.studies for t in terms], dtype="int64"),
        "participants": np.array([t.participants for t in terms], dtype="int64"),
        "estimable": estimable,
        **{column: values[:, j] for j, column in enumerate(_INFERENCE)},
        "note": [t.note for t in terms],
    }
    return normal_frame(columns, TIDY_COLUMNS)


def _term_rows(index: pd.Index, values: np.ndarray, terms: tuple[Term, ...]) -> np.ndarray:
    """The rows of ``values`` (one per coefficient of ``index``) of the reported terms, NaN
    for a term the fit has no coefficient for (as ``reindex``)."""
    position = {name: i for i, name in enumerate(index)}
    out = np.full((len(terms), values.shape[1]), np.nan)
    for row, term in enumerate(terms):
        found = position.get(term.column)
        if found is not None:
            out[row] = values[found]
    return out


_INFERENCE = ("estimate", "se", "df", "statistic", "p", "ci_low", "ci_high")


def _base(prepared: PreparedModel, plan: AnalysisPlan) -> dict:
    return {
        "spec": prepared.spec,
        "level": plan.level,
        "df_method": df_method_of(prepared, plan),
        "formula": prepared.formula,
        "options": options_of(prepared, plan),
        "nobs": len(prepared.data),
        "ngroups": int(prepared.data["trial"].nunique()),
        "dropped": prepared.dropped,
        "baseline_mean": prepared.baseline_mean,
        "reference": prepared.reference,
        "notes": tuple(prepared.notes),
        "separated": _separated(prepared),
    }


_SEPARATION_MEMO: dict[bytes, tuple[str, ...]] = {}  # per process, the latest checks
_SEPARATION_MEMO_SIZE = 512


def _separated(prepared: PreparedModel) -> tuple[str, ...]:
    """:func:`separated_trials`, remembered by its inputs (the outcome, the trials and the
    trial-specific columns): the logistic models of one window, comparison and completed
    dataset differ in the modifier and the adjusters, not in these, so the m x modifiers
    models of a multiply imputed grid share a few dozen checks (a linear programme per
    trial, about 18 ms a model)."""
    if prepared.family != "binomial":
        return ()
    data = prepared.data
    columns = _trial_columns(prepared)
    digest = hashlib.sha256(f"{len(data)}\x1f".encode() + "\x1f".join(columns).encode())
    digest.update("\x1f".join(data["trial"].to_numpy(dtype=str)).encode())
    for name in ("y", *columns):
        digest.update(np.ascontiguousarray(data[name].to_numpy(float)).tobytes())
    key = digest.digest()
    found = _SEPARATION_MEMO.get(key)
    if found is None:
        found = separated_trials(prepared)
        if len(_SEPARATION_MEMO) >= _SEPARATION_MEMO_SIZE:
            del _SEPARATION_MEMO[next(iter(_SEPARATION_MEMO))]
        _SEPARATION_MEMO[key] = found
    return found


def fit_prepared(prepared: PreparedModel, plan: AnalysisPlan) -> FitOutcome:
    """Fit ``prepared``; its record has estimates on the model scale (MD or log-OR).

    The inference is :meth:`ipdma.MixedResult.tidy`'s with the method of
    :func:`df_method_of` (the plan's ``df_method`` for linear models, z for logistic).
    """
    return _fit_prepared(prepared, plan, None)[0]


def _mixed(prepared: PreparedModel, plan: AnalysisPlan, start: StartValues | None) -> MixedResult:
    from ..models import mixed

    options = options_of(prepared, plan).kwargs()
    if start is not None:
        options["start"] = start
    return mixed(prepared.formula, prepared.data, **options)


def warm_start(prepared: PreparedModel, fit: MixedResult | None) -> StartValues | None:
    """Start values for the next completed dataset of the same model: the estimates of this
    fit for linear models (the engine's verification is unchanged: its second start is
    the default one, :mod:`ipdma.models._start`; the optimum equals a cold fit's to about
    1e-12), none for logistic models (measured: a warm logistic fit saves about 3% and its
    verification runs the default start in full anyway)."""
    if fit is None or prepared.family != "gaussian" or not fit.converged:
        return None
    return StartValues.from_result(fit)


def _fit_prepared(
    prepared: PreparedModel, plan: AnalysisPlan, start: StartValues | None
) -> tuple[FitOutcome, MixedResult | None]:
    begin, cpu_start = time.perf_counter(), time.process_time()
    wanted = wants_trials(prepared, plan)
    trials = trial_effects(prepared, plan.level) if wanted else no_trials()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit = _mixed(prepared, plan, start)
    except Exception as exc:  # a failing model is a row with its reason; the grid goes on
        record = ModelResult(
            **_base(prepared, plan),
            status="failed",
            terms=_tidy(prepared, None, plan),
            error=f"{type(exc).__name__}: {exc}".splitlines()[0],
            trials=trials,
        )
        outcome = FitOutcome(record, time.perf_counter() - begin, time.process_time() - cpu_start)
        return outcome, None
    two_stage = two_stage_record(prepared, plan)
    messages = [*fit.warnings, *(str(w.message) for w in caught)]
    base = _base(prepared, plan)
    base["dropped"] = prepared.dropped + int(np.sum(fit.dropped))
    record = ModelResult(
        **base,
        status="fitted" if fit.converged else "not converged",
        terms=_tidy(prepared, fit, plan),
        method=fit.method,
        varcomp=fit.varcomp,
        convergence=fit.diagnostics,
        two_stage=two_stage,
        warnings=tuple(dict.fromkeys(messages)),
        trials=trials,
    )
    seconds = time.perf_counter() - begin
    return FitOutcome(record, seconds, time.process_time() - cpu_start), fit


def fit_imputed(
    prepared: PreparedModel,
    plan: AnalysisPlan,
    *,
    full: bool,
    start: StartValues | None = None,
) -> tuple[ImputedOutcome, StartValues | None]:
    """Fit ``prepared`` (a model on one completed dataset) for pooling: the lean record of
    :class:`ImputedFit` (the same numbers as :func:`fit_prepared`'s record), and with
    ``full`` that full record too.

    Without ``full`` no pandas frame is built: the estimates of the reported terms are the
    fit's coefficients and the SE and df those of :meth:`ipdma.MixedResult.tidy` (its
    ``_se_df``, the one place they are computed), with :func:`_tidy`'s rules for terms
    that are not estimable or have no information.

    ``start``: a warm start (:func:`warm_start` of another completed dataset's fit of the
    same model). Returned with the outcome: without ``start``, the warm start this fit
    gives the model's next fits (with one, None: the batch keeps the first fit's).
    """
    if full:
        outcome, engine_fit = _fit_prepared(prepared, plan, start)
        lean = ImputedFit.of(outcome.record)
        imputed = ImputedOutcome(lean, outcome.record, outcome.seconds, outcome.cpu_seconds)
        return imputed, None if start is not None else warm_start(prepared, engine_fit)
    begin, cpu_start = time.perf_counter(), time.process_time()
    terms = prepared.terms
    studies = np.array([t.studies for t in terms], dtype="int64")
    participants = np.array([t.participants for t in terms], dtype="int64")
    nobs = len(prepared.data)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit = _mixed(prepared, plan, start)
    except Exception as exc:  # a failing model is a row with its reason; the grid goes on
        missing = np.full(len(terms), np.nan)
        lean = ImputedFit("failed", missing, missing, missing, studies, participants,
                          np.empty(0), np.empty(0), nobs,
                          error=f"{type(exc).__name__}: {exc}".splitlines()[0],
                          separated=_separated(prepared))  # fmt: skip
        return ImputedOutcome(lean, None, time.perf_counter() - begin,
                              time.process_time() - cpu_start), None  # fmt: skip
    se_all, df_all = fit._se_df(df_method_of(prepared, plan))  # MixedResult.tidy's SE, df
    values = np.column_stack([fit.fixef.to_numpy(dtype=float), se_all, df_all])
    estimate, se, df = _term_rows(fit.fixef.index, values, terms).T.copy()
    estimable = np.array([bool(t.estimable) for t in terms], dtype=bool)
    estimate[~estimable] = np.nan
    informative = estimable & np.isfinite(se) & (se > 0)
    se[~informative] = np.nan
    df[~informative] = np.nan
    varcomp = fit.varcomp
    messages = [*fit.warnings, *(str(w.message) for w in caught)]
    lean = ImputedFit(
        "fitted" if fit.converged else "not converged",
        estimate,
        se,
        df,
        studies,
        participants,
        _floats(varcomp["variance"].to_numpy()),
        _floats(varcomp["corr"].to_numpy()),
        nobs,
        warnings=tuple(dict.fromkeys(messages)),
        separated=_separated(prepared),
    )
    seconds = time.perf_counter() - begin
    following = None if start is not None else warm_start(prepared, fit)
    return ImputedOutcome(lean, None, seconds, time.process_time() - cpu_start), following


def finite_or_nan(value: float | None) -> float:
    """``value`` as a float, NaN when missing or not finite."""
    if value is None:
        return math.nan
    value = float(value)
    return value if math.isfinite(value) else math.nan
