"""Pseudo-inverses and ranks of the trials' Gram matrices (stage 1 of :mod:`._twostage`)."""

from __future__ import annotations

import numpy as np
from scipy.linalg import lapack

__all__ = ["pinv_rank", "rank"]

_RANK_TOL = 1e-10  # design ranks: pivots below this share of the largest diagonal are 0
_CERTAIN_CONDITION = 1e8  # a Gram matrix this well conditioned is inverted directly


def pinv_rank(a: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pseudo-inverse and rank of symmetric positive semi-definite matrices (K, p, p) (Gram
    matrices of designs). Rows and columns where ``keep`` (K, p) is False are 0 (unidentified
    columns) and stay 0.

    A matrix whose inverse certifies a condition number below 1e8 (lambda_min >=
    1 / ||A^-1||_F, lambda_max <= ||A||_F; the zero rows and columns set to the identity,
    scaled as the others, for that and back to 0 after) has full rank and is inverted
    directly. The others (exact collinearities: a covariate constant in one arm, a trial with
    one arm) are factored by Cholesky with complete pivoting, stopped at a pivot below 1e-10
    of the largest diagonal entry (:func:`rank`), A = L L' with L of full column rank r, and
    A^+ = L (L'L)^-2 L'. (numpy's ``pinv`` cut-off, 1e-15 of the largest eigenvalue, lies
    below the rounding level of such a Gram matrix, about 1e-15 to 1e-17 here, and inverted
    part of that noise: the estimates along the aliased directions were noise and their
    variances of either sign up to 1e14.)"""
    p = a.shape[-1]
    pinv = np.empty_like(a)
    rank = keep.sum(axis=1)
    diagonal = np.einsum("kjj->kj", a)
    scale = np.where(keep, diagonal, 0.0).sum(axis=1) / np.maximum(rank, 1)
    filled = a + (~keep * scale[:, None])[:, :, None] * np.eye(p)
    try:
        inverse = np.linalg.inv(filled)
    except np.linalg.LinAlgError:
        certain = np.zeros(len(a), dtype=bool)
    else:
        bound = np.linalg.norm(filled, axis=(1, 2)) * np.linalg.norm(inverse, axis=(1, 2))
        certain = np.isfinite(bound) & (bound < _CERTAIN_CONDITION)
        both = keep[:, :, None] & keep[:, None, :]
        pinv[certain] = np.where(both, inverse, 0.0)[certain]
    for index in np.flatnonzero(~certain):
        pinv[index], rank[index] = _pinv_pivoted(a[index])
    return pinv, rank


def _pinv_pivoted(a: np.ndarray) -> tuple[np.ndarray, int]:
    """Pseudo-inverse and rank of one positive semi-definite matrix by pivoted Cholesky."""
    largest = float(np.diagonal(a).max(initial=0.0))
    if largest <= 0:
        return np.zeros_like(a), 0
    factor, pivots, rank, _ = lapack.dpstrf(a, tol=_RANK_TOL * largest)
    lower = np.zeros((len(a), rank))  # A = L L' with L[pivots] = U' (U the first rank rows)
    lower[pivots - 1] = np.triu(factor)[:rank].T
    middle = np.linalg.inv(lower.T @ lower)
    return lower @ (middle @ middle) @ lower.T, int(rank)


def rank(a: np.ndarray) -> np.ndarray:
    """Ranks of symmetric positive semi-definite matrices (..., p, p): Cholesky with complete
    pivoting (LAPACK dpstrf), stopped at a pivot below 1e-10 of the largest diagonal entry,
    some seven times faster than the eigenvalues of ``matrix_rank``. A design of standardized
    columns that is exactly rank deficient (e.g. an arm's treatment products, constant there)
    leaves pivots at rounding level (1e-15 to 1e-13 relative); the tolerance sits well above
    them and well below the smallest eigenvalues of the full-rank designs."""
    flat = a.reshape(-1, *a.shape[-2:])
    ranks = np.zeros(len(flat), dtype=int)
    for index, matrix in enumerate(flat):
        largest = float(np.diagonal(matrix).max(initial=0.0))
        if largest > 0:
            ranks[index] = lapack.dpstrf(matrix, tol=_RANK_TOL * largest)[2]
    return ranks.reshape(a.shape[:-2])
