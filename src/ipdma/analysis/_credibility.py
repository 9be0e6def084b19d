"""Credibility of a claimed effect modifier, ICEMAN-style (Schandelmaier et al. 2020, CMAJ
192:E901), generated from the grid's results and the analysis plan.

Criteria (each answered ``yes`` / ``partly`` / ``no`` with its reason):

1. *Within-trial comparison*: the interaction is the within-trial term (modifier centred
   within trial); the across-trial term is shown next to it, and a sign disagreement is noted.
2. *Pre-specified with a direction*: from the plan (``ModifierSpec.prespecified``,
   ``ModifierSpec.direction``: ``"larger"`` / ``"smaller"`` effect for higher values, i.e. a
   negative / positive interaction on an outcome where lower is better, an interaction odds
   ratio of recovery above / below 1), and whether the estimate goes in that direction.
3. *Chance*: the number of modifiers and outcomes tested, the Benjamini-Hochberg q-value
   (``p_fdr``) against ``alpha``.
4. *Consistency across trials*: per-trial interaction estimates (least squares in each
   trial; logistic for a binary outcome) pooled by REML: I^2 and the share of trials in the
   pooled direction.
5. *Consistency across related outcomes and follow-ups*: the same modifier's interaction
   level in the other outcomes, windows and comparison sets, counted by the direction of
   benefit (a negative MD and an OR above 1 agree).
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
from scipy.special import expit

from ..meta import PoolResult, pool

__all__ = [
    "Credibility",
    "Criterion",
    "assess_credibility",
    "benefit_sign",
    "interaction_by_trial",
]

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


def _logistic(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Logistic regression by Newton-Raphson (IRLS): coefficients and their covariance, or
    None when it does not converge or separates (a coefficient beyond |20| on the logit)."""
    beta = np.zeros(x.shape[1])
    for _ in range(50):
        p = expit(x @ beta)
        w = p * (1 - p)
        info = x.T @ (x * w[:, None])
        try:
            step = np.linalg.solve(info, x.T @ (y - p))
        except np.linalg.LinAlgError:
            return None
        beta = beta + step
        if np.max(np.abs(step)) < 1e-9:
            break
    else:
        return None
    if np.max(np.abs(beta)) > 20:
        return None
    p = expit(x @ beta)
    return beta, np.linalg.inv(x.T @ (x * (p * (1 - p))[:, None]))


def interaction_by_trial(
    data: pd.DataFrame,
    modifier: str,
    *,
    outcome: str,
    baseline: str,
    treatment: str = "treat",
    trial: str = "trial",
    adjust_for: tuple[str, ...] = (),
    level: str | None = None,
    family: Literal["gaussian", "binomial"] = "gaussian",
) -> PoolResult:
    """Per-trial treatment x modifier interactions, pooled by REML: the per-trial forest
    (``ipdma.plots.forest``) and its heterogeneity.

    In each trial, ``outcome`` is regressed on 1, baseline, modifier, treatment, treatment x
    modifier (and each of ``adjust_for`` with its treatment interaction, as in the adjusted
    one-stage models): least squares (``gaussian``; the interaction as a mean difference
    per unit or level) or logistic regression (``binomial``; the interaction as a log odds
    ratio). ``level`` makes a categorical (string) modifier the indicator of that level. A
    modifier that is the baseline value enters once. Trials with one arm, no spread of the
    modifier, too few rows or (logistic) separation are left out.
    """
    extra = tuple(a for a in adjust_for if a not in (modifier, baseline))
    columns = list(dict.fromkeys([outcome, baseline, treatment, trial, modifier, *extra]))
    frame = data[columns].dropna()
    labels, estimates, variances = [], [], []
    for name, part in frame.groupby(trial, sort=True):
        y = part[outcome].to_numpy(float)
        t = part[treatment].to_numpy(float)
        if level is not None and not pd.api.types.is_numeric_dtype(part[modifier]):
            m = (part[modifier].astype(str) == level).to_numpy(float)
        else:
            m = part[modifier].to_numpy(float)
        lead = [np.ones_like(y)] + (
            [] if modifier == baseline else [part[baseline].to_numpy(float)]
        )
        adjusters = [part[a].to_numpy(float) for a in extra]
        x = np.column_stack([*lead, m, t, t * m, *adjusters, *(t * a for a in adjusters)])
        where = len(lead) + 2
        if len(y) <= x.shape[1] + 2 or np.linalg.matrix_rank(x) < x.shape[1]:
            continue  # one arm, or no spread of the modifier in this trial
        if family == "binomial":
            fit = _logistic(x, y)
            if fit is None:
                continue
            coef, cov = fit
            variance = float(cov[where, where])
        else:
            coef, *_ = np.linalg.lstsq(x, y, rcond=None)
            resid = y - x @ coef
            s2 = float(resid @ resid) / (len(y) - x.shape[1])
            variance = s2 * float(np.linalg.inv(x.T @ x)[where, where])
        labels.append(str(name))
        estimates.append(float(coef[where]))
        variances.append(variance)
    return pool(estimates, variances, method="REML", labels=labels)


def benefit_sign(estimate: float, scale: str) -> int:
    """+1 when the interaction means a larger benefit of exercise for higher values (or the
    level): a negative mean difference (lower = better), or an odds ratio of recovery > 1."""
    if not np.isfinite(estimate) or (scale == "OR" and estimate <= 0):
        return 0
    return int(np.sign(np.log(estimate))) if scale == "OR" else -int(np.sign(estimate))


def assess_credibility(
    row: pd.Series,
    interactions: pd.DataFrame,
    by_trial: PoolResult,
    *,
    prespecified: bool,
    direction: Literal["larger", "smaller"] | None,
    continuous_analysis: bool | None,
    alpha: float = 0.05,
) -> Credibility:
    """Assess one interaction ``row`` of the grid's ``interactions`` table (see the module
    docstring). ``direction`` is the hypothesized change of the benefit for higher modifier
    values (``"larger"`` benefit = a more negative mean difference when lower is better, an
    odds ratio of recovery above 1); ``continuous_analysis`` None for a binary modifier."""
    estimate = float(row["estimate"])
    across = float(row.get("across_estimate", np.nan))
    scale = str(row.get("scale", "MD"))
    benefit = benefit_sign(estimate, scale)
    criteria = []
    within: Answer = (
        "yes" if not np.isfinite(across) or benefit_sign(across, scale) == benefit else "partly"
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
        expected = 1 if direction == "larger" else -1
        answer = "yes" if benefit == expected else "no"
        reason = (
            f"pre-specified, hypothesized {direction} benefit; estimate {scale} {estimate:.2f} "
            f"({'larger' if benefit > 0 else 'smaller'} benefit)"
        )
    criteria.append(Criterion("pre-specified with direction", answer, reason))
    n_modifiers = interactions["modifier"].nunique()
    n_outcomes = interactions["outcome"].nunique()
    q = float(row.get("p_fdr", np.nan))
    chance: Answer = "yes" if np.isfinite(q) and q < alpha else "no"
    criteria.append(Criterion("chance (multiplicity)", chance,
        f"{n_modifiers} modifiers x {n_outcomes} outcomes tested; p = {row['p']:.3g}, "
        f"Benjamini-Hochberg q = {q:.3g}"))  # fmt: skip
    same = np.sign(by_trial.yi) == np.sign(by_trial.estimate)
    share = float(np.mean(same)) if by_trial.k else np.nan
    i2 = by_trial.i2
    consistent: Answer = "yes" if i2 < 50 and share >= 0.6 else "partly" if i2 < 75 else "no"
    criteria.append(Criterion("consistency across trials", consistent,
        f"{by_trial.k} trials, {share:.0%} in the pooled direction, I^2 = {i2:.0f}%"))  # fmt: skip
    related = interactions[
        (interactions["modifier"] == row["modifier"])
        & (interactions["level"].astype(str) == str(row.get("level", "")))
        & ~(
            (interactions["outcome"] == row["outcome"])
            & (interactions["window"] == row.get("window"))
            & (interactions["comparison"] == row.get("comparison"))
        )
        & (interactions["adjusted"] == row["adjusted"])
        & interactions["estimate"].notna()
    ]
    scales = related["scale"] if "scale" in related else pd.Series("MD", index=related.index)
    signs = [
        benefit_sign(float(e), str(c)) for e, c in zip(related["estimate"], scales, strict=True)
    ]
    agree = sum(sign == benefit for sign in signs)
    if len(related) == 0:
        across_answer: Answer = "partly"
    else:
        across_answer = "yes" if agree == len(related) else "partly" if agree > 0 else "no"
    criteria.append(Criterion("consistency across outcomes and follow-ups", across_answer,
        f"{agree} of {len(related)} related analyses in the same direction"))  # fmt: skip
    if continuous_analysis is None:
        criteria.append(Criterion("continuous analysis", "yes", "binary modifier (not applicable)"))
    else:
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
