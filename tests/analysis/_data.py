"""A small analysis-frame generator with known truths, for unit tests of the analysis grid.

The acceptance tests use the project's simulator (``ipdma.simulate``); this one is tiny and
fully controlled (e.g. a covariate that differs only between trials).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def frame(
    seed: int = 1,
    *,
    trials: int = 12,
    effect: float = -6.0,
    tau: float = 2.0,
    interaction_medication: float = -5.0,
    interaction_bmi: float = 0.0,
    across_site: float = 0.0,
) -> pd.DataFrame:
    """One window of an analysis frame: pain/function/recovery with planted effects.

    ``site_level`` is constant within each trial (it differs only between trials) and
    modifies the treatment effect across trials by ``across_site`` per unit.
    """
    rng = np.random.default_rng(seed)
    parts = []
    for k in range(trials):
        n = int(rng.integers(60, 160))
        treat = (rng.random(n) < 0.5).astype(float)
        treat[:2] = [0.0, 1.0]
        site_level = float(k % 4)
        age = rng.normal(45, 10, n)
        female = (rng.random(n) < 0.55).astype(float)
        bmi = rng.normal(26, 4, n)
        medication = (rng.random(n) < 0.5).astype(float)
        pain0 = np.clip(rng.normal(55, 15, n), 0, 100)
        function0 = np.clip(rng.normal(45, 15, n), 0, 100)
        t_k = effect + tau * rng.normal() + across_site * (site_level - 1.5)
        pain = (
            12
            + 0.5 * pain0
            + t_k * treat
            + interaction_medication * treat * medication
            + interaction_bmi * treat * bmi
            + rng.normal(0, 12, n)
        )
        function = 6 + 0.6 * function0 + effect * treat + rng.normal(0, 12, n)
        logit = -1.0 + 0.9 * treat + 0.02 * (function0 - 45)
        recovery = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
        comparison = np.where(treat == 1, None, "usual" if k % 2 else "conservative")
        parts.append(
            pd.DataFrame(
                {
                    "trial": f"trial{k:02d}",
                    "pid": [f"{k}-{i}" for i in range(n)],
                    "treat": treat,
                    "comparison": comparison,
                    "age": age,
                    "female": female,
                    "bmi": bmi,
                    "medication": medication,
                    "site_level": site_level,
                    "pain0": pain0,
                    "function0": function0,
                    "pain": pain,
                    "function": function,
                    "recovery": recovery,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)
