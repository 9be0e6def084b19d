"""The analytic gradient and Hessian of the AGHQ log-likelihood against central differences.

``_aghq.evaluate`` returns, per trial, the exact first and second derivatives of
``log Q_i`` with respect to every coefficient and every free entry of ``L``, including the
movement of the adaptive grid (mode and Cholesky factor). Here they are compared with
central differences of the log-likelihood itself at a point that is not an optimum, with
several correlated random effects (``L`` full lower triangular, its diagonal far from 0),
binomial counts with sizes above 1 and Poisson counts with an offset.
"""

from __future__ import annotations

import numpy as np
import pytest
from tests.tolerances import GLMM_GRADIENT_RTOL, GLMM_HESSIAN_RTOL

from ipdma.models._aghq import BinomialData, evaluate, hermite_grid
from ipdma.models._family import BINOMIAL, POISSON


def _data(q: int, family, seed: int) -> BinomialData:
    rng = np.random.default_rng(seed)
    K, per = 4, 40
    n = K * per
    treat = rng.integers(0, 2, n).astype(float)
    base = rng.normal(size=n)
    X = np.column_stack([base, treat, np.ones(n)])
    Z = np.column_stack([np.ones(n), treat, base])[:, 3 - q :]
    if family is POISSON:
        size = np.ones(n)
        y = rng.poisson(np.exp(0.3 + 0.4 * treat)).astype(float)
        offset = rng.uniform(-0.5, 0.5, n)
    else:
        size = rng.integers(1, 5, n).astype(float)
        y = rng.binomial(size.astype(int), 0.4).astype(float)
        offset = None
    rows, cols = np.tril_indices(q)
    return BinomialData(
        y, size, X, Z, np.arange(K) * per, np.repeat(np.arange(K), per), 2, rows, cols,
        family=family, offset=offset,
    )  # fmt: skip


def _point(data: BinomialData, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    K = data.ntrials
    coef = np.column_stack([np.full(K, 0.25), np.full(K, -0.35), rng.normal(0, 0.3, K)])
    L = np.zeros((data.q, data.q))
    L[data.lam_rows, data.lam_cols] = rng.normal(0.0, 0.15, len(data.lam_rows))
    L[np.diag_indices(data.q)] = rng.uniform(0.4, 0.8, data.q)  # boundary not hit
    return coef, L[data.lam_rows, data.lam_cols]


@pytest.mark.parametrize("family", [BINOMIAL, POISSON], ids=["binomial", "poisson"])
@pytest.mark.parametrize(("q", "nagq"), [(2, 1), (2, 5), (3, 3)])
def test_gradient_and_hessian_are_the_derivatives(family, q, nagq):
    """Per trial: gradient vs first and Hessian vs second central differences of log Q."""
    data = _data(q, family, seed=10 * q + nagq)
    coef, lam = _point(data, seed=q)
    nodes, logw = hermite_grid(nagq, q)
    start = np.zeros((data.ntrials, q))
    ev = evaluate(data, coef, lam, start, nodes, logw, hessian=True)
    x0 = np.concatenate([coef.T.ravel(), lam])  # per-trial coefficients, then L
    P = coef.shape[1] + len(lam)

    def loglik(shift: np.ndarray) -> np.ndarray:
        """Per-trial log Q with the same shift of parameter j in every trial."""
        c = coef + shift[: coef.shape[1]]
        return evaluate(data, c, lam + shift[coef.shape[1] :], start, nodes, logw,
                        gradient=False).loglik  # fmt: skip

    assert len(x0) > 0 and ev.gradient is not None and ev.hessian is not None
    h = 1e-4
    eye = np.eye(P) * h
    f0 = loglik(np.zeros(P))
    for i in range(P):
        f_up, f_down = loglik(eye[i]), loglik(-eye[i])
        numeric = (f_up - f_down) / (2 * h)
        err = np.abs(numeric - ev.gradient[:, i]) / (1 + np.abs(numeric))
        assert np.max(err) < 100 * GLMM_GRADIENT_RTOL, (i, np.max(err))  # O(h^2) steps
        second = (f_up - 2 * f0 + f_down) / h**2
        err = np.abs(second - ev.hessian[:, i, i]) / (1 + np.abs(second))
        assert np.max(err) < GLMM_HESSIAN_RTOL, (i, i, np.max(err))
        for j in range(i):
            cross = (
                loglik(eye[i] + eye[j]) - loglik(eye[i] - eye[j])
                - loglik(eye[j] - eye[i]) + loglik(-eye[i] - eye[j])
            ) / (4 * h**2)  # fmt: skip
            err = np.abs(cross - ev.hessian[:, i, j]) / (1 + np.abs(cross))
            assert np.max(err) < GLMM_HESSIAN_RTOL, (i, j, np.max(err))
    np.testing.assert_array_equal(ev.hessian, np.swapaxes(ev.hessian, 1, 2))


def test_hessian_matches_differences_of_the_exact_gradient():
    """A tighter check of the same: the Hessian against central differences (step 1e-6) of
    the analytic gradient, two correlated random effects, seven nodes per dimension."""
    data = _data(2, BINOMIAL, seed=7)
    coef, lam = _point(data, seed=3)
    nodes, logw = hermite_grid(7, 2)
    start = np.zeros((data.ntrials, 2))
    ev = evaluate(data, coef, lam, start, nodes, logw, hessian=True)
    h, p = 1e-6, coef.shape[1]
    for j in range(p + len(lam)):
        up, down = [coef.copy(), lam.copy()], [coef.copy(), lam.copy()]
        target = 0 if j < p else 1
        index = (slice(None), j) if j < p else j - p
        up[target][index] += h
        down[target][index] -= h
        g_up = evaluate(data, *up, start, nodes, logw).gradient
        g_down = evaluate(data, *down, start, nodes, logw).gradient
        numeric = (g_up - g_down) / (2 * h)
        err = np.abs(numeric - ev.hessian[:, :, j]) / (1 + np.abs(numeric))
        assert np.max(err) < GLMM_GRADIENT_RTOL, (j, np.max(err))
