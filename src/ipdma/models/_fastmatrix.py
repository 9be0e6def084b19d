"""A fast path for simple design matrices (the common IPD-MA formulas), same output as formulaic.

formulaic is general but costs several milliseconds per matrix, which matters when a
3,500-row model should fit in about 10 ms. Right-hand sides made only of an intercept
marker (``0``, ``1``, ``- 1``), numeric columns, products of numeric columns (``a:b``) and
at most one factor (a string column or ``C(name)``, not inside an interaction) are built
here directly; anything else returns None and goes through formulaic. Column order,
names and factor coding follow formulaic: terms sorted by degree, a factor fully coded
(``C(trial)[t01]``) without an intercept and treatment coded (``C(trial)[T.t02]``, first level
dropped) with one. ``tests/models/test_formula_fastpath.py`` checks both agree.
"""

from __future__ import annotations

import keyword
import re
import sys
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["dense", "issparse", "simple_matrix", "simple_variables"]


def dense(matrix: Any) -> np.ndarray:
    """A scipy sparse matrix as a dense array; anything else through ``np.asarray``.

    (``scipy.sparse.issparse`` is not a type guard, so typed code converts here.)
    """
    return np.asarray(matrix.toarray() if issparse(matrix) else matrix)


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CALL_C = re.compile(r"^C\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$")


def simple_variables(rhs: str) -> frozenset[str] | None:
    """The column names a simple right-hand side uses, or None if it is not simple.

    Simple: terms separated by ``+``, each an intercept marker (``0``, ``1``, ``-1``, a
    trailing ``- 1``), a name, ``C(name)`` or a product of names ``a:b``. Such a formula is
    valid formulaic syntax with these required variables, so neither needs formulaic (whose
    import costs a fresh process a noticeable part of a second).
    """
    text = re.sub(r"\s*-\s*1\s*$", "", rhs.strip())
    if "-" in text:
        return None
    names: set[str] = set()
    for raw in (t.strip() for t in text.split("+")):
        if raw in ("0", "1", "-1"):
            continue
        call = _CALL_C.match(raw)
        parts = [call.group(1)] if call else [p.strip() for p in raw.split(":")]
        if not all(_IDENT.match(p) and not keyword.iskeyword(p) for p in parts):
            return None
        names.update(parts)
    return frozenset(names)


def _is_factor(arr: np.ndarray) -> bool:
    return arr.dtype == object or arr.dtype.kind in "US"


def simple_matrix(
    rhs: str, columns: dict[str, np.ndarray], *, sparse: bool, factorized: dict | None = None
):
    """Return ``(matrix, names, term_slices)`` for a simple ``rhs``, or None.

    ``columns`` maps column names to arrays (rows already filtered and sorted);
    ``factorized`` optionally maps a column name to its ``pd.factorize(..., sort=True)``
    result (the trial column is factorized once already); ``term_slices`` is a list of
    (term, slice) pairs in column order.
    """
    text = rhs.strip()
    intercept = True
    minus_one = re.match(r"^(.*?)\s*-\s*1\s*$", text)
    if minus_one:
        intercept, text = False, minus_one.group(1)
    if "-" in text:
        return None
    terms: list[tuple[int, str, list[str], bool]] = []  # (degree, label, columns, factor)
    for raw in (t.strip() for t in text.split("+")):
        if raw in ("0", "-1"):
            intercept = False
            continue
        if raw == "1":
            continue
        if not raw:
            return None
        call = _CALL_C.match(raw)
        if call:
            name = call.group(1)
            if name not in columns or columns[name].dtype.kind not in "OUSiub":
                return None
            terms.append((1, raw, [name], True))
            continue
        parts = [p.strip() for p in raw.split(":")]
        if not all(_IDENT.match(p) and p in columns for p in parts):
            return None
        if len(parts) == 1:
            arr = columns[parts[0]]
            terms.append((1, raw, parts, _is_factor(arr)))
        elif any(_is_factor(columns[p]) for p in parts):
            return None
        else:
            terms.append((len(parts), ":".join(parts), parts, False))
    labels = [t[1] for t in terms]
    if len(set(labels)) != len(labels) or sum(t[3] for t in terms) > 1:
        return None
    terms.sort(key=lambda t: t[0])  # formulaic orders terms by degree (stable)
    n = len(next(iter(columns.values())))
    blocks: list[Any] = []
    names: list[str] = []
    slices: list[tuple[str, slice]] = []
    if intercept:
        blocks.append(np.ones((n, 1)))
        names.append("Intercept")
        slices.append(("1", slice(0, 1)))
    for _, label, parts, factor in terms:
        start = len(names)
        if factor:
            if factorized and parts[0] in factorized:
                codes, levels = factorized[parts[0]]
            else:
                codes, levels = pd.factorize(columns[parts[0]], sort=True)
            if len(levels) < 1:
                return None
            prefix = label if label.startswith("C(") else parts[0]
            first = 1 if intercept else 0
            lev = [str(v) for v in levels[first:]]
            names += [f"{prefix}[{'T.' if intercept else ''}{v}]" for v in lev]
            keep = codes >= first
            rows, cols = np.flatnonzero(keep), codes[keep] - first
            width = len(levels) - first
            blocks.append(_indicator_csc(rows, cols, n, width) if sparse else (rows, cols, width))
        else:
            col = np.asarray(columns[parts[0]], dtype=float).copy()
            for p in parts[1:]:
                col *= np.asarray(columns[p], dtype=float)
            blocks.append(col[:, None])
            names.append(label)
        slices.append((label, slice(start, len(names))))
    if not names:
        return None
    matrix = _hstack_csc(blocks, n) if sparse else _hstack_dense(blocks, n)
    return matrix, names, slices


def _hstack_dense(blocks: list, n: int) -> np.ndarray:
    """The dense design from indicator blocks ``(rows, cols, width)`` and (n, 1) columns,
    written once into one array (no intermediate blocks)."""
    width = sum(b[2] if isinstance(b, tuple) else 1 for b in blocks)
    indicators = any(isinstance(b, tuple) for b in blocks)
    out = np.zeros((n, width)) if indicators else np.empty((n, width))
    at = 0
    for block in blocks:
        if isinstance(block, tuple):
            rows, cols, w = block
            out[rows, at + cols] = 1.0
            at += w
        else:
            out[:, at] = block[:, 0]
            at += 1
    return out


def _indicator_csc(rows: np.ndarray, cols: np.ndarray, n: int, width: int):
    """CSC parts (data, indices, indptr) of the 0/1 matrix with ones at (rows, cols); rows
    ascending within each column, as scipy's COO-to-CSC conversion leaves them."""
    order = np.argsort(cols, kind="stable") if np.any(np.diff(cols) < 0) else None
    indices = rows if order is None else rows[order]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(cols, minlength=width))])
    return np.ones(len(indices)), indices, indptr, width


def _hstack_csc(blocks: list, n: int):
    """One CSC matrix (scipy) from indicator parts and dense (n, 1) columns, built directly:
    explicit zeros are left out, as ``scipy.sparse.csc_matrix(dense)`` does."""
    import scipy.sparse as sp

    index_type = np.int32 if 2 * n < np.iinfo(np.int32).max else np.int64
    parts = []
    for block in blocks:
        if isinstance(block, tuple):
            parts.append(block)
        else:
            col = np.asarray(block, dtype=float)[:, 0]
            if col.all():  # no zeros: every row
                parts.append((col, None, np.array([0, n]), 1))
            else:
                rows = np.flatnonzero(col)
                parts.append((col[rows], rows, np.array([0, len(rows)]), 1))
    nnz = sum(int(part[2][-1]) for part in parts)
    width = sum(part[3] for part in parts)
    data = np.empty(nnz)
    indices = np.empty(nnz, dtype=index_type)
    indptr = np.empty(width + 1, dtype=index_type)
    indptr[0] = at = col_at = 0
    for values, rows, ptr, w in parts:
        size = int(ptr[-1])
        data[at : at + size] = values
        indices[at : at + size] = np.arange(n) if rows is None else rows
        indptr[col_at + 1 : col_at + w + 1] = ptr[1:] + at
        at += size
        col_at += w
    return sp.csc_matrix((data, indices, indptr), shape=(n, width))


def issparse(x) -> bool:
    """True for a scipy sparse matrix, found without importing scipy.sparse (whose import
    costs a fresh process a noticeable part of a second): before it is imported, nothing
    is sparse."""
    module = sys.modules.get("scipy.sparse")
    return module is not None and bool(module.issparse(x))
