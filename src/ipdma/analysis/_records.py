"""The frozen result record of one model of the analysis grid (:class:`ModelResult`).

One record per grid cell, whatever happened to it: ``status`` says whether it was fitted
(and verified), fitted but not verified (``not converged``), not attempted because fewer
than two trials could contribute (``not estimable``), or failed (``error`` gives why).

The record's tidy frame (:meth:`ModelResult.tidy`, columns :data:`TIDY_COLUMNS`) is the one
source of every estimate, standard error, confidence interval and p-value the tables,
plots and report show. It holds the model's *reported* terms (treatment effect, within-
and across-trial interactions, subgroup effects) on the model scale (mean difference, or
log odds ratio for global recovery), with the inference the record states: ``df_method``
(``"satterthwaite"``: t with lmerTest's Satterthwaite df, linear models; ``"wald"``: z) at
confidence ``level``. These numbers come from :meth:`ipdma.MixedResult.tidy`; nothing
downstream recomputes them.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .._frozen import FrozenFrame
from .._literals import Family, ModelStatus, RecordDfMethod, TermRole
from ..models._convergence import ConvergenceRecord
from ._spec import ModelSpec

__all__ = [
    "TIDY_COLUMNS",
    "TRIAL_COLUMNS",
    "VARCOMP_COLUMNS",
    "ConvergenceRecord",
    "FitOptions",
    "ImputationInfo",
    "ModelResult",
    "TwoStageEstimate",
    "empty_tidy",
    "empty_trials",
    "frame_arrays",
    "no_trials",
    "normal_frame",
]

TIDY_COLUMNS = (
    "term", "role", "level", "studies", "participants", "estimable", "estimate", "se", "df",
    "statistic", "p", "ci_low", "ci_high", "note",
)  # fmt: skip
VARCOMP_COLUMNS = ("group", "term1", "term2", "variance", "sd", "corr")
_FLOATS = ("estimate", "se", "df", "statistic", "p", "ci_low", "ci_high")
TRIAL_COLUMNS = ("trial", "n", "estimate", "ci_low", "ci_high", "used", "reason")


@dataclass(frozen=True)
class FitOptions:
    """Options passed to :func:`ipdma.mixed` (``reml``/``residual``/``ddf`` linear, ``nagq``
    logistic); ``ddf`` is set only for Kenward-Roger or residual df."""

    family: Family
    reml: bool | None = None
    residual: str | None = None
    nagq: int | None = None
    ddf: str | None = None

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`ipdma.mixed`."""
        if self.family == "binomial":
            return {"family": "binomial", "nagq": self.nagq}
        options: dict[str, Any] = {
            "family": "gaussian",
            "reml": self.reml,
            "residual": self.residual,
        }
        if self.ddf is not None:
            options["ddf"] = self.ddf
        return options


@dataclass(frozen=True)
class TwoStageEstimate:
    """The two-stage estimate of a main model's reported term (:func:`ipdma.meta.two_stage`).

    On the reporting scale (mean difference, or odds ratio for global recovery); NaN when
    the two-stage analysis could not be computed. ``left_out``: ``(trial, reason)`` of every
    trial of the model that stage 1 could not use (e.g. separation: the trial's own odds
    ratio is infinite), shown beside the estimate; such a trial is never dropped silently.
    """

    estimate: float
    ci_low: float
    ci_high: float
    p: float
    left_out: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return {**self.__dict__, "left_out": [list(pair) for pair in self.left_out]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TwoStageEstimate:
        """Inverse of :meth:`to_dict` (records stored before ``left_out`` have none)."""
        pairs = tuple((str(t), str(r)) for t, r in data.get("left_out", ()))
        fields = {k: data[k] for k in ("estimate", "ci_low", "ci_high", "p")}
        return cls(**fields, left_out=pairs)

    @property
    def notice(self) -> str:
        """ "trial sept left out: separation (...)" for every trial left out ("" if none)."""
        return "; ".join(f"trial {t} left out: {r}" for t, r in self.left_out)


@dataclass(frozen=True)
class ImputationInfo:
    """A record pooled over ``m`` imputed datasets: the fraction of missing information of
    each term of its tidy frame (in row order; NaN where a term could not be pooled)."""

    m: int
    fmi: tuple[float, ...]


def empty_tidy() -> pd.DataFrame:
    """A tidy frame with no rows and the fixed columns."""
    return pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in TIDY_COLUMNS})


def empty_trials() -> pd.DataFrame:
    """A per-trial effects frame with no rows and :data:`TRIAL_COLUMNS`."""
    dtypes = {"n": "int64", "used": "bool", "trial": "object", "reason": "object"}
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, "float64")) for c in TRIAL_COLUMNS})


def _dtype(column: str) -> str:
    if column in _FLOATS:
        return "float64"
    if column in ("studies", "participants"):
        return "int64"
    return "bool" if column == "estimable" else "object"


@functools.cache
def no_trials() -> FrozenFrame:
    """The read-only per-trial effects frame with no rows, in a record's normal form (one
    instance shared by the records without per-trial effects)."""
    return _normalized(empty_trials(), TRIAL_COLUMNS)


@functools.cache
def _no_varcomp() -> FrozenFrame:
    return _normalized(_empty_varcomp(), VARCOMP_COLUMNS)


@dataclass(frozen=True, eq=False)
class ModelResult:
    """One model of the analysis grid: what was fitted, how, and what it estimated.

    Attributes
    ----------
    spec
        The grid cell (kind, outcome, window, comparison set, modifier, adjustment).
    status
        ``fitted``, ``not converged``, ``not estimable`` or ``failed``.
    formula, options, method
        The model as passed to :func:`ipdma.mixed` and its estimation method ("REML",
        "AGHQ(7)", ...); ``""``/``None`` when no fit was attempted.
    level, df_method
        Confidence level and inference of the tidy frame (``satterthwaite``: t with
        Satterthwaite df; ``wald``: z; logistic models always ``wald``).
    nobs, ngroups, dropped
        Participants and trials in the model, and rows dropped (incomplete data).
    baseline_mean
        Mean baseline value of the outcome in the model's rows (the smallest worthwhile
        effect is a fraction of it).
    reference
        The reference level of a categorical modifier ("" otherwise).
    terms
        The tidy frame (read-only; :meth:`tidy` returns a modifiable copy).
    varcomp
        Variance components (``group, term1, term2, variance, sd, corr``; read-only).
    convergence
        The structured convergence record (None when no fit was made).
    two_stage
        The two-stage estimate of the main models (None otherwise).
    separated
        Trials whose own data separate the outcome of a logistic model (no finite
        estimate of their own; ``ipdma.analysis._separation``): the model's estimates are
        unstable and are marked wherever they are shown.
    trials
        Per-trial treatment effects of the overall models in the primary window (each
        trial's own regression, reporting scale; :data:`TRIAL_COLUMNS`): the one-stage
        forest plots' rows (``ipdma.analysis._forest``); empty for other models.
    notes, warnings, error
        Data-preparation notes, everything warned during the fit, and why it failed.
    """

    spec: ModelSpec
    status: ModelStatus
    level: float
    df_method: RecordDfMethod
    terms: FrozenFrame
    formula: str = ""
    options: FitOptions | None = None
    method: str | None = None
    nobs: int = 0
    ngroups: int = 0
    dropped: int = 0
    baseline_mean: float | None = None
    reference: str = ""
    varcomp: FrozenFrame = field(default_factory=lambda: _no_varcomp())
    convergence: ConvergenceRecord | None = None
    two_stage: TwoStageEstimate | None = None
    trials: FrozenFrame = field(default_factory=lambda: no_trials())
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    error: str | None = None
    imputation: ImputationInfo | None = None
    separated: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if tuple(self.terms.columns) != TIDY_COLUMNS:
            raise ValueError(f"tidy frame columns must be {TIDY_COLUMNS}")
        for name, columns in (
            ("terms", TIDY_COLUMNS), ("varcomp", VARCOMP_COLUMNS), ("trials", TRIAL_COLUMNS)
        ):  # fmt: skip
            frame = getattr(self, name)
            if not isinstance(frame, _NormalFrame):
                object.__setattr__(self, name, _normalized(frame, columns))

    # ------------------------------------------------------------------ accessors
    @property
    def model_id(self) -> str:
        """The grid cell's identifier, e.g. ``interaction/pain/short/any/bmi/adjusted``."""
        return self.spec.id

    @property
    def converged(self) -> bool | None:
        """Whether the optimum was verified (None when no fit was made)."""
        return None if self.convergence is None else self.convergence.converged

    @property
    def singular(self) -> bool | None:
        """A variance component at the boundary (None when no fit was made)."""
        return None if self.convergence is None else self.convergence.singular

    @property
    def message(self) -> str:
        """Plain-language account of the fit (or of why there is none)."""
        if self.convergence is None:
            return self.error or self.status
        return self.convergence.message

    @property
    def tau(self) -> float | None:
        """Between-trial SD of the treatment effect (None when the effect is not random)."""
        for group, term1, term2, _, sd, _ in self.varcomp.to_numpy(dtype=object).tolist():
            if term1 == "treat" and term2 is None and group != "Residual":
                value = float(sd)
                return value if math.isfinite(value) else None
        return None

    def tidy(self) -> pd.DataFrame:
        """The tidy frame of the reported terms (a copy; see :data:`TIDY_COLUMNS`)."""
        return pd.DataFrame(self.terms).copy()

    to_frame = tidy

    def rows(self, role: TermRole) -> list[dict[str, Any]]:
        """The tidy rows of one role (``treatment``, ``interaction``, ``across``,
        ``subgroup``) as dicts, in model order."""
        return [dict(row) for row in self._term_rows if row["role"] == role]

    @cached_property
    def _term_rows(self) -> tuple[Mapping[str, Any], ...]:
        """The tidy rows as read-only mappings (built once: tables read them by the
        thousand)."""
        values = self.terms.to_numpy(dtype=object).tolist()
        return tuple(MappingProxyType(dict(zip(TIDY_COLUMNS, row, strict=True))) for row in values)

    # ------------------------------------------------------------------ storage
    def to_json(self) -> str:
        """The record as JSON (Python's ``Infinity``/``NaN`` tokens for non-finite floats)."""
        spec = self.spec
        data = {
            "spec": {
                "kind": spec.kind,
                "outcome": spec.outcome,
                "window": spec.window,
                "comparison": spec.comparison,
                "modifier": spec.modifier,
                "adjusted": spec.adjusted,
                "imputed": spec.imputed,
            },
            "status": self.status,
            "level": self.level,
            "df_method": self.df_method,
            "formula": self.formula,
            "options": None if self.options is None else self.options.__dict__,
            "method": self.method,
            "nobs": self.nobs,
            "ngroups": self.ngroups,
            "dropped": self.dropped,
            "baseline_mean": self.baseline_mean,
            "reference": self.reference,
            "terms": _frame_json(self.terms, TIDY_COLUMNS),
            "varcomp": _frame_json(self.varcomp, VARCOMP_COLUMNS),
            "convergence": None if self.convergence is None else self.convergence.to_dict(),
            "two_stage": None if self.two_stage is None else self.two_stage.to_dict(),
            "separated": list(self.separated),
            "trials": _frame_json(self.trials, TRIAL_COLUMNS),
            "notes": list(self.notes),
            "warnings": list(self.warnings),
            "error": self.error,
            "imputation": None
            if self.imputation is None
            else {"m": self.imputation.m, "fmi": list(self.imputation.fmi)},
        }
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelResult:
        """Inverse of :meth:`to_json`."""
        data = json.loads(text)
        return cls(
            spec=ModelSpec(**data["spec"]),
            status=data["status"],
            level=float(data["level"]),
            df_method=data["df_method"],
            formula=data["formula"],
            options=None if data["options"] is None else FitOptions(**data["options"]),
            method=data["method"],
            nobs=int(data["nobs"]),
            ngroups=int(data["ngroups"]),
            dropped=int(data["dropped"]),
            baseline_mean=data["baseline_mean"],
            reference=data["reference"],
            terms=_frame_from_json(data["terms"], TIDY_COLUMNS),
            varcomp=_frame_from_json(data["varcomp"], VARCOMP_COLUMNS),
            convergence=None
            if data["convergence"] is None
            else ConvergenceRecord.from_dict(data["convergence"]),
            two_stage=None
            if data["two_stage"] is None
            else TwoStageEstimate.from_dict(data["two_stage"]),
            trials=_frame_from_json(data["trials"], TRIAL_COLUMNS)
            if "trials" in data
            else empty_trials(),
            notes=tuple(data["notes"]),
            warnings=tuple(data["warnings"]),
            error=data["error"],
            imputation=None
            if data.get("imputation") is None
            else ImputationInfo(int(data["imputation"]["m"]), tuple(data["imputation"]["fmi"])),
            separated=tuple(data.get("separated", ())),
        )

    def replace(self, **changes: Any) -> ModelResult:
        """A copy with some fields changed (records are never modified in place)."""
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__}
        fields.update(changes)
        return ModelResult(**fields)

    def summary(self) -> str:
        """Text summary: the model, its status and fit message, and the tidy frame."""
        inference = {
            "satterthwaite": "t (Satterthwaite df)",
            "kenward-roger": "t (Kenward-Roger df and adjusted SEs)",
            "residual": "t (residual df)",
            "barnard-rubin": f"Rubin's rules over {self.imputation.m if self.imputation else 0} "
            "imputations (t, Barnard-Rubin df)",
        }.get(self.df_method, "z")
        lines = [
            f"model: {self.model_id}",
            f"status: {self.status}: {self.message}",
            f"formula: {self.formula or '(none)'}",
            f"method: {self.method or '(none)'}; {self.nobs} participants in "
            f"{self.ngroups} trials; {100 * self.level:g}% CIs and p-values from {inference}",
        ]
        if self.separated:
            lines.append(
                f"separation (unstable estimates) in trial(s): {', '.join(self.separated)}"
            )
        if len(self.terms):
            columns = ["term", "level", "studies", "estimate", "se", "p", "ci_low", "ci_high"]
            table = pd.DataFrame(self.terms)[columns]
            lines += ["", table.to_string(index=False, float_format=lambda v: f"{v:.4g}")]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        import html

        head = "<br>".join(html.escape(line) for line in self.summary().splitlines()[:4])
        return f"<div><b>ipdma ModelResult</b><br>{head}</div>" + pd.DataFrame(self.terms).to_html(
            index=False, na_rep=""
        )

    def __repr__(self) -> str:
        return f"<ModelResult {self.model_id}: {self.status}, {len(self.terms)} terms>"


def _empty_varcomp() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype="float64" if c in ("variance", "sd", "corr") else "object")
         for c in VARCOMP_COLUMNS}
    )  # fmt: skip


def normal_frame(frame: pd.DataFrame | Mapping[str, Any], columns: tuple[str, ...]) -> FrozenFrame:
    """``columns`` of ``frame`` (a frame, or columns by name: arrays or lists) as a record's
    read-only frame in its normal form (:func:`_normalized`); a record built with it does not
    normalize it again."""
    return _normalized(frame, columns)


def _normalized(frame: pd.DataFrame | Mapping[str, Any], columns: tuple[str, ...]) -> _NormalFrame:
    """One dtype per column whatever the frame's origin (a fit, JSON): floats, int64 counts,
    bool, and text from ``str`` values with ``None`` for missing (as pandas stores them).

    Built column by column in NumPy and assembled once: records are created by the thousand
    (a grid, a results store read back), so this must not cost a pandas insert per column.
    """
    data: dict[str, np.ndarray] = {}
    length = 0
    for column in columns:
        raw = frame[column]
        if isinstance(raw, pd.Series):
            values = raw.to_numpy()
        elif isinstance(raw, np.ndarray):
            values = raw
        else:
            values = np.asarray(raw, dtype=object)
        length = len(values)
        if column in _FLOATS or column in ("variance", "sd", "corr"):
            data[column] = _floats(values)
        elif column in ("studies", "participants", "n"):
            counts = _floats(values)
            data[column] = np.where(np.isnan(counts), 0.0, counts).astype("int64")
        elif column in ("estimable", "used"):
            data[column] = np.array([bool(v) for v in values], dtype=bool)
        else:
            text = np.empty(len(values), dtype=object)
            text[:] = [None if _missing(v) else str(v) for v in values]
            data[column] = text
    return _normal_frame_of(data, length)


def _floats(values: np.ndarray) -> np.ndarray:
    """``values`` as float64; text that is not a number becomes NaN (as ``pd.to_numeric``
    with ``errors="coerce"``)."""
    if values.dtype.kind in "fiub":
        return values.astype("float64")
    try:
        return np.asarray(values, dtype="float64")
    except (TypeError, ValueError):
        return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        )


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _cell(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _frame_json(frame: pd.DataFrame, columns: tuple[str, ...]) -> dict[str, list[Any]]:
    same = tuple(frame.columns) == columns  # always, for a record's normalized frames
    values = (frame if same else pd.DataFrame(frame)[list(columns)]).to_numpy(dtype=object)
    return {c: [_cell(v) for v in values[:, j].tolist()] for j, c in enumerate(columns)}


def _frame_from_json(data: Mapping[str, list[Any]], columns: tuple[str, ...]) -> pd.DataFrame:
    return _normalized(data, columns)


class _NormalFrame(FrozenFrame):
    """A read-only frame already in a record's normal form (:func:`_normalized`); records
    built by the thousand (a results store read back) skip normalizing it again. Anything
    derived from it is an ordinary pandas frame. Pickled as its column arrays (records
    travel from the worker processes), unpickled as a normal frame again."""

    _metadata: ClassVar[list[str]] = ["_arrays"]  # the arrays it was built from (read only)
    _arrays: dict[str, np.ndarray]

    def __reduce__(self) -> Any:
        return (_normal_frame_of, (self._arrays, len(self)))


def _normal_frame_of(arrays: dict[str, np.ndarray], length: int) -> _NormalFrame:
    frame = _NormalFrame(arrays, index=pd.RangeIndex(length), copy=False)
    frame._arrays = arrays
    return frame


def frame_arrays(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The columns of a record's frame as NumPy arrays by name (without a pandas step per
    column for a frame in normal form). The arrays must not be modified."""
    if isinstance(frame, _NormalFrame):
        return dict(frame._arrays)
    return {name: frame[name].to_numpy() for name in frame.columns}
