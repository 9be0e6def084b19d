"""Trials whose own data separate the outcome of a logistic model of the grid.

Trial ``i`` is *separated* in a model when its own logistic regression with the model's
trial-specific structure,

    logit P(y_ij = 1) = a_i + x_ij' beta_i        (x: baseline, treatment, modifier, ...
                                                   every column of the model, fixed or random)

has no finite maximum-likelihood estimate: there is a direction ``d != 0`` with
``x_ij' d >= 0`` whenever ``y_ij = 1`` and ``<= 0`` whenever ``y_ij = 0`` (complete or
quasi-complete separation, Albert & Anderson 1984, Biometrika 71:1), e.g. every exercise
participant of the trial recovered. The check is the linear programme of
:func:`ipdma.models._logistic_design.detect_separation` on the trial's rows.

Such a trial's own estimate is infinite, so the two-stage analysis cannot use it (stage 1
has no estimate), and the one-stage estimate borrows its finiteness from the random-effect
distribution only: it is unstable, often far out at the boundary, with a very wide CI. The
record of the model names these trials (:attr:`ModelResult.separated`); tables, the report
and the importance rule mark them.
"""

from __future__ import annotations

import re

import numpy as np

from ._design import PreparedModel

__all__ = ["separated_trials", "separation_note"]

_RANDOM = re.compile(r"\(([^()|]*)\|\|?[^()]*\)")


def _model_columns(prepared: PreparedModel) -> list[str]:
    """Columns of the model's fixed and random parts (the stratified intercepts aside)."""
    rhs = prepared.formula.split("~", 1)[1]
    names: list[str] = []
    for part in [*_RANDOM.findall(rhs), _RANDOM.sub("", rhs)]:
        for name in (t.strip() for t in part.split("+")):
            if name and name not in names and name in prepared.data.columns:
                names.append(name)
    return [n for n in names if n not in ("y", "trial")]


def separated_trials(prepared: PreparedModel) -> tuple[str, ...]:
    """The trials (sorted ids) whose own data separate the outcome of a logistic model;
    empty for linear models."""
    if prepared.family != "binomial":
        return ()
    from ..models._logistic_design import detect_separation

    data = prepared.data
    columns = _model_columns(prepared)
    y_all = data["y"].to_numpy(float)
    trial_all = data["trial"].astype(str).to_numpy()
    values = data[columns].to_numpy(float) if columns else np.empty((len(data), 0))
    found = []
    for trial in sorted(set(trial_all)):
        rows = trial_all == trial
        y = y_all[rows]
        if y.size == 0 or np.all(y == y[0]):
            found.append(trial)  # no variation: the trial's intercept is infinite
            continue
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
