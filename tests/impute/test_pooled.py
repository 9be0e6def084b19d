"""The binary imputation model with common slopes, fitted in one stage over the trials
(ipdma.impute._pooled): against R's glm (tests/reference/impute_joint_logistic.R), and the
Laplace posterior of a trial's own coefficients."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ipdma.impute._pooled import joint_logistic, posterior_free
from ipdma.impute._twostage import TrialLayout, fit_trials

from ..tolerances import MI_JOINT_LOGISTIC_RTOL

REFERENCE = Path(__file__).parents[1] / "reference"
FREE = np.array([True, True, False, False, False])  # intercept and T by trial; slopes common


def _padded() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = pd.read_csv(REFERENCE / "impute_joint_logistic.csv")
    trial = d["trial"].to_numpy() - 1
    x = np.column_stack([np.ones(len(d)), d["T"], d["x1"], d["x2"], d["T"] * d["x1"]])
    layout = TrialLayout.of(trial, int(trial.max()) + 1)
    use = layout.mask
    return np.where(use[:, :, None], x[layout.slot], 0.0), d["z"].to_numpy(float)[layout.slot], use


def test_one_stage_fit_matches_glm() -> None:
    expected = json.loads((REFERENCE / "impute_joint_logistic.json").read_text("utf-8"))
    xw, z3, use = _padded()
    no_prior = np.full(5, 1e-14)  # the weak prior off: maximum likelihood, as glm
    coef, cov_free, shift, common_cov = joint_logistic(xw, z3, use, FREE, no_prior)
    rtol = MI_JOINT_LOGISTIC_RTOL
    np.testing.assert_allclose(coef[:, 0], expected["intercepts"], rtol=rtol)
    np.testing.assert_allclose(coef[:, 1], expected["treatment"], rtol=rtol)
    for row in coef[:, 2:]:  # the common slopes, the same in every trial
        np.testing.assert_allclose(row, expected["common"], rtol=rtol)
    # the covariance of the common slopes with the trials' own coefficients profiled out (the
    # Schur complement) is glm's covariance block of the common slopes
    np.testing.assert_allclose(common_cov, np.array(expected["common_cov"]), rtol=rtol)
    assert cov_free.shape == (7, 2, 2) and shift.shape == (7, 2, 3)


def test_shift_follows_the_trial_coefficients_when_the_slopes_move() -> None:
    xw, z3, use = _padded()
    coef, _, shift, _ = joint_logistic(xw, z3, use, FREE, np.full(5, 1 / 25))
    moved = coef[0, 2:] + np.array([0.05, -0.03, 0.02])
    # each trial's own coefficients maximizing its likelihood at the moved slopes
    mode, _ = posterior_free(xw, z3, use, FREE, moved, np.zeros(2), np.full(2, 25.0),
                             coef[:, :2])  # fmt: skip
    linear = coef[:, :2] + np.einsum("kfc,c->kf", shift, moved - coef[0, 2:])
    np.testing.assert_allclose(linear, mode, atol=2e-3)  # first order in a 0.06 move


def test_laplace_posterior_keeps_a_trial_with_a_single_category() -> None:
    """A trial whose participants are all 1 keeps near-certain 1s: its posterior given the
    between-trial distribution sits well above the mean (a normal approximation at its own,
    prior-bounded estimate would pull it to the mean)."""
    xw, z3, use = _padded()
    z3 = z3.copy()
    z3[0] = np.where(use[0], 1.0, 0.0)
    coef, _, _, _ = joint_logistic(xw, z3, use, FREE, np.full(5, 1 / 25))
    mean = coef[1:, :2].mean(axis=0)
    mode, cov = posterior_free(xw, z3, use, FREE, coef[0, 2:], mean, np.array([1.0, 0.1]),
                               coef[:, :2])  # fmt: skip
    assert mode[0, 0] > mean[0] + 2.0
    assert (np.linalg.eigvalsh(cov) > 0).all()


def test_fit_trials_uses_the_one_stage_fit_for_common_slopes() -> None:
    d = pd.read_csv(REFERENCE / "impute_joint_logistic.csv")
    trial = d["trial"].to_numpy() - 1
    x = np.column_stack([np.ones(len(d)), d["T"], d["x1"], d["x2"], d["T"] * d["x1"]])
    layout = TrialLayout.of(trial, 8)  # an eighth trial with no participants: not fitted
    models = fit_trials(x, d["z"].to_numpy(float), layout, "binary", 8, d["T"].to_numpy(), FREE)
    assert models.common is not None and list(models.observed) == [True] * 7 + [False]
    assert np.ptp(models.estimates[:7, 2:], axis=0).max() == 0.0  # one set of slopes
    two_stage = fit_trials(x, d["z"].to_numpy(float), layout, "binary", 8, d["T"].to_numpy())
    assert two_stage.common is None
