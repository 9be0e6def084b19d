"""Design columns as per-trial linear combinations of the raw columns of the summaries.

A form maps raw column names (``"1"`` the constant) to per-trial coefficients; a design
column of trial i is ``sum_a form[a][i] r_a``. :meth:`Forms.matrix` turns forms into the
coefficient matrix in the centred basis ``[1, r_1 - m_1, ...]`` of the stacked Gram, so
that the design's cross-products are ``A_i' G_i A_i`` (``_design``).
"""

from __future__ import annotations

import numpy as np

from ._layout import product

__all__ = ["Form", "Forms"]

_VARIES_TOL = 1e-13  # relative within-trial variance below which a column is constant

Form = dict[str, np.ndarray]  # raw column -> coefficient per trial


class Forms:
    """Raw columns' trial means and Gram; forms built on them."""

    def __init__(self, columns: tuple[str, ...], gram: np.ndarray, means: np.ndarray) -> None:
        self.index = {name: j for j, name in enumerate(columns)}
        self.gram, self.means = gram, means
        self.n = gram[:, 0, 0].copy()
        self.K = len(self.n)

    def mean(self, name: str) -> np.ndarray:
        return self.means[:, self.index[name]]

    def count(self, name: str) -> float:
        """Rows in all trials where a 0/1 column is 1."""
        return float(np.sum(self.n * self.mean(name)))

    def varies(self, name: str) -> np.ndarray:
        """Per trial: does the column take more than one value (centred sum of squares)."""
        j = self.index[name]
        m = self.mean(name)
        return self.gram[:, j, j] / self.n > _VARIES_TOL * np.maximum(m * m, 1.0)

    def raw(self, name: str, coef: float | np.ndarray = 1.0) -> Form:
        return {name: np.broadcast_to(np.asarray(coef, dtype=float), (self.K,)).copy()}

    def centred(self, name: str, sign: float = 1.0) -> Form:
        return {name: np.full(self.K, sign), "1": -sign * self.mean(name)}

    def times(self, f: Form, g: Form) -> Form:
        """Product of two forms, each of one raw column (the first ``treat``) plus a constant."""
        (u, a), b = _split(f, self.K)
        (w, c), d = _split(g, self.K)
        out: Form = {}
        for name, coef in ((product(u, w), a * c), (u, a * d), (w, b * c), ("1", b * d)):
            out[name] = out.get(name, 0.0) + coef
        return out

    def scaled(self, f: Form, s: np.ndarray) -> Form:
        return {k: v * s for k, v in f.items()}

    def matrix(self, forms: list[Form]) -> np.ndarray:
        """(K, r, d) coefficients in the centred basis ``[1, r_1 - m_1, ...]`` of ``gram``:
        design column d = sum_a A[:, a, d] r_a becomes sum_a A[a, d] (r_a - m_a) plus
        (A[0, d] + sum_a A[a, d] m_a) 1 (0 for a trial-centred column, up to rounding)."""
        A = np.zeros((self.K, len(self.index), len(forms)))
        for d, form in enumerate(forms):
            for name, coef in form.items():
                A[:, self.index[name], d] += coef
        A[:, 0, :] += np.einsum("ka,kad->kd", self.means[:, 1:], A[:, 1:, :])
        return A


def _split(f: Form, K: int) -> tuple[tuple[str, np.ndarray], np.ndarray]:
    const = f.get("1", np.zeros(K))
    (name, coef), *rest = [(k, v) for k, v in f.items() if k != "1"]
    assert not rest, "forms multiplied here have one raw column"
    return (name, coef), const
