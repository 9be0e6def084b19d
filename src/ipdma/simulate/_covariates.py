"""Baseline data of one simulated trial: arms, age, sex, candidate modifiers, pain0, function0.

Variables are drawn jointly through a Gaussian copula: a latent normal vector with the
correlations of :attr:`CovariateConfig.correlations` is thresholded (binary variables) or
scaled (continuous ones), so that e.g. fear avoidance, leg pain and sick leave go with worse
baseline pain and function. Trial-level means vary between trials (``trial_sd``). Every
participant gets every variable (the biology exists whether or not it was measured); the
trial's ``measured`` set and ``item_missing`` then decide what its file contains.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from ._config import LATENT_ORDER, ConsortiumConfig, CovariateConfig, TrialConfig

ALWAYS_MEASURED = ("age", "female", "pain0", "function0")
#: share missing of the always-measured variables (Table 3: 0.4% age, 0.3% sex)
_ALWAYS_MISSING = {"age": 0.004, "female": 0.003, "pain0": 0.004, "function0": 0.008}


def latent_correlation(covariates: CovariateConfig) -> np.ndarray:
    """The copula's correlation matrix, repaired to the nearest positive definite matrix."""
    index = {name: k for k, name in enumerate(LATENT_ORDER)}
    matrix = np.eye(len(LATENT_ORDER))
    for (a, b), rho in covariates.correlations.items():
        matrix[index[a], index[b]] = matrix[index[b], index[a]] = rho
    values, vectors = np.linalg.eigh(matrix)
    if values.min() < 1e-6:
        matrix = (vectors * np.clip(values, 1e-6, None)) @ vectors.T
        scale = np.sqrt(np.diag(matrix))
        matrix = matrix / np.outer(scale, scale)
    return matrix


def trial_size(trial: TrialConfig, config: ConsortiumConfig) -> int:
    """Participants simulated for ``trial`` (Table 1 size times ``size_factor``, >= 4)."""
    return max(4, round(trial.n * config.size_factor))


def allocate_arms(trial: TrialConfig, n: int, rng: np.random.Generator) -> np.ndarray:
    """Arm index per participant: counts proportional to the arms' shares, in random order."""
    shares = np.array([arm.share for arm in trial.arms], dtype=float)
    exact = n * shares / shares.sum()
    counts = np.floor(exact).astype(int)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    return rng.permutation(np.repeat(np.arange(len(trial.arms)), counts))


def _exact_share(n: int, share: float, rng: np.random.Generator) -> np.ndarray:
    """0/1 vector with round(n * share) ones in random positions (Table 1's % female)."""
    ones = round(n * share)
    return rng.permutation(np.r_[np.ones(ones), np.zeros(n - ones)])


def draw_baseline(
    trial: TrialConfig, config: ConsortiumConfig, rng: np.random.Generator
) -> pd.DataFrame:
    """Complete (no missing values) baseline data of ``trial`` on the harmonized scale.

    Columns: ``arm`` (index into ``trial.arms``), ``age``, ``female`` and every variable of
    :data:`LATENT_ORDER` (binary 0/1, continuous in its unit; pain0 and function0 on 0-100).
    """
    cov = config.covariates
    n = trial_size(trial, config)
    frame = {"arm": allocate_arms(trial, n, rng)}
    age = rng.normal(0.0, cov.age_sd, n)
    frame["age"] = np.clip(trial.mean_age + age - age.mean(), 18.0, 85.0)
    frame["female"] = _exact_share(n, trial.pct_female / 100.0, rng)
    latent = rng.multivariate_normal(np.zeros(len(LATENT_ORDER)), latent_correlation(cov), n)
    for k, name in enumerate(LATENT_ORDER):
        z = latent[:, k]
        if name in ("pain0", "function0"):
            outcome = "pain" if name == "pain0" else "function"
            centre = trial.mean_pain0 if outcome == "pain" else trial.mean_function0
            centre += rng.normal(0.0, cov.baseline_trial_sd)
            frame[name] = np.clip(centre + cov.baseline_sd[outcome] * z, 0.0, 100.0)
        elif name in cov.binary:
            binary = cov.binary[name]
            p = special.expit(special.logit(binary.p) + rng.normal(0.0, binary.trial_sd))
            frame[name] = (z > special.ndtri(1.0 - p)).astype(float)
        else:
            spec = cov.continuous[name]
            centre = spec.mean + rng.normal(0.0, spec.trial_sd)
            value = centre + spec.sd * z
            frame[name] = np.clip(np.exp(value) if spec.log else value, spec.low, spec.high)
    return pd.DataFrame(frame)


def observed_mask(
    trial: TrialConfig, config: ConsortiumConfig, n: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Which baseline values the trial's file contains (True = observed), per variable.

    Variables the trial did not measure are all False; measured ones are missing completely
    at random with probability ``item_missing`` (age, sex, pain0, function0: Table 3's rates).
    """
    mask: dict[str, np.ndarray] = {}
    for name in ("age", "female", *LATENT_ORDER):
        if name in ALWAYS_MEASURED:
            rate = _ALWAYS_MISSING[name]
            if (name == "pain0" and trial.pain_instrument is None) or (
                name == "function0" and trial.function_instrument is None
            ):
                mask[name] = np.zeros(n, dtype=bool)
                continue
        elif name in trial.measured:
            rate = config.covariates.item_missing
        else:
            mask[name] = np.zeros(n, dtype=bool)
            continue
        mask[name] = rng.random(n) >= rate
    return mask
