"""Multilevel multiple imputation: determinism, trial-specific distributions, the planted
interaction recovered, and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import ipdma
from ipdma.errors import ConvergenceWarning, DataWarning, InputError, ModelError
from ipdma.impute import impute, rubin_pool
from ipdma.impute._chained import _rhat


def _consortium(seed: int, *, trials: int = 16, interaction: float = -6.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for k in range(trials):
        n = 120
        treat = rng.permutation(np.arange(n) % 2).astype(float)
        prevalence = 0.15 if k % 2 else 0.75  # very different between trials
        z = (rng.random(n) < prevalence).astype(float)
        age = rng.normal(40 + k, 8, n)
        pain0 = rng.normal(55, 15, n)
        pain = (10 + 0.5 * pain0 + (-8 + 2 * rng.normal()) * treat + 4 * z
                + interaction * treat * z + rng.normal(0, 10, n))  # fmt: skip
        parts.append(pd.DataFrame({"trial": f"t{k:02d}", "treat": treat, "z": z, "age": age,
                                   "pain0": pain0, "pain": pain}))  # fmt: skip
    return pd.concat(parts, ignore_index=True)


def _with_missing(full: pd.DataFrame, seed: int, systematic: int = 9) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = full.copy()
    never = [f"t{k:02d}" for k in range(systematic)]
    data.loc[data["trial"].isin(never), "z"] = np.nan
    data.loc[rng.random(len(data)) < 0.2, "z"] = np.nan
    data.loc[rng.random(len(data)) < 0.05, "age"] = np.nan
    return data


def _run(data: pd.DataFrame, **kwargs) -> ipdma.impute.Imputation:
    options = {"m": 5, "seed": 3, "iterations": 6, "outcomes": ("pain",),
               "baselines": ("pain0",)} | kwargs  # fmt: skip
    return impute(data, ["z", "age"], **options)


def test_same_seed_same_imputations_and_observed_values_kept() -> None:
    data = _with_missing(_consortium(1), 2)
    first, second, other = _run(data), _run(data), _run(data, seed=4)
    for name in ("z", "age"):
        np.testing.assert_array_equal(first.values[name], second.values[name])
    assert not np.array_equal(first.values["z"], other.values["z"])
    completed = first.completed(2)
    assert completed[["z", "age"]].notna().all().all()
    seen = data["z"].notna()
    np.testing.assert_array_equal(completed.loc[seen, "z"], data.loc[seen, "z"])
    assert set(np.unique(completed["z"])) <= {0.0, 1.0}
    assert data["z"].isna().sum() > 0  # the input frame is not changed
    assert not first.values["z"].flags.writeable


def test_sporadic_values_follow_their_own_trial() -> None:
    """Trial-specific parameters: imputed prevalence tracks each trial's own prevalence."""
    data = _with_missing(_consortium(2), 5, systematic=0)
    imputation = _run(data, m=10)
    missing = data["z"].isna().to_numpy()
    trial = data.loc[missing, "trial"].to_numpy()
    means = pd.Series(imputation.values["z"].mean(axis=0), index=trial).groupby(level=0).mean()
    odd = means[[int(t[1:]) % 2 == 1 for t in means.index]]
    even = means[[int(t[1:]) % 2 == 0 for t in means.index]]
    assert odd.mean() < 0.3 < 0.6 < even.mean()


def test_systematically_missing_trials_are_imputed_and_reported() -> None:
    data = _with_missing(_consortium(3), 6)
    imputation = _run(data)
    row = imputation.availability.set_index("variable").loc["z"]
    assert row["trials_measured"] == 7 and row["trials_systematic"] == 9
    assert bool(row["imputed"])
    assert set(imputation.chains["variable"]) == {"z", "age"}
    assert len(imputation.chains) == 2 * 5 * 6
    assert imputation.rhat.notna().all()


def _interaction(frame: pd.DataFrame) -> tuple[float, float, float]:
    d = frame.dropna(subset=["z"]).copy()
    by = d.groupby("trial")
    d = d[(by["z"].transform("std").fillna(0) > 0).to_numpy()]
    by = d.groupby("trial")
    d["x0c"] = d["pain0"] - by["pain0"].transform("mean")
    d["zc"] = d["z"] - by["z"].transform("mean")
    d["tz"] = d["treat"] * d["zc"]
    fit = ipdma.mixed("pain ~ 0 + C(trial) + x0c + zc + treat + tz + (0 + treat | trial)", data=d)
    return float(fit.fixef["tz"]), float(fit.se["tz"]), float(fit.df["tz"])


def test_planted_interaction_is_recovered_after_imputation() -> None:
    """The imputation model holds T x outcome, so the interaction is not biased to 0."""
    truth = -6.0
    estimates = []
    for seed in (11, 12, 13):
        data = _with_missing(_consortium(seed, trials=20, interaction=truth), seed)
        imputation = _run(data, m=8, seed=seed)
        fits = np.array([_interaction(imputation.completed(i)) for i in range(8)])
        pooled = rubin_pool(fits[:, 0], fits[:, 1] ** 2, dfcom=fits[:, 2].mean()).table
        assert abs(pooled["estimate"][0] - truth) < 4 * pooled["se"][0]
        estimates.append(pooled["estimate"][0])
    # without T x outcome in the imputation model the mean would shrink towards 0 by the
    # imputed fraction (about 60% here); with it the mean stays near the truth
    assert np.mean(estimates) < 0.75 * truth


def test_covariate_measured_nowhere_is_left_missing_with_a_warning() -> None:
    data = _consortium(4)
    data["bmi"] = np.nan
    with pytest.warns(DataWarning, match="bmi is not imputed: measured in no trial"):
        imputation = impute(data, ["bmi", "age"], m=2, iterations=2, outcomes=("pain",))
    row = imputation.availability.set_index("variable").loc["bmi"]
    assert not bool(row["imputed"]) and row["reason"] == "measured in no trial"
    assert imputation.completed(0)["bmi"].isna().all()


def test_covariate_in_too_few_trials_is_not_imputed() -> None:
    data = _consortium(5)
    data.loc[~data["trial"].isin(["t00", "t01"]), "z"] = np.nan
    with pytest.warns(DataWarning, match="measured in 2 trial"):
        imputation = impute(data, ["z"], m=2, iterations=2, outcomes=("pain",), min_trials=5)
    assert "z" not in imputation.variables


def test_a_trial_with_one_observed_participant_counts_as_systematically_missing() -> None:
    data = _with_missing(_consortium(6), 6)
    rows = data.index[data["trial"] == "t00"]
    data.loc[rows[1:], "z"] = np.nan
    data.loc[rows[0], "z"] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        imputation = _run(data)
    assert imputation.completed(0)["z"].notna().all()


def test_bad_input_is_an_input_error() -> None:
    data = _consortium(7)
    with pytest.raises(InputError, match="'weight' is not in the analysis data"):
        impute(data, ["weight"], m=2)
    data["sex"] = np.where(data["z"] == 1, "f", "m")
    with pytest.raises(InputError, match="not numeric"):
        impute(data, ["sex"], m=2)
    with pytest.raises(InputError, match="m >= 2"):
        impute(data, ["z"], m=1)


def test_rhat_flags_chains_that_disagree() -> None:
    rows = [("v", chain, it, float(chain * 5 + it * 0.01)) for chain in range(4)
            for it in range(1, 11)]  # fmt: skip
    chains = pd.DataFrame(rows, columns=["variable", "imputation", "iteration", "mean"])
    assert _rhat(chains, 10)["v"] > 1.1


def test_infinite_values_and_odd_treatment_codes_are_input_errors() -> None:
    data = _consortium(8)
    data.loc[5, "age"] = np.inf
    with pytest.raises(InputError, match="age holds an infinite value") as info:
        impute(data, ["z", "age"], m=2, outcomes=("pain",))
    assert info.value.trial == "t00" and info.value.row == 6
    data = _consortium(8)
    data.loc[7, "treat"] = 2.0
    with pytest.raises(InputError, match="coded 0 \\(comparison\\) / 1") as info:
        impute(data, ["z"], m=2, outcomes=("pain",))
    assert info.value.row == 8 and info.value.value == 2.0


def test_a_model_that_cannot_be_fitted_is_a_model_error_naming_the_variable(monkeypatch) -> None:
    import ipdma.impute._conditional as conditional

    def broken(*args, **kwargs):
        raise np.linalg.LinAlgError("Singular matrix")

    data = _with_missing(_consortium(9), 9)
    monkeypatch.setattr(conditional, "draw_values", broken)
    with pytest.raises(
        ModelError, match=r"imputation model of (z|age) could not be fitted"
    ) as info:
        _run(data, m=2)
    assert "chain 1, iteration 1" in str(info.value) and "m = 0" in info.value.hint
    monkeypatch.setattr(conditional, "draw_values",
                        lambda x, missing, *a: np.full(missing.sum(), np.nan))  # fmt: skip
    with pytest.raises(ModelError, match="not finite"):
        _run(data, m=2)


def test_chains_that_did_not_mix_give_a_convergence_warning(monkeypatch) -> None:
    import ipdma.impute._chained as chained

    data = _with_missing(_consortium(10), 10)
    real = chained._rhat
    monkeypatch.setattr(chained, "_rhat", lambda chains, n: real(chains, n).clip(lower=1.5))
    with pytest.warns(ConvergenceWarning) as record:
        _run(data, m=5, iterations=10)
    messages = sorted(str(w.message) for w in record)
    assert len(messages) == 2 and "chains of age may not" in messages[0]
    assert "chains of z may not have converged (R-hat 1.50 > 1.2)" in messages[1]


def test_covariate_no_trial_measured_in_enough_participants_is_not_imputed() -> None:
    data = _consortium(11)
    # every trial observed z in 8 participants: its model (1, T, w, T w with w = pain, age,
    # pain0) has 8 coefficients and needs 11
    for trial in data["trial"].unique():
        rows = data.index[data["trial"] == trial]
        data.loc[rows[8:], "z"] = np.nan
    with pytest.warns(DataWarning, match="z is not imputed: no trial measured it in 11 part"):
        imputation = impute(data, ["z", "age"], m=2, iterations=2, outcomes=("pain",))
    assert "z" not in imputation.variables
    assert imputation.completed(0)["z"].isna().sum() == data["z"].isna().sum()
