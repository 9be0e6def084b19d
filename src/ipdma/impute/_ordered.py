"""Ordered categories (e.g. a 1-5 scale) imputed by a continuation-ratio model, one multilevel
logistic model per step, each with trial-specific parameters.

For levels l_1 < ... < l_C of z, step c (c = 2..C) models, among participants with z >= l_{c-1},

    logit P(z_ik >= l_c | z_ik >= l_{c-1}, x_ik) = x_ik' beta_kc,   beta_kc = beta_c + u_kc

(the sequential, or continuation-ratio, model for ordered responses: Tutz 1991; Agresti 2010,
Analysis of Ordinal Categorical Data, sec. 4.1). Every step has its own trial-specific
intercept, so each trial keeps its own cutpoints (its own marginal distribution over the
levels), and its own slopes (no proportional-odds assumption; common to the trials or
trial-specific as for the other variables). Each step is
fitted and drawn by the two-stage method of :mod:`._twostage` (binary kind); a missing value
is drawn step by step: from l_1, it moves up to l_c with the drawn probability of step c and
stops at the first step it does not pass. A trial that never measured z draws every step's
coefficients from their between-trial distribution.
"""

from __future__ import annotations

import numpy as np

from ._twostage import FitCache, TrialLayout, draw_values, fit_trials

__all__ = ["draw_ordered", "ordered_levels"]


def ordered_levels(observed: np.ndarray) -> np.ndarray:
    """The sorted distinct observed values (the categories)."""
    return np.unique(observed[~np.isnan(observed)])


def draw_ordered(
    x: np.ndarray,
    observed: np.ndarray,
    missing: np.ndarray,
    layout: TrialLayout,
    arm: np.ndarray,
    rng: np.random.Generator,
    min_rows: int,
    random: np.ndarray | None = None,
    caches: dict[int, FitCache] | None = None,
) -> np.ndarray:
    """One draw of the missing values (rows in ``missing``) among the observed levels.
    ``caches`` (a chain's, by step) keep each step's fit between sweeps (``fit_trials``)."""
    levels = ordered_levels(observed)
    rows = np.flatnonzero(missing)
    out = np.full(len(rows), levels[0])
    at_risk = np.ones(len(rows), dtype=bool)
    seen = ~np.isnan(observed)
    for step in range(1, len(levels)):
        risk = seen & (observed >= levels[step - 1])
        target = np.where(risk, (observed >= levels[step]).astype(float), np.nan)
        asked = np.zeros(len(observed), dtype=bool)
        asked[rows[at_risk]] = True
        cache = None if caches is None else caches.setdefault(step, FitCache())
        models = fit_trials(x, target, layout, "binary", min_rows, arm, random, cache)
        if models.observed.any():
            passed = draw_values(x, asked, layout, models, "binary", rng, arm, random) > 0.5
        else:  # no trial has enough participants at this step: the pooled proportion
            share = float(np.nanmean(target)) if risk.any() else 0.0
            passed = rng.random(int(asked.sum())) < share
        index = np.flatnonzero(at_risk)
        out[index[passed]] = levels[step]
        at_risk[index[~passed]] = False
        if not at_risk.any():
            break
    return out
