"""The imputation engine's fast numerics against plain references: Paule-Mandel by safeguarded
Newton steps against a bracketing root finder, the Gram matrices' pseudo-inverse and ranks
against numpy's eigenvalue-based ones, the stage-1 least squares on stacked rows against a
per-trial least-squares fit, and the warm-started logistic fits against cold starts (the same
optimum)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from ipdma.impute._linalg import pinv_rank, rank
from ipdma.impute._pooled import joint_logistic
from ipdma.impute._rows import _UNIDENTIFIED, FitCache, TrialLayout
from ipdma.impute._stage2 import _paule_mandel
from ipdma.impute._twostage import _logistic, fit_trials

REFERENCE = Path(__file__).parents[1] / "reference"


def _pm_reference(b: np.ndarray, v: np.ndarray) -> float:
    """Paule-Mandel tau^2 of one coefficient by Brent's method on Q(tau^2) - (K - 1)."""

    def excess(tau2: float) -> float:
        w = 1 / (v + tau2)
        mean = (w * b).sum() / w.sum()
        return float((w * (b - mean) ** 2).sum() - (len(b) - 1))

    if len(b) < 2 or excess(0.0) <= 0:
        return 0.0
    top = (b.max() - b.min()) ** 2 + 1e-12
    return float(optimize.brentq(excess, 0.0, top, xtol=1e-300, rtol=1e-15, maxiter=500))


def test_paule_mandel_newton_finds_the_root_of_random_problems() -> None:
    rng = np.random.default_rng(20261130)
    for _ in range(300):
        trials = int(rng.integers(1, 25))
        v = rng.exponential(1, (trials, 4)) * 10 ** rng.uniform(-3, 2, (trials, 4))
        b = rng.normal(0, rng.exponential(1), (trials, 4)) * 10 ** rng.uniform(-2, 1)
        v[rng.random((trials, 4)) < 0.2] = _UNIDENTIFIED  # trials without information
        tau2, count = _paule_mandel(b, v)
        for j in range(4):
            seen = v[:, j] < _UNIDENTIFIED / 10
            assert count[j] == seen.sum()
            expected = _pm_reference(b[seen, j], v[seen, j])
            np.testing.assert_allclose(tau2[j], expected, rtol=1e-10, atol=1e-300)


def _design(rng: np.random.Generator, rows: int, columns: int) -> np.ndarray:
    x = np.column_stack([np.ones(rows), rng.standard_normal((rows, columns - 1))])
    return (x - np.r_[0, x[:, 1:].mean(axis=0)]) / np.r_[1, x[:, 1:].std(axis=0)]


def test_pseudo_inverse_and_rank_agree_with_numpy() -> None:
    rng = np.random.default_rng(7)
    grams, keep = [], []
    for case in range(8):
        x = _design(rng, 40, 9)
        kept = np.ones(9, dtype=bool)
        if case % 4 == 1:  # exact collinearity: a column twice (scaled), another a sum
            x[:, 5] = 2 * x[:, 2]
            x[:, 7] = x[:, 3] + x[:, 4]
        if case % 4 == 2:  # unidentified columns, set to 0 by the caller
            kept[[3, 8]] = False
            x[:, ~kept] = 0.0
        if case % 4 == 3:  # one arm only: the treatment products are the covariates again
            x[:, 5:] = 3.0 * x[:, 1:5] - 1.0
        grams.append(x.T @ x)
        keep.append(kept)
    pinv, ranks = pinv_rank(np.array(grams), np.array(keep))
    for gram, got, got_rank in zip(grams, pinv, ranks, strict=True):
        expected = np.linalg.pinv(gram, hermitian=True, rcond=1e-10)
        np.testing.assert_allclose(got, expected, atol=1e-10 * np.abs(expected).max())
        assert got_rank == np.linalg.matrix_rank(gram, hermitian=True)
    np.testing.assert_array_equal(
        rank(np.array(grams)), np.linalg.matrix_rank(np.array(grams), hermitian=True)
    )
    assert rank(np.zeros((1, 3, 3)))[0] == 0


def test_stage_one_least_squares_on_stacked_rows_matches_a_per_trial_fit() -> None:
    rng = np.random.default_rng(3)
    sizes = [30, 45, 25, 38]
    trial = np.repeat(np.arange(4), sizes)
    arm = np.concatenate([rng.permutation(np.arange(n) % 2) for n in sizes])
    arm[trial == 2] = 1  # a trial with one arm observed: its design is rank deficient
    w = rng.standard_normal((len(trial), 3))
    x = np.column_stack([np.ones(len(trial)), arm, w, arm[:, None] * w])
    x[:, 1:] = (x[:, 1:] - x[:, 1:].mean(axis=0)) / x[:, 1:].std(axis=0)
    z = x @ rng.standard_normal(8) + rng.normal(0, 1 + arm, len(trial))
    z[rng.random(len(trial)) < 0.15] = np.nan
    layout = TrialLayout.of(trial, 4)
    models = fit_trials(x, z, layout, "continuous", 12, arm)
    for k in range(4):
        rows = (trial == k) & ~np.isnan(z)
        xk, zk = x[rows], z[rows]
        keep = np.ptp(xk, axis=0) > 1e-12
        keep[0] = True
        coef = np.linalg.pinv(xk[:, keep], rcond=1e-8) @ zk
        np.testing.assert_allclose(models.estimates[k, keep], coef, rtol=1e-8, atol=1e-10)
        for a in (0, 1):
            in_arm = arm[rows] == a
            if not in_arm.any():
                assert np.isnan(models.residual[k, a]) and models.df[k, a] == 0
                continue
            rss = ((zk - xk[:, keep] @ coef)[in_arm] ** 2).sum()
            np.testing.assert_allclose(models.residual[k, a], rss, rtol=1e-8)
            dof = in_arm.sum() - np.linalg.matrix_rank(xk[in_arm])
            assert models.df[k, a] == dof


def _glm_fixture() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    d = pd.read_csv(REFERENCE / "impute_joint_logistic.csv")
    trial = d["trial"].to_numpy() - 1
    x = np.column_stack([np.ones(len(d)), d["T"], d["x1"], d["x2"], d["T"] * d["x1"]])
    return x, d["z"].to_numpy(float), trial, d["T"].to_numpy()


def test_warm_started_one_stage_fit_reaches_the_same_optimum() -> None:
    x, z, trial, _ = _glm_fixture()
    layout = TrialLayout.of(trial, int(trial.max()) + 1)
    use = layout.mask
    xw = np.where(use[:, :, None], x[layout.slot], 0.0)
    z3 = np.where(use, z[layout.slot], 0.0)
    free = np.array([True, True, False, False, False])
    precision = np.full(5, 1 / 25)
    cold = joint_logistic(xw, z3, use, free, precision)
    start = cold[0] + np.random.default_rng(1).normal(0, 0.5, cold[0].shape)
    start[:, 2:] = start[0, 2:]  # the common slopes are one set
    warm = joint_logistic(xw, z3, use, free, precision, start)
    for got, expected in zip(warm, cold, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)
    # the same fit from a start far away (step halving keeps it on course)
    far = joint_logistic(xw, z3, use, free, precision, start * 10)
    np.testing.assert_allclose(far[0], cold[0], rtol=1e-6, atol=1e-8)
    expected = json.loads((REFERENCE / "impute_joint_logistic.json").read_text("utf-8"))
    assert len(expected["intercepts"]) == cold[0].shape[0]


@pytest.mark.parametrize("random_slopes", [False, True])
def test_fit_cache_keeps_the_rows_and_starts_at_the_last_estimates(random_slopes: bool) -> None:
    x, z, trial, treat = _glm_fixture()
    layout = TrialLayout.of(trial, int(trial.max()) + 1)
    random = None if random_slopes else np.array([True, True, False, False, False])
    fresh = fit_trials(x, z, layout, "binary", 8, treat, random)
    cache = FitCache()
    first = fit_trials(x, z, layout, "binary", 8, treat, random, cache)
    assert cache.rows is not None and cache.start is not None
    np.testing.assert_array_equal(cache.start, first.estimates)
    cache.start = cache.start + 0.3  # a previous sweep's estimates, not the optimum
    again = fit_trials(x, z, layout, "binary", 8, treat, random, cache)
    for got in (first, again):
        np.testing.assert_allclose(got.estimates, fresh.estimates, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(got.covariances, fresh.covariances, rtol=1e-5, atol=1e-8)


def test_trial_logistic_fit_from_a_warm_start_reaches_the_same_optimum() -> None:
    x, z, trial, _ = _glm_fixture()
    layout = TrialLayout.of(trial, int(trial.max()) + 1)
    use = layout.mask
    xw = np.where(use[:, :, None], x[layout.slot], 0.0)
    z3 = np.where(use, z[layout.slot], 0.0)
    cold, cold_cov = _logistic(xw, z3, use)
    warm, warm_cov = _logistic(xw, z3, use, cold - 1.0)
    np.testing.assert_allclose(warm, cold, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(warm_cov, cold_cov, rtol=1e-5, atol=1e-10)
