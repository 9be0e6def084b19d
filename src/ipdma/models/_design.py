"""Design building for lme4-style formulas: response, fixed and random design matrices.

Rows with a missing value in any model variable are dropped (and counted per trial, with a
DataWarning); the remaining rows are sorted by trial (stable) so that each trial is one
contiguous slice. Simple right-hand sides are built by ``_fastmatrix`` (same output as
formulaic, much faster); everything else goes through formulaic.
"""

from __future__ import annotations

import difflib
import warnings
import weakref
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import DataWarning, FormulaError, InputError, ModelError
from ._fastmatrix import dense, issparse, simple_matrix, simple_variables

if TYPE_CHECKING:  # pragma: no cover
    from scipy.sparse import csc_matrix

    from ._formula import ParsedFormula

__all__ = ["ModelDesign", "build_design", "labels_index"]

_SPARSE_ROWS = 50_000  # above this many rows the fixed design is built sparse


@dataclass(frozen=True)
class ModelDesign:
    """Response, design matrices and grouping of one mixed model, rows sorted by trial.

    Attributes
    ----------
    y : float array (n,); successes for a ``cbind`` response.
    n_trials : float array (n,); binomial size per row (ones otherwise).
    fixed_matrix : the fixed-effects design, dense (n, p) or scipy CSC sparse for large n.
    X : dense (n, p) fixed-effects design (built from ``fixed_matrix`` on first use).
    Z : float array (n, q), the random-effects covariates.
    re_blocks : tuple of index arrays into Z's columns; each block has its own
        unstructured covariance matrix.
    group : int codes 0..K-1 (sorted); ``group_levels`` their trial labels.
    dropped : Series, rows dropped for missing values, per trial.
    source_rows : positions in the input data of the design's rows (after dropping and
        sorting), to align per-row inputs given outside the formula (``offset=``).
    """

    formula: ParsedFormula
    y: np.ndarray
    n_trials: np.ndarray
    fixed_matrix: np.ndarray | csc_matrix
    fixed_names: tuple[str, ...]
    Z: np.ndarray
    random_names: tuple[str, ...]
    re_blocks: tuple[np.ndarray, ...]
    group: np.ndarray
    group_levels: tuple
    group_name: str
    dropped: pd.Series
    response_name: str
    source_rows: np.ndarray | None = None

    @property
    def nobs(self) -> int:
        return int(self.y.shape[0])

    @property
    def ngroups(self) -> int:
        return len(self.group_levels)

    @cached_property
    def X(self) -> np.ndarray:
        fm = self.fixed_matrix
        return np.asarray(dense(fm), dtype=float)

    @cached_property
    def group_starts(self) -> np.ndarray:
        """Row index where each trial starts, plus n at the end (length K + 1)."""
        counts = np.bincount(self.group, minlength=self.ngroups)
        return np.concatenate([[0], np.cumsum(counts)])

    @property
    def group_slices(self) -> tuple[slice, ...]:
        s = self.group_starts
        return tuple(slice(int(a), int(b)) for a, b in pairwise(s))


@lru_cache(maxsize=512)
def _required(rhs: str) -> frozenset[str]:
    """Column names a formulaic right-hand side needs (cached: parsing costs ~1 ms)."""
    simple = simple_variables(rhs)
    if simple is not None:
        return simple
    from formulaic import Formula

    return frozenset(str(v) for v in Formula(rhs).required_variables)


def labels_index(labels: tuple, name: str | None) -> pd.Index:
    """``pd.Index(labels, name=name)``, built once per label set (string inference is the
    slow part); callers take a ``.view()``, whose name can change without touching this.

    The labels' types are part of the key: ``(1, 2)`` and ``(1.0, 2.0)`` are equal tuples
    with equal hashes but make an int and a float index."""
    return _labels_index(labels, tuple(map(type, labels)), name)


@lru_cache(maxsize=256)
def _labels_index(labels: tuple, types: tuple, name: str | None) -> pd.Index:
    return pd.Index(labels, name=name)


def _lme4_name(name: str) -> str:
    return "(Intercept)" if name == "Intercept" else name


def _check_columns(names: set[str], data: pd.DataFrame, formula: str) -> None:
    for name in sorted(names):
        if name not in data.columns:
            close = difflib.get_close_matches(name, [str(c) for c in data.columns], n=3)
            raise FormulaError(
                f"the formula {formula!r} uses column {name!r}, which the data do not have",
                variable=name,
                hint=(f"did you mean {', '.join(map(repr, close))}?" if close else None)
                or f"available columns: {', '.join(map(str, data.columns[:20]))}",
            )


_NUMBER_KINDS = {"integer", "floating", "mixed-integer-float", "decimal", "empty"}


def _coerce_object_numbers(series: dict[str, pd.Series]) -> dict[str, pd.Series]:
    """Object columns holding only numbers and None/NaN (e.g. built from Python lists with
    None for missing) become float columns, as R reads them; returns those columns."""
    coerced = {}
    for name, col in series.items():
        if col.dtype == object and pd.api.types.infer_dtype(col, skipna=True) in _NUMBER_KINDS:
            coerced[name] = pd.to_numeric(col, errors="coerce").astype(float)
    return coerced


_CODED: dict[int, tuple] = {}  # id(pyarrow column) -> (weak reference, codes, levels)


def _code_strings(column: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """``pd.factorize(column, sort=True)`` for a pandas string column (missing: -1; the
    levels as an object array), or None for other dtypes (coded from the NumPy values).

    A pyarrow-backed column is dictionary-encoded by pyarrow directly (what pandas does
    underneath, without its per-call overhead; levels sort by code point as in pandas), and
    remembered while the column lives: pyarrow arrays are immutable (assigning into the
    column gives it a new array), so refitting the same data skips the coding."""
    if not isinstance(column.dtype, pd.StringDtype):
        return None
    if column.dtype.storage == "pyarrow":
        chunked = column.array.__arrow_array__()
        known = _CODED.get(id(chunked))
        if known is not None and known[0]() is chunked:
            return known[1], known[2]
        import pyarrow.compute as pc  # imported already by pandas for this column

        array = chunked.combine_chunks() if chunked.num_chunks != 1 else chunked.chunk(0)
        encoded = pc.dictionary_encode(array)
        dictionary = encoded.dictionary
        order = np.asarray(pc.sort_indices(dictionary), dtype=np.intp)
        rank = np.empty(len(order) + 1, dtype=np.intp)
        rank[order] = np.arange(len(order))
        rank[-1] = -1  # missing
        codes = rank[np.asarray(encoded.indices.fill_null(-1), dtype=np.intp)]
        levels = np.array(dictionary.to_pylist(), dtype=object)[order]
        codes.flags.writeable = levels.flags.writeable = False
        key = id(chunked)

        def forget(_: object, key: int = key) -> None:
            _CODED.pop(key, None)

        _CODED[key] = (weakref.ref(chunked, forget), codes, levels)
        return codes, levels
    codes, levels = pd.factorize(column, sort=True)
    return np.asarray(codes), levels.to_numpy(dtype=object)


def _numeric(col: pd.Series, role: str) -> np.ndarray:
    name = str(col.name)
    if col.dtype == bool:
        return col.to_numpy(dtype=float)
    if not pd.api.types.is_numeric_dtype(col):
        bad = col[pd.to_numeric(col, errors="coerce").isna() & col.notna()]
        row = bad.index[0] if len(bad) else None
        example = f", e.g. {bad.iloc[0]!r} in row {row!r}" if len(bad) else ""
        raise InputError(
            f"the {role} {name!r} is not numeric (dtype {col.dtype}{example})",
            variable=name,
            row=row,
            value=None if row is None else bad.iloc[0],
            hint="recode it as numbers (e.g. 0/1 for a binary outcome) before fitting",
        )
    return col.to_numpy(dtype=float)


def _matrix(rhs: str, frame: pd.DataFrame, sparse: bool, formula: str):
    from formulaic import model_matrix

    try:
        mm = model_matrix(rhs, frame, output="sparse" if sparse else "numpy", na_action="ignore")
    except FormulaError:
        raise
    except Exception as exc:
        raise FormulaError(
            f"cannot build the design for {rhs!r} in {formula!r}: {exc}",
            hint="check that every name is a column and every function exists",
        ) from None
    return mm


def build_design(parsed: ParsedFormula, data: pd.DataFrame) -> ModelDesign:
    """Evaluate a parsed formula on ``data``: drop incomplete rows, sort by trial, build X, Z.

    Raises
    ------
    FormulaError
        A column named in the formula is not in the data; no random-effects term.
    InputError
        The outcome is not numeric; duplicate column names; an infinite value.
    ModelError
        Every row was dropped for missing values, or only one trial is left.
    """
    if not isinstance(data, pd.DataFrame):
        raise InputError(
            f"data must be a pandas DataFrame, not {type(data).__name__}",
            hint="convert it with pandas.DataFrame(...)",
        )
    if not parsed.random:
        raise FormulaError(
            f"the formula {parsed.formula!r} has no random-effects term",
            hint="add e.g. '(1 | trial)'; ipdma.mixed fits mixed models only",
        )
    if len(data) == 0:
        raise InputError(
            "the data have no rows (an empty DataFrame)",
            hint="check the filter or file that produced the data",
        )
    from ._formula import evaluate_expression, expression_columns

    group_name = parsed.group
    assert group_name is not None  # parsed.random is not empty
    response_cols = expression_columns(parsed.response)
    failure_cols = expression_columns(parsed.failures) if parsed.failures else frozenset()
    needed = {group_name} | response_cols | failure_cols
    needed |= _required(parsed.fixed)
    for term in parsed.random:
        needed |= _required(term.expr)
    _check_columns(needed, data, parsed.formula)
    duplicated = (
        []
        if data.columns.is_unique
        else sorted(n for n in needed if int((data.columns == n).sum()) > 1)
    )
    if duplicated:
        raise InputError(
            f"the data have more than one column named {duplicated[0]!r}",
            variable=duplicated[0],
            hint="rename or drop the duplicate columns before fitting",
        )

    series = {name: data[name] for name in sorted(needed)}  # each column looked up once
    coerced = _coerce_object_numbers(series)
    if coerced:
        data = data.assign(**coerced)
        series.update(coerced)
    # a string trial column is coded once by pandas (pyarrow: fast), not as Python objects
    group_coded = _code_strings(series[group_name])
    cols = {
        name: column.to_numpy()
        for name, column in series.items()
        if name != group_name or group_coded is None
    }
    complete = np.ones(len(data), dtype=bool)
    for arr in cols.values():
        complete &= ~pd.isna(arr)
    if group_coded is not None:
        complete &= group_coded[0] >= 0
    for name, arr in cols.items():
        if arr.dtype.kind == "f" and not np.isfinite(arr[complete]).all():
            bad = np.flatnonzero(complete & ~np.isfinite(np.where(complete, arr, 0.0)))[0]
            raise InputError(
                f"column {name!r} has an infinite value",
                variable=name,
                row=data.index[bad],
                value=arr[bad],
                hint="recode it as missing (NaN) or fix the value before fitting",
            )
    if group_coded is None:
        trial_all = cols[group_name]
        has_trial = ~pd.isna(trial_all)
        levels_all = np.sort(pd.unique(trial_all[has_trial]))
    else:
        has_trial = group_coded[0] >= 0
        levels_all = group_coded[1]
    n_drop = int((~complete).sum())
    if n_drop:
        if group_coded is None:
            gone = trial_all[~complete & has_trial]
        else:
            gone = levels_all[group_coded[0][~complete & has_trial]]
        dropped = pd.Series(gone).value_counts().reindex(levels_all, fill_value=0).astype(int)
        n_missing_trial = int((~has_trial).sum())
        if n_missing_trial:
            dropped = pd.concat([dropped, pd.Series({"(missing trial)": n_missing_trial})])
        dropped.index.name = group_name
        dropped.name = "dropped"
    else:
        index = (
            labels_index(tuple(levels_all.tolist()), group_name).view()
            if levels_all.dtype.kind in "OUSbiuf"  # labels that tolist() keeps as they are
            else pd.Index(levels_all, name=group_name)
        )
        dropped = pd.Series(np.zeros(len(levels_all), dtype=np.int64), index=index, name="dropped")
    if not complete.any():
        missing = {k: int(pd.isna(v).sum()) for k, v in cols.items()}
        if group_coded is not None:
            missing[group_name] = int((~has_trial).sum())
        worst = max(missing, key=lambda name: missing[name])
        raise ModelError(
            f"all {len(data)} rows have a missing value in a model variable",
            variable=worst,
            hint=f"{missing[worst]} rows lack {worst!r}; impute it or drop it from the formula",
        )
    if n_drop:
        per = ", ".join(f"{k}: {v}" for k, v in dropped[dropped > 0].items())
        warnings.warn(
            f"{n_drop} of {len(data)} rows dropped for missing values ({per})",
            DataWarning,
            stacklevel=3,
        )
    rows = np.flatnonzero(complete)
    if group_coded is None:
        codes, levels = pd.factorize(trial_all[rows], sort=True)
    else:  # keep the levels present among the complete rows, in the same sorted order
        present = np.zeros(len(levels_all), dtype=bool)
        present[group_coded[0][rows]] = True
        recode = np.cumsum(present) - 1
        codes = recode[group_coded[0][rows]]
        levels = levels_all[present]
    if len(levels) < 2:
        raise ModelError(
            f"the grouping factor {group_name!r} has a single level ({levels[0]!r}) among the "
            "complete rows; random effects by trial need at least two trials",
            variable=group_name,
            trial=str(levels[0]),
            hint="fit a model without random effects for one trial, or add trials",
        )
    if len(codes) > 1 and np.any(codes[1:] < codes[:-1]):
        order = np.argsort(codes, kind="stable")
        rows, codes = rows[order], codes[order]
    sorted_cols = {k: v[rows] for k, v in cols.items()}
    if group_coded is not None:  # object labels (for factor detection and formulaic)
        sorted_cols[group_name] = levels[codes]
    factorized = {group_name: (codes, levels)}
    # pandas categoricals keep their own level order: only formulaic codes them like pandas
    fast_cols = {
        k: v for k, v in sorted_cols.items() if not isinstance(series[k].dtype, pd.CategoricalDtype)
    }

    def column(role: str):
        return lambda name: _numeric(series[name], role)[rows]

    y = np.asarray(evaluate_expression(parsed.response, column("outcome")), dtype=float)
    if parsed.failures:
        failures = evaluate_expression(parsed.failures, column("failure count"))
        n_trials = y + np.asarray(failures, dtype=float)
        for name, values in ((parsed.response, y), (parsed.failures, failures)):
            if not np.isfinite(values).all():
                bad = int(np.flatnonzero(~np.isfinite(values))[0])
                raise InputError(
                    f"cbind() argument {name!r} is not finite (e.g. a division by 0)",
                    variable=name,
                    row=data.index[rows[bad]],
                    hint="compute the counts as columns of the data first",
                )
    else:
        n_trials = np.ones_like(y)

    frame_cache: list[pd.DataFrame] = []

    def build(rhs: str, sparse: bool):
        fast = simple_matrix(rhs, fast_cols, sparse=sparse, factorized=factorized)
        if fast is not None:
            return fast
        if not frame_cache:
            frame_cache.append(data.iloc[rows][sorted(needed)].reset_index(drop=True))
        mm = _matrix(rhs, frame_cache[0], sparse, parsed.formula)
        spec = mm.model_spec
        slices = [(str(t), sl) for t, sl in spec.term_slices.items()]
        return mm, list(spec.column_names), slices

    sparse = len(rows) > _SPARSE_ROWS
    xm, x_names, _ = build(parsed.fixed, sparse)
    fixed_names = tuple(_lme4_name(n) for n in x_names)
    if sparse:
        import scipy.sparse as sp

        fixed_matrix = sp.csc_matrix(xm, dtype=float)
    else:
        fixed_matrix = np.asarray(xm.toarray() if issparse(xm) else xm, dtype=float)

    z_parts, random_names, blocks, start = [], [], [], 0
    for term in parsed.random:
        zm, z_names, z_slices = build(term.expr, False)
        names = [_lme4_name(n) for n in z_names]
        z_parts.append(np.asarray(zm, dtype=float))
        if term.correlated:
            blocks.append(np.arange(start, start + len(names)))
        else:
            for _, sl in z_slices:
                blocks.append(np.arange(start + sl.start, start + sl.stop))
        random_names += names
        start += len(names)
    dup = {n for n in random_names if random_names.count(n) > 1}
    if dup:
        raise FormulaError(
            f"random-effects column(s) {', '.join(sorted(dup))} appear in more than one term",
            hint="list each random effect once (use '0 +' to drop the implied intercept)",
        )
    Z = np.hstack(z_parts) if z_parts else np.zeros((len(rows), 0))
    return ModelDesign(
        formula=parsed,
        y=y,
        n_trials=n_trials,
        fixed_matrix=fixed_matrix,
        fixed_names=fixed_names,
        Z=Z,
        random_names=tuple(random_names),
        re_blocks=tuple(b for b in blocks if len(b)),
        group=codes.astype(np.intp),
        group_levels=tuple(levels.tolist()),
        group_name=group_name,
        dropped=dropped,
        response_name=parsed.response,
        source_rows=rows,
    )
