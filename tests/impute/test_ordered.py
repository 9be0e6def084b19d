"""Ordered covariates (a 1-5 scale): imputed among the observed levels by the multilevel
continuation-ratio model, each trial keeping its own distribution over the levels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ipdma.analysis import AnalysisPlan
from ipdma.errors import InputError, SpecError
from ipdma.impute import impute
from ipdma.spec import check_plan

LEVELS = np.arange(1.0, 6.0)


def _trial_distribution(k: int) -> np.ndarray:
    """Very different marginals: trials 0, 3, 6, ... skewed low, 1, 4, ... flat, 2, 5, ... high."""
    low = np.array([0.45, 0.3, 0.15, 0.07, 0.03])
    return {0: low, 1: np.full(5, 0.2), 2: low[::-1]}[k % 3]


def _consortium(seed: int, trials: int = 12, n: int = 160) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for k in range(trials):
        treat = rng.permutation(np.arange(n) % 2).astype(float)
        scale = rng.choice(LEVELS, size=n, p=_trial_distribution(k))
        pain0 = rng.normal(55, 15, n)
        pain = 10 + 0.5 * pain0 - 6 * treat + 2 * scale - 1.5 * treat * scale + rng.normal(0, 10, n)
        parts.append(pd.DataFrame({"trial": f"t{k:02d}", "treat": treat, "scale": scale,
                                   "pain0": pain0, "pain": pain}))  # fmt: skip
    return pd.concat(parts, ignore_index=True)


def _missing(full: pd.DataFrame, seed: int, never: tuple[str, ...] = ()) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = full.copy()
    data.loc[rng.random(len(data)) < 0.35, "scale"] = np.nan  # completely at random
    data.loc[data["trial"].isin(never), "scale"] = np.nan
    return data


def _impute(data: pd.DataFrame, seed: int = 7, m: int = 10):
    return impute(data, ["scale"], m=m, seed=seed, iterations=5, outcomes=("pain",),
                  baselines=("pain0",), ordered=["scale"], min_trials=3)  # fmt: skip


def _imputed_shares(data: pd.DataFrame, imputation) -> pd.DataFrame:
    """Per trial, the share of each level among the imputed values (all m imputations)."""
    missing = data["scale"].isna().to_numpy()
    trial = np.tile(data.loc[missing, "trial"].to_numpy(), imputation.m)
    values = imputation.values["scale"].ravel()
    frame = pd.DataFrame({"trial": trial, "value": values})
    return pd.crosstab(frame["trial"], frame["value"], normalize="index").reindex(
        columns=LEVELS, fill_value=0.0
    )


def test_each_trial_keeps_its_own_distribution_over_the_levels() -> None:
    full = _consortium(1)
    data = _missing(full, 2)
    imputation = _impute(data)
    values = imputation.values["scale"]
    assert set(np.unique(values)) <= set(LEVELS)  # only observed levels, no in-between values
    shares = _imputed_shares(data, imputation)
    observed = pd.crosstab(data["trial"], data["scale"], normalize="index")
    observed = observed.reindex(columns=LEVELS, fill_value=0.0)
    distance = {}
    for trial, row in shares.iterrows():
        # total variation distance to the trial's own observed distribution (missing
        # completely at random: the imputations should reproduce it); about 55 missing
        # values x 10 imputations per trial, so sampling alone gives ~0.05
        own = 0.5 * np.abs(row.to_numpy() - observed.loc[trial].to_numpy()).sum()
        assert own < 0.15, (trial, row.round(2))
        truth = _trial_distribution(int(str(trial)[1:]))
        distance[trial] = 0.5 * np.abs(row.to_numpy() - truth).sum()
    # and near the planted distributions on average (the observed samples of ~105 per trial
    # are themselves ~0.07 from them)
    assert np.mean(list(distance.values())) < 0.12
    means = shares.to_numpy() @ LEVELS
    planted = np.array([_trial_distribution(int(str(t)[1:])) @ LEVELS for t in shares.index])
    assert np.corrcoef(means, planted)[0, 1] > 0.95


def test_never_measured_trials_draw_from_the_between_trial_distribution() -> None:
    never = ("t00", "t01", "t02")
    data = _missing(_consortium(3), 4, never=never)
    imputation = _impute(data)
    shares = _imputed_shares(data, imputation)
    assert imputation.availability.loc[0, "trials_systematic"] == 3
    for trial in never:
        row = shares.loc[trial].to_numpy()
        assert (row > 0).sum() >= 4  # spread over the scale, not one level
        assert 2.0 < row @ LEVELS < 4.0  # around the consortium's mean (3.0)


def test_same_seed_same_ordered_imputations() -> None:
    data = _missing(_consortium(5), 6)
    first, second, other = _impute(data, m=3), _impute(data, m=3), _impute(data, seed=8, m=3)
    np.testing.assert_array_equal(first.values["scale"], second.values["scale"])
    assert not np.array_equal(first.values["scale"], other.values["scale"])
    completed = first.completed(1)
    seen = data["scale"].notna()
    np.testing.assert_array_equal(completed.loc[seen, "scale"], data.loc[seen, "scale"])


def test_ordered_names_must_be_imputed_variables() -> None:
    data = _missing(_consortium(5, trials=6), 6)
    with pytest.raises(InputError, match="ordered variable 'sleep'"):
        impute(data, ["scale"], m=2, outcomes=("pain",), ordered=["sleep"])
    plan = AnalysisPlan.model_validate({"imputation": {"m": 5, "ordered": ["sleep"]}})
    with pytest.raises(SpecError, match=r"imputation\.ordered"):
        check_plan(plan)
