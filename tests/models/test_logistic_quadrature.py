"""The AGHQ engine itself: quadrature rule, exact gradients, convergence in the nodes."""

from __future__ import annotations

import warnings
from functools import cache
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.tolerances import GLMM_GRADIENT_RTOL, GLMM_QUADRATURE_ATOL

import ipdma
from ipdma.errors import SpecError
from ipdma.models._aghq import BinomialData, evaluate, hermite_grid
from ipdma.models._logistic import DEFAULT_NAGQ

REF = Path(__file__).parents[1] / "reference"
PAPER = "rec ~ 0 + C(trial) + base + treat + (0 + treat | trial)"
TWO = "rec ~ 0 + C(trial) + base + treat + (0 + treat | trial) + (0 + base | trial)"
THREE = (
    "rec ~ 0 + C(trial) + base + treat + x + (0 + treat | trial) + (0 + base | trial)"
    " + (0 + x | trial)"
)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_hermite_grid_integrates_normal_moments(dim):
    nodes, logw = hermite_grid(5, dim)
    w = np.exp(logw)
    assert nodes.shape == (5**dim, dim) and w.sum() == pytest.approx(1.0)
    # E[z1^2 z2^4] etc. of independent standard normals, exact up to degree 9 per axis
    assert np.sum(w * nodes[:, 0] ** 2) == pytest.approx(1.0)
    assert np.sum(w * nodes[:, 0] ** 8) == pytest.approx(105.0)
    if dim > 1:
        assert np.sum(w * nodes[:, 0] ** 2 * nodes[:, 1] ** 4) == pytest.approx(3.0)


def _random_data(q: int, binomial: bool, seed: int) -> BinomialData:
    rng = np.random.default_rng(seed)
    K, per = 5, 30
    n = K * per
    treat = rng.integers(0, 2, n).astype(float)
    base = rng.normal(size=n)
    X = np.column_stack([base, treat, np.ones(n)])
    Z = np.column_stack([treat, base, rng.normal(size=n)])[:, :q]
    size = rng.integers(1, 6, n).astype(float) if binomial else np.ones(n)
    y = rng.binomial(size.astype(int), 0.4).astype(float)
    rows, cols = np.tril_indices(q)
    return BinomialData(
        y, size, X, Z, np.arange(K) * per, np.repeat(np.arange(K), per), 2, rows, cols
    )


@pytest.mark.parametrize("q", [1, 2, 3])
@pytest.mark.parametrize("nagq", [1, 4])
def test_gradient_is_the_exact_derivative(q, nagq):
    """Analytic gradient (with the moving grid) equals central differences, per trial."""
    data = _random_data(q, binomial=q == 2, seed=q * 10 + nagq)
    rng = np.random.default_rng(q)
    nodes, logw = hermite_grid(nagq, q)
    K = data.ntrials
    coef = np.column_stack([np.full(K, 0.3), np.full(K, -0.4), rng.normal(0, 0.3, K)])
    lam = rng.normal(0.6, 0.3, len(data.lam_rows))
    start = np.zeros((K, q))
    grad = evaluate(data, coef, lam, start, nodes, logw).gradient
    h = 1e-6
    for j in range(coef.shape[1] + len(lam)):
        up, down = [coef.copy(), lam.copy()], [coef.copy(), lam.copy()]
        if j < coef.shape[1]:
            up[0][:, j] += h
            down[0][:, j] -= h
        else:
            up[1][j - coef.shape[1]] += h
            down[1][j - coef.shape[1]] -= h
        f_up = evaluate(data, *up, start, nodes, logw, gradient=False).loglik
        f_down = evaluate(data, *down, start, nodes, logw, gradient=False).loglik
        numeric = (f_up - f_down) / (2 * h)
        err = np.abs(numeric - grad[:, j]) / (1 + np.abs(numeric))
        assert np.max(err) < GLMM_GRADIENT_RTOL, (j, np.max(err))


@cache
def loglik(formula: str, data_name: str, nagq: int) -> float:
    data = pd.read_csv(REF / f"glmm_ipd_{data_name}.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return ipdma.mixed(formula, data, family="binomial", nagq=nagq).loglik


def test_default_nagq_is_accurate_on_the_paper_sized_model():
    """7 nodes: the AGHQ log-likelihood is within 1e-6 of 25 nodes (Laplace is 0.05 off)."""
    values = {n: loglik(PAPER, "paper", n) for n in (1, 3, 5, 7, 25)}
    gaps = [abs(values[n] - values[25]) for n in (1, 3, 5, 7)]
    assert gaps[0] > 1e-2  # the Laplace approximation is visibly different
    assert all(a > b for a, b in pairwise(gaps))  # converging
    assert gaps[-1] < GLMM_QUADRATURE_ATOL
    assert gaps[-2] > GLMM_QUADRATURE_ATOL  # 5 nodes would not do: 7 is the smallest odd
    assert DEFAULT_NAGQ[1] == 7
    data = pd.read_csv(REF / "glmm_ipd_paper.csv")
    default = ipdma.mixed(PAPER, data, family="binomial")
    assert default.method == "AGHQ(7)" and default.loglik == pytest.approx(values[7], abs=1e-9)


@pytest.mark.slow
def test_two_random_effects_converge_in_the_nodes():
    """Gaps to 15 nodes shrink; the default (11) is within 1e-6. On this fixture 9 nodes
    already are; on ``xcheck_bin_aghq`` they are 6.3e-6 off the exact integral
    (``test_xcheck_aghq.py``), hence 11."""
    values = {n: loglik(TWO, "two", n) for n in (1, 3, 5, 7, 11, 15)}
    gaps = [abs(values[n] - values[15]) for n in (1, 3, 5, 7, 11)]
    assert all(a > b for a, b in pairwise(gaps))
    assert gaps[-1] < GLMM_QUADRATURE_ATOL / 10 and gaps[-2] > GLMM_QUADRATURE_ATOL
    assert DEFAULT_NAGQ[2] == 11


@pytest.mark.slow
def test_three_random_effects_converge_in_the_nodes():
    """Successive differences shrink; the default (9 nodes) is within 1e-6 of 11, 7 is not."""
    values = {n: loglik(THREE, "two", n) for n in (1, 3, 5, 7, 9, 11)}
    steps = [abs(values[b] - values[a]) for a, b in ((1, 3), (3, 5), (5, 7))]
    assert steps[0] > 0.1 and steps[1] < steps[0] / 10 and steps[2] < steps[1] / 10
    assert abs(values[9] - values[11]) < GLMM_QUADRATURE_ATOL < abs(values[7] - values[11])
    assert steps[2] < 1e-3
    assert DEFAULT_NAGQ[3] == 9


def test_nagq_is_validated():
    data = pd.read_csv(REF / "glmm_ipd_small.csv")
    for bad in (0, -1, 2.5, True):
        with pytest.raises(SpecError, match="nagq"):
            ipdma.mixed(PAPER, data, family="binomial", nagq=bad)
    with pytest.raises(SpecError, match="nodes"):
        ipdma.mixed(THREE, data, family="binomial", nagq=40)


def test_chunked_quadrature_is_identical(monkeypatch):
    """Large rows x nodes problems are summed over blocks of trials: same numbers."""
    import ipdma.models._aghq as aghq

    data = _random_data(2, binomial=True, seed=3)
    nodes, logw = hermite_grid(3, 2)
    K = data.ntrials
    coef = np.column_stack([np.full(K, 0.2), np.full(K, -0.3), np.linspace(-0.5, 0.5, K)])
    lam = np.array([0.5, 0.1, 0.4])
    whole = evaluate(data, coef, lam, np.zeros((K, 2)), nodes, logw)
    monkeypatch.setattr(aghq, "_CELLS", 100)
    assert len(aghq._chunks(np.r_[data.starts, len(data.y)], len(nodes))) == K
    parts = evaluate(data, coef, lam, np.zeros((K, 2)), nodes, logw)
    np.testing.assert_array_equal(whole.loglik, parts.loglik)
    np.testing.assert_allclose(whole.gradient, parts.gradient, rtol=1e-13, atol=1e-13)
