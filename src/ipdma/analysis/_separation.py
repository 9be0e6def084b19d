"""Trials whose own data separate the outcome of a logistic model of the grid.

In the one-stage model (``ipdma.analysis._design``) trial ``i`` has its own parameters: the
stratified intercept ``a_i`` and its random effects ``u_i`` (random slopes of treatment and
baseline, say), while the other fixed coefficients are shared by all trials. Trial ``i`` is
*separated* when its own logistic regression on these trial-specific columns,

    logit P(y_ij = 1) = a_i + r_ij' u_i          (r: the model's random-effect columns)

has no finite maximum-likelihood estimate: there is a direction ``d != 0`` with
``x_ij' d >= 0`` whenever ``y_ij = 1`` and ``<= 0`` whenever ``y_ij = 0``, ``x = (1, r)``
(complete or quasi-complete separation, Albert & Anderson 1984, Biometrika 71:1), e.g.
every exercise participant of the trial recovered and no comparison participant did. The
check is the linear programme of :func:`ipdma.models._logistic_design.detect_separation`
on the trial's rows. (A separation along shared columns only is not the trial's: those
coefficients are identified by the other trials; separation of the whole data set is in
the fit's convergence record, ``separated_terms``.)

Such a trial pushes its random effect towards infinity, held back only by the random-effect
distribution: the variance and the pooled estimate are inflated and unstable (in the
motivating case an OR of 24 with CI 0.5 to 1138). Its own two-stage estimate does not exist
either. The record of the model names these trials (:attr:`ModelResult.separated`);
tables, the report and the importance rule mark them.
"""

from __future__ import annotations

import re

import numpy as np

from ._design import PreparedModel

__all__ = ["separated_in", "separated_trials", "separation_note"]

_RANDOM = re.compile(r"\(([^()|]*)\|\|?[^()]*\)")


def _trial_columns(prepared: PreparedModel) -> list[str]:
    """The model's random-effect columns (with the stratified intercept: the trial's own
    parameters)."""
    rhs = prepared.formula.split("~", 1)[1]
    names: list[str] = []
    for part in _RANDOM.findall(rhs):
        for name in (t.strip() for t in part.split("+")):
            if name and name not in names and name in prepared.data.columns:
                names.append(name)
    return [n for n in names if n not in ("y", "trial")]


def separated_trials(prepared: PreparedModel) -> tuple[str, ...]:
    """The trials (sorted ids) whose own data separate the outcome on their trial-specific
    columns (intercept and random effects) in a logistic model; empty for linear models."""
    if prepared.family != "binomial":
        return ()
    data = prepared.data
    columns = _trial_columns(prepared)
    values = data[columns].to_numpy(float) if columns else np.empty((len(data), 0))
    return separated_in(data["y"].to_numpy(float), data["trial"].astype(str).to_numpy(), values)


def separated_in(y_all: np.ndarray, trial_all: np.ndarray, values: np.ndarray) -> tuple[str, ...]:
    """The trials (sorted ids) whose own rows separate the 0/1 outcome ``y_all`` on an
    intercept and the columns ``values`` (the trial's own parameters; see the module
    docstring). A trial whose outcome does not vary is not counted."""
    from ..models._logistic_design import detect_separation

    found = []
    for trial in sorted(set(trial_all)):
        rows = trial_all == trial
        y = y_all[rows]
        if y.size == 0 or np.all(y == y[0]):  # only the intercept is infinite: the trial
            continue  # says nothing about the effects and leaves them alone
        x = values[rows]
        x = x[:, np.ptp(x, axis=0) > 0] if x.shape[1] else x
        design = np.column_stack([np.ones(y.size), x])
        if detect_separation(design, y, np.ones(y.size)) is not None:
            found.append(trial)
    return tuple(found)


def separation_note(trials: tuple[str, ...] | list[str], mark: str = "") -> str:
    """The sentence explaining a separation mark: which trials and what it means."""
    one = len(trials) == 1
    lead = f"{mark} " if mark else ""
    return (
        f"{lead}separation in {'trial' if one else 'trials'} {', '.join(trials)}: the outcome "
        f"is perfectly predicted within {'that trial' if one else 'those trials'} (e.g. every "
        f"exercise participant recovered), so {'its' if one else 'their'} own odds ratio is "
        "infinite; the one-stage estimate is kept finite only by the random-effect "
        "distribution and is unstable (at the boundary, CI very wide). Interpret with "
        "caution; never listed as important."
    )
