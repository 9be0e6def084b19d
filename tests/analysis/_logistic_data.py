"""Binary-outcome consortia with planted treatment-effect modification on the log-odds scale,
for the logistic spline and prediction tests (global recovery)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd


def quadratic(x: np.ndarray) -> np.ndarray:
    """A U-shaped log odds ratio: 0.6 at 45, 1 less 16 units either side."""
    return 0.6 - 0.004 * (np.asarray(x) - 45) ** 2


def linear(x: np.ndarray) -> np.ndarray:
    return 0.4 - 0.03 * (np.asarray(x) - 45)


def spline_consortium(
    seed: int, curve: Callable[[np.ndarray], np.ndarray], trials: int = 12, tau: float = 0.3
) -> pd.DataFrame:
    """Trials of 150-300 with modifier means differing by trial, a prognostic effect of the
    modifier and the baseline, a random treatment effect (sd ``tau``) and the planted
    conditional log odds ratio ``curve(x)``."""
    rng = np.random.default_rng(seed)
    parts = []
    for k in range(trials):
        n = int(rng.integers(150, 300))
        x = rng.normal(45 + rng.normal(0, 4), 10, n)
        treat = (rng.random(n) < 0.5).astype(float)
        base = rng.normal(50, 15, n)
        eta = (
            rng.normal(-0.3, 0.5)
            + 0.02 * (base - 50)
            - 0.01 * (x - 45)
            + treat * (curve(x) + rng.normal(0, tau))
        )
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
        parts.append(pd.DataFrame({"trial": f"t{k:02d}", "x": x, "treat": treat, "base": base,
                                   "y": y}))  # fmt: skip
    return pd.concat(parts, ignore_index=True)


def effect_consortium(
    seed: int, trials: int = 10, gamma: tuple[float, float] = (0.05, 1.0), tau: float = 0.3
) -> pd.DataFrame:
    """Planted within-trial interactions on the log-odds scale: age (per year) and
    medication (yes vs no); log OR ``0.4 + gamma_age (age - 45) + gamma_med (med - 0.5)``."""
    rng = np.random.default_rng(seed)
    parts = []
    for k in range(trials):
        n = int(rng.integers(200, 400))
        age = rng.normal(45 + rng.normal(0, 3), 10, n)
        medication = (rng.random(n) < rng.uniform(0.3, 0.7)).astype(float)
        treat = (rng.random(n) < 0.5).astype(float)
        base = rng.normal(50, 15, n)
        effect = 0.4 + gamma[0] * (age - 45) + gamma[1] * (medication - 0.5) + rng.normal(0, tau)
        eta = (
            rng.normal(-0.2, 0.4) + 0.02 * (base - 50) - 0.01 * (age - 45) + 0.3 * medication
            + treat * effect
        )  # fmt: skip
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
        parts.append(pd.DataFrame({"trial": f"t{k:02d}", "age": age, "medication": medication,
                                   "treat": treat, "base": base, "y": y}))  # fmt: skip
    return pd.concat(parts, ignore_index=True)
