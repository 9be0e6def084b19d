"""Write the simulated IPD-MA datasets behind the glmm_* fixtures (run once; outputs committed).

Each trial i has its own intercept a_i, a common baseline slope, and a treatment log odds
ratio log(OR) + tau * N(0, 1); ``base`` is a standardised baseline score. The R script
``glmm_fit.R`` fits them with lme4::glmer and glmmTMB.

    python tests/reference/glmm_simulate.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent


def simulate(
    seed: int,
    *,
    trials: int,
    low: int,
    high: int,
    log_or: float,
    tau_treat: float,
    tau_base: float = 0.0,
    tau_x: float = 0.0,
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for i in range(trials):
        n = int(rng.integers(low, high + 1))
        intercept = rng.normal(-0.7, 0.6)
        slope_treat = log_or + tau_treat * rng.normal()
        slope_base = -0.5 + tau_base * rng.normal()
        slope_x = 0.3 + tau_x * rng.normal()
        treat = rng.integers(0, 2, n)
        base = np.round(rng.normal(0.0, 1.0, n), 3)
        x = np.round(rng.normal(0.0, 1.0, n), 3)
        eta = intercept + slope_base * base + slope_treat * treat + slope_x * x
        rec = rng.binomial(1, 1.0 / (1.0 + np.exp(-eta)))
        parts.append(
            pd.DataFrame(
                {"trial": f"t{i + 1:02d}", "treat": treat, "base": base, "x": x, "rec": rec}
            )
        )
    return pd.concat(parts, ignore_index=True)


DATASETS = {
    # paper-sized: ~3,500 participants in 27 trials, moderate heterogeneity
    "glmm_ipd_paper": dict(seed=20, trials=27, low=60, high=200, log_or=0.55, tau_treat=0.45),
    # few small trials
    "glmm_ipd_small": dict(seed=37, trials=6, low=25, high=60, log_or=0.7, tau_treat=0.6),
    # near-zero heterogeneity of the treatment effect
    "glmm_ipd_homog": dict(seed=13, trials=20, low=80, high=160, log_or=0.4, tau_treat=0.0),
    # random treatment and baseline effects (and a third covariate for the 3-d case)
    "glmm_ipd_two": dict(
        seed=45, trials=27, low=60, high=200, log_or=0.5, tau_treat=0.4, tau_base=0.45, tau_x=0.4
    ),
}


if __name__ == "__main__":
    for name, settings in DATASETS.items():
        frame = simulate(**settings)
        frame.to_csv(HERE / f"{name}.csv", index=False)
        print(name, len(frame), frame.trial.nunique(), frame.rec.mean().round(3))
