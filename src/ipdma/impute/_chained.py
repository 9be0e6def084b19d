"""Multilevel multiple imputation by chained equations (fully conditional specification).

Each incomplete variable is imputed in turn from the current values of the others, for a
number of iterations, in ``m`` independent chains (one per completed dataset); every
conditional model has trial-specific parameters drawn by the two-stage method
(:mod:`._twostage`): each trial's levels of the variable in its two arms and its residual
variances (and, with ``random_slopes``, its slopes too), so covariate distributions differ
between trials, and a covariate that a trial never measured (systematically missing) is
drawn from the between-trial distribution of those parameters.

Conditional model of a covariate z (continuous: normal; binary: logistic; ordered
categories: continuation-ratio logistic steps, :mod:`._ordered`)::

    z ~ (1 + y_1 + ... + x_1 + ...) * T     (intercept and T by trial; residual variance by
                                             trial and arm)

with T the treatment, y the outcomes of the window (pain, function), and x the other
covariates being imputed or complete (baselines among them), all centred within trial and
arm (:mod:`._conditional`). Every predictor enters with its product with T and a continuous
z has one residual variance per arm: within each trial the model is the regression of z on
the others separately in each arm, which is what an analysis model holding
treatment-covariate interactions implies (the outcome's relation with z differs between
arms, and with it z's relation with the outcome, with the other covariates and z's residual
variance; Bartlett et al. 2015, SMMR 24:462; Tilling et al. 2016, Stat Med 35:5079; Riley et
al. 2020, Stat Med 39:2115). docs/imputation.md reports the validity study, and the
attenuation of the imputed interactions that these choices remove. Missing outcomes are
imputed in the same chain from the same by-arm model to serve as predictors, and set back to
missing in the completed data (multiple imputation, then deletion).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import ConvergenceWarning, DataWarning, InputError
from ._conditional import ChainSetup, VariableKind, run_chains
from ._ordered import ordered_levels
from ._twostage import TrialLayout

__all__ = ["Imputation", "impute"]

# R-hat of chain means over the second half of the chains. With few iterations per chain the
# statistic is noisy (relative SE of the between-chain variance about sqrt(2 / (m - 1))), so
# it is only judged with enough iterations and chains, and at 1.2 rather than 1.1.
_RHAT_LIMIT = 1.2
_RHAT_MIN_ITERATIONS = 10
_RHAT_MIN_CHAINS = 5


@dataclass(frozen=True)
class Imputation:
    """m completed versions of an analysis frame (the frame is never changed).

    Attributes
    ----------
    frame
        The incomplete frame, as given.
    variables
        The covariates that were imputed (``availability`` says why others were not).
    values
        ``{variable: array (m, rows missing)}``: the imputed values (read-only).
    availability
        One row per requested covariate: trials that measured it, trials where it is
        systematically missing, participants missing, whether it was imputed and why not.
    chains
        Mean of each imputed variable over the missing rows, per imputation and iteration
        (convergence diagnostics: the chains should mix and show no trend).
    rhat
        Potential scale reduction (Gelman-Rubin) of those chain means over the second half
        of the iterations, by variable.
    """

    frame: pd.DataFrame
    variables: tuple[str, ...]
    values: dict[str, np.ndarray]
    availability: pd.DataFrame
    chains: pd.DataFrame
    rhat: pd.Series
    m: int
    seed: int
    iterations: int

    def completed(self, index: int) -> pd.DataFrame:
        """The ``index``-th completed dataset (0-based): a new frame."""
        if not 0 <= index < self.m:
            raise IndexError(f"imputation {index} out of range 0..{self.m - 1}")
        out = self.frame.copy()
        for name in self.variables:
            rows = out[name].isna().to_numpy()
            column = out[name].to_numpy(dtype=float, na_value=np.nan).copy()
            column[rows] = self.values[name][index]
            out[name] = column
        return out


def _is_binary(values: np.ndarray) -> bool:
    seen = values[~np.isnan(values)]
    return bool(len(seen)) and bool(np.isin(seen, (0.0, 1.0)).all())


def _kind(name: str, values: np.ndarray, ordered: Sequence[str]) -> VariableKind:
    if name in ordered and len(ordered_levels(values)) > 1:
        return "ordered"
    return "binary" if _is_binary(values) else "continuous"


def _availability(
    frame: pd.DataFrame, names: Sequence[str], trial: np.ndarray, min_trials: int, min_rows: int
) -> pd.DataFrame:
    """Per covariate: trials that measured it, missing participants, imputed or why not
    (measured nowhere; in fewer than ``min_trials`` trials; in no trial with the ``min_rows``
    observed values its imputation model needs)."""
    rows = []
    trials = np.unique(trial)
    for name in names:
        values = frame[name].to_numpy(dtype=float, na_value=np.nan)
        seen = ~np.isnan(values)
        counts = np.bincount(trial[seen], minlength=len(trials))
        measured = int((counts > 0).sum())
        missing = int((~seen).sum())
        reason = ""
        if measured == 0:
            reason = "measured in no trial"
        elif missing and measured < min_trials:
            reason = f"measured in {measured} trial(s); imputation needs at least {min_trials}"
        elif missing and counts.max() < min_rows:
            reason = (
                f"no trial measured it in {min_rows} participants, the fewest its imputation "
                "model (with every other covariate and outcome, by arm) can be fitted to"
            )
        rows.append(
            {
                "variable": name,
                "trials": len(trials),
                "trials_measured": measured,
                "trials_systematic": len(trials) - measured,
                "participants_missing": missing,
                "fraction_missing": missing / max(len(values), 1),
                "imputed": bool(missing) and not reason,
                "reason": reason,
            }
        )
    return pd.DataFrame(rows)


def impute(
    frame: pd.DataFrame,
    variables: Sequence[str],
    *,
    m: int = 20,
    seed: int = 20200101,
    iterations: int = 10,
    outcomes: Sequence[str] = ("pain", "function"),
    baselines: Sequence[str] = ("pain0", "function0"),
    treatment: str = "treat",
    min_trials: int = 5,
    ordered: Sequence[str] = (),
    random_slopes: bool = False,
    jobs: int = 1,
) -> Imputation:
    """Impute the missing values of ``variables`` in an analysis frame, ``m`` times.

    Parameters
    ----------
    frame
        One row per participant with ``trial``, the treatment (0/1), the outcomes and the
        covariates (numeric; binary covariates coded 0/1).
    variables
        Covariates to impute (complete ones are used as predictors only).
    m, seed, iterations
        Number of completed datasets, the seed (same seed, same imputations) and the
        iterations of each chain.
    outcomes
        Outcome columns used as predictors, with their products with the treatment.
    baselines
        Baseline values of the outcomes (adjusted for in the analysis models): predictors
        with their products with the treatment (imputed themselves where missing).
    min_trials
        A covariate measured in fewer trials is not imputed (its between-trial distribution
        cannot be estimated); it stays missing, with the reason in ``availability``.
    ordered
        Covariates of ``variables`` that are ordered categories coded as numbers (e.g. a 1-5
        scale): imputed among their observed values by a multilevel continuation-ratio
        model with trial-specific cutpoints (:mod:`ipdma.impute._ordered`). Other covariates
        are binary (observed values 0/1) or continuous.
    random_slopes
        If False (default), each conditional model has a trial-specific intercept and
        treatment coefficient (each arm's level of the variable) and trial- and arm-specific
        residual variances, with slopes common to the trials. If True, every coefficient
        varies between trials (micemd's ``2l.2stage``): with few trials the between-trial
        variances of the slopes are overestimated (a truncated moment estimator, drawn from
        its posterior), which adds spurious variance to the values drawn for trials that never
        measured the variable and attenuates the imputed interactions (docs/imputation.md).
    jobs
        Worker processes for the chains (the result does not depend on it).

    Raises
    ------
    InputError
        If a variable is not a numeric column of ``frame``, an ``ordered`` name is not among
        ``variables``, or the treatment is missing or not coded 0/1.
    """
    if m < 2:
        raise InputError("multiple imputation needs m >= 2 completed datasets", value=m)
    if iterations < 1:
        raise InputError("iterations must be at least 1", value=iterations)
    for name in (*variables, treatment, "trial"):
        if name not in frame.columns:
            raise InputError(
                f"variable {name!r} is not in the analysis data",
                variable=name,
                hint="impute only variables of the master dataset",
            )
    for name in variables:
        if not pd.api.types.is_numeric_dtype(frame[name]):
            raise InputError(
                f"variable {name!r} is not numeric; only numeric covariates can be imputed",
                variable=name,
                hint="code categories as numbers (0/1 for binary) or leave it out",
            )
    for name in ordered:
        if name not in variables:
            raise InputError(
                f"ordered variable {name!r} is not among the variables to impute",
                variable=name,
                hint="list it in the modifiers (or adjustment variables) of the plan",
            )
    baselines = tuple(b for b in baselines if b in frame.columns)
    variables = (*variables, *(b for b in baselines if b not in variables))
    trial_codes, trial = np.unique(frame["trial"].astype(str).to_numpy(), return_inverse=True)
    predictors = len(variables) + sum(o in frame.columns for o in outcomes) - 1
    min_rows = 2 * (1 + predictors) + 3  # as the chain requires: (1, T, w, T w), 3 to spare
    availability = _availability(frame, variables, trial, min_trials, min_rows)
    for row in availability.itertuples():
        if row.reason and row.participants_missing:
            warnings.warn(
                f"{row.variable} is not imputed: {row.reason}; its analyses stay complete-case",
                DataWarning,
                stacklevel=2,
            )
    targets = tuple(availability.loc[availability["imputed"], "variable"])
    complete_covariates = tuple(v for v in variables if v not in targets and frame[v].notna().all())
    outcome_names = tuple(o for o in outcomes if o in frame.columns)
    data = {
        name: frame[name].to_numpy(dtype=float, na_value=np.nan)
        for name in (*targets, *complete_covariates, *outcome_names)
    }
    for name, column in data.items():
        infinite = np.isinf(column)
        if infinite.any():
            row = int(np.flatnonzero(infinite)[0])
            raise InputError(
                f"{name} holds an infinite value; it cannot be imputed from or used as a predictor",
                trial=str(frame["trial"].iloc[row]),
                variable=name,
                row=row + 1,
                value=column[row],
                hint="fix the value in the raw file or its recode (missing values are blank/NaN)",
            )
    treat = frame[treatment].to_numpy(dtype=float, na_value=np.nan)
    if np.isnan(treat).any():
        raise InputError(
            "the treatment is missing for some participants",
            variable=treatment,
            hint="analyse participants with a known arm only",
        )
    odd = ~np.isin(treat, (0.0, 1.0))
    if odd.any():
        row = int(np.flatnonzero(odd)[0])
        raise InputError(
            "the treatment must be coded 0 (comparison) / 1 (exercise) for the imputation",
            variable=treatment,
            row=row + 1,
            value=treat[row],
            trial=str(frame["trial"].iloc[row]),
            hint="recode the treatment column",
        )
    chain_vars = (*targets, *(o for o in outcome_names if np.isnan(data[o]).any()))
    kinds = {name: _kind(name, data[name], ordered) for name in chain_vars}
    missing = {name: np.isnan(data[name]) for name in chain_vars}
    order = sorted(targets, key=lambda v: int(missing[v].sum())) + [
        o for o in chain_vars if o not in targets
    ]
    root = np.random.SeedSequence(seed)
    values = {name: np.empty((m, int(missing[name].sum()))) for name in targets}
    chain_rows: list[tuple[str, int, int, float]] = []
    setup = ChainSetup(data, treat, (treat > 0).astype(np.intp), trial,
                        TrialLayout.of(trial, len(trial_codes)),
                        targets, outcome_names,
                        baselines, complete_covariates, order, kinds, missing,
                        random_slopes)  # fmt: skip
    outputs = run_chains(setup, root, m, iterations, jobs)
    for index, (chain_values, rows) in enumerate(outputs):
        chain_rows.extend(rows)
        for name in targets:
            values[name][index] = chain_values[name]
    for array in values.values():
        array.flags.writeable = False
    chains = pd.DataFrame(chain_rows, columns=["variable", "imputation", "iteration", "mean"])
    rhat = _rhat(chains, iterations)
    if iterations >= _RHAT_MIN_ITERATIONS and m >= _RHAT_MIN_CHAINS:
        for name, value in rhat.items():
            if np.isfinite(value) and value > _RHAT_LIMIT:
                warnings.warn(
                    f"the imputation chains of {name} may not have converged (R-hat "
                    f"{value:.2f} > {_RHAT_LIMIT}); increase analysis.imputation.iterations "
                    "and look at the chain means in the report",
                    ConvergenceWarning,
                    stacklevel=2,
                )
    return Imputation(
        frame=frame,
        variables=targets,
        values=values,
        availability=availability,
        chains=chains,
        rhat=rhat,
        m=m,
        seed=seed,
        iterations=iterations,
    )


def _rhat(chains: pd.DataFrame, iterations: int) -> pd.Series:
    """Gelman-Rubin potential scale reduction over the second half of each chain."""
    out = {}
    half = chains[chains["iteration"] > iterations // 2]
    for name, rows in half.groupby("variable", sort=False):
        table = rows.pivot(index="iteration", columns="imputation", values="mean").to_numpy()
        n, chains_count = table.shape
        if n < 2 or chains_count < 2:
            out[name] = np.nan
            continue
        within = table.var(axis=0, ddof=1).mean()
        between = n * table.mean(axis=0).var(ddof=1)
        pooled = (n - 1) / n * within + between / n
        out[name] = float(np.sqrt(pooled / within)) if within > 0 else np.nan
    return pd.Series(out, name="rhat", dtype=float)
