"""Credibility of a claimed effect modifier, ICEMAN-style (Schandelmaier et al. 2020, CMAJ
192:E901), generated from the grid's results and the analysis plan.

Criteria (each answered ``yes`` / ``partly`` / ``no`` with its reason):

1. *Within-trial comparison*: the interaction is the within-trial term (modifier centred
   within trial); the across-trial term is shown next to it, and a sign disagreement is noted.
2. *Pre-specified with a direction*: from the plan (``ModifierSpec.prespecified``,
   ``ModifierSpec.direction``: ``"larger"`` / ``"smaller"`` effect for higher values, i.e. a
   negative / positive interaction on an outcome where lower is better), and whether the
   estimate goes in the hypothesized direction.
3. *Chance*: the number of modifiers and outcomes tested, the Benjamini-Hochberg q-value
   (``p_fdr``) against ``alpha``.
4. *Consistency across trials*: per-trial interaction estimates (least squares in each
   trial) pooled by REML: I^2 and the share of trials in the pooled direction.
5. *Consistency across related outcomes and follow-ups*: the same modifier's interaction
   in the other outcomes and windows, counted by direction.
6. *Continuous analysis*: whether a continuous modifier was analysed as continuous.

Overall rating: ``high`` when criteria 1-4 hold and 5 at least partly, ``low`` when the
within-trial comparison fails or the q-value exceeds alpha with 2 or more other criteria
failing, ``moderate`` otherwise; the reasons list every criterion not met.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ..meta import PoolResult, pool

__all__ = ["Credibility", "Criterion", "assess_credibility", "interaction_by_trial"]

Answer = Literal["yes", "partly", "no"]


@dataclass(frozen=True)
class Criterion:
    """One ICEMAN-style question with its answer and the reason (from the numbers)."""

    name: str
    answer: Answer
    reason: str


@dataclass(frozen=True)
class Credibility:
    """The assessment of one modifier: criteria, overall rating and its reasons."""

    modifier: str
    outcome: str
    criteria: tuple[Criterion, ...]
    rating: Literal["high", "moderate", "low"]
    reasons: tuple[str, ...]


def interaction_by_trial(
    data: pd.DataFrame,
    modifier: str,
    *,
    outcome: str,
    baseline: str,
    treatment: str = "treat",
    trial: str = "trial",
) -> PoolResult:
    """Per-trial treatment x modifier interactions (least squares of ``outcome`` on 1,
    baseline, modifier, treatment, treatment x modifier in each trial), pooled by REML: the
    per-trial forest (``ipdma.plots.forest``) and its heterogeneity."""
    frame = data[[outcome, baseline, treatment, trial, modifier]].dropna()
    labels, estimates, variances = [], [], []
    for level, part in frame.groupby(trial, sort=True):
        y = part[outcome].to_numpy(float)
        t = part[treatment].to_numpy(float)
        m = part[modifier].to_numpy(float)
        x = np.column_stack([np.ones_like(y), part[baseline].to_numpy(float), m, t, t * m])
        if len(y) <= x.shape[1] + 2 or np.linalg.matrix_rank(x) < x.shape[1]:
            continue  # one arm, or no spread of the modifier in this trial
        coef, *_ = np.linalg.lstsq(x, y, rcond=None)
        resid = y - x @ coef
        s2 = float(resid @ resid) / (len(y) - x.shape[1])
        labels.append(str(level))
        estimates.append(float(coef[4]))
        variances.append(s2 * float(np.linalg.inv(x.T @ x)[4, 4]))
    return pool(estimates, variances, method="REML", labels=labels)


def _sign(value: float) -> int:
    return int(np.sign(value)) if np.isfinite(value) else 0


def assess_credibility(
    row: pd.Series,
    interactions: pd.DataFrame,
    by_trial: PoolResult,
    *,
    prespecified: bool,
    direction: Literal["larger", "smaller"] | None,
    continuous_analysis: bool,
    alpha: float = 0.05,
) -> Credibility:
    """Assess one interaction ``row`` of the grid's ``interactions`` table (see the module
    docstring). ``direction`` is the hypothesized change of the benefit for higher modifier
    values (``"larger"`` benefit = a more negative mean difference when lower is better)."""
    estimate = float(row["estimate"])
    across = float(row.get("across_estimate", np.nan))
    criteria = []
    within: Answer = (
        "yes" if not np.isfinite(across) or _sign(across) == _sign(estimate) else "partly"
    )
    criteria.append(Criterion("within-trial comparison", within,
        f"within-trial interaction {estimate:.2f}; across-trial term "
        + (f"{across:.2f}" + (" (opposite direction)" if within == "partly" else "")
           if np.isfinite(across) else "not estimable")))  # fmt: skip
    if not prespecified:
        answer: Answer = "no"
        reason = "exploratory (not pre-specified in the plan)"
    elif direction is None:
        answer, reason = "partly", "pre-specified without a hypothesized direction"
    else:
        expected = -1 if direction == "larger" else 1
        answer = "yes" if _sign(estimate) == expected else "no"
        reason = f"pre-specified, hypothesized {direction} benefit; estimate {estimate:+.2f}"
    criteria.append(Criterion("pre-specified with direction", answer, reason))
    n_modifiers = interactions["modifier"].nunique()
    n_outcomes = interactions["outcome"].nunique()
    q = float(row.get("p_fdr", np.nan))
    chance: Answer = "yes" if np.isfinite(q) and q < alpha else "no"
    criteria.append(Criterion("chance (multiplicity)", chance,
        f"{n_modifiers} modifiers x {n_outcomes} outcomes tested; p = {row['p']:.3g}, "
        f"Benjamini-Hochberg q = {q:.3g}"))  # fmt: skip
    same = np.sign(by_trial.yi) == _sign(by_trial.estimate)
    share = float(np.mean(same)) if by_trial.k else np.nan
    i2 = by_trial.i2
    consistent: Answer = "yes" if i2 < 50 and share >= 0.6 else "partly" if i2 < 75 else "no"
    criteria.append(Criterion("consistency across trials", consistent,
        f"{by_trial.k} trials, {share:.0%} in the pooled direction, I^2 = {i2:.0f}%"))  # fmt: skip
    related = interactions[
        (interactions["modifier"] == row["modifier"])
        & (interactions.index != row.name)
        & (interactions["adjusted"] == row["adjusted"])
        & interactions["estimate"].notna()
    ]
    agree = int((np.sign(related["estimate"]) == _sign(estimate)).sum())
    if len(related) == 0:
        across_answer: Answer = "partly"
    else:
        across_answer = "yes" if agree == len(related) else "partly" if agree > 0 else "no"
    criteria.append(Criterion("consistency across outcomes and follow-ups", across_answer,
        f"{agree} of {len(related)} related analyses in the same direction"))  # fmt: skip
    criteria.append(Criterion("continuous analysis", "yes" if continuous_analysis else "no",
        "analysed as continuous" if continuous_analysis else "categorized"))  # fmt: skip
    failed = [c for c in criteria if c.answer != "yes"]
    core = criteria[:4]
    if all(c.answer == "yes" for c in core) and criteria[4].answer != "no":
        rating: Literal["high", "moderate", "low"] = "high"
    elif within == "no" or (chance == "no" and sum(c.answer == "no" for c in criteria) >= 3):
        rating = "low"
    else:
        rating = "moderate"
    return Credibility(
        modifier=str(row["modifier"]),
        outcome=str(row["outcome"]),
        criteria=tuple(criteria),
        rating=rating,
        reasons=tuple(f"{c.name}: {c.reason}" for c in failed),
    )
