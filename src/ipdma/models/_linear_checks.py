"""Checks of a linear mixed-model design before fitting: outcomes that do not vary, trials
that cannot estimate their own residual variance (stratified residuals), and data warnings."""

from __future__ import annotations

import numpy as np

from ..errors import ModelError
from ._formula import ModelDesign

__all__ = [
    "EXACT_FIT_TOL",
    "check_outcome_varies",
    "data_warnings",
    "own_variance",
    "own_variance_dof",
    "within_trial_fit",
]

EXACT_FIT_TOL = 1e-10  # a trial's own residual SS below this fraction of its y'y is exact


def own_variance_dof(stats) -> np.ndarray:
    """Residual degrees of freedom of each trial for its own residual variance,
    ``n_i - rank([Z_i, X_i local])``: what is left after the trial's random effects and its
    trial-local fixed columns (e.g. its stratified intercept); the shared fixed effects are
    estimated from all trials and use none of it."""
    width = stats.ZtZ.shape[1] + stats.m
    gram = np.concatenate(
        [
            np.concatenate([stats.ZtZ, stats.ZtU[:, :, : stats.m]], axis=2),
            np.concatenate(
                [np.swapaxes(stats.ZtU[:, :, : stats.m], 1, 2), stats.UtU[:, : stats.m, : stats.m]],
                axis=2,
            ),
        ],
        axis=1,
    )
    rank = np.linalg.matrix_rank(gram) if width else np.zeros(len(stats.n))
    return stats.n - rank


def within_trial_fit(stats) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each trial's own least-squares fit of y on [Z, X]: residual sum of squares, residual
    degrees of freedom ``n_i - rank`` and ``y_i'y_i`` (per trial, from the cross-products)."""
    ZtU = stats.ZtU[:, :, :-1]
    top = np.concatenate([stats.ZtZ, ZtU], axis=2)
    bottom = np.concatenate([np.swapaxes(ZtU, 1, 2), stats.UtU[:, :-1, :-1]], axis=2)
    gram = np.concatenate([top, bottom], axis=1)
    cross = np.concatenate([stats.ZtU[:, :, -1], stats.UtU[:, :-1, -1]], axis=1)
    coef = np.einsum("kab,kb->ka", np.linalg.pinv(gram), cross)
    yty = stats.UtU[:, -1, -1]
    rss = np.maximum(yty - np.einsum("ka,ka->k", coef, cross), 0.0)
    dof = stats.n - np.linalg.matrix_rank(gram)
    return rss, dof, yty


def check_outcome_varies(design: ModelDesign) -> None:
    """A constant outcome has residual variance 0: the likelihood is unbounded."""
    y = design.y
    if len(y) and np.all(y == y[0]):
        raise ModelError(
            f"the outcome {design.response_name!r} does not vary: all {len(y)} complete rows "
            f"have the value {y[0]:g}; a linear mixed model needs a varying outcome",
            variable=design.response_name,
            value=float(y[0]),
            hint="check that the right column is the outcome (and its coding)",
        )


def own_variance(design: ModelDesign, stats) -> np.ndarray:
    """Stratified residuals: which trials can estimate their own residual variance
    (``own_variance_dof`` > 0; the others share the reference trial's).

    Raises ModelError for a trial whose outcome that fit reproduces exactly (e.g. it does
    not vary within the trial): its own residual variance would go to 0 and the likelihood
    is unbounded (nlme::lme with varIdent fails there too).
    """
    rss, dof, yty = within_trial_fit(stats)
    own = own_variance_dof(stats) > 0
    y = np.ascontiguousarray(design.y, dtype=float)
    starts = np.minimum(design.group_starts[:-1], max(len(y) - 1, 0))  # ranges by reduceat
    constant = (np.diff(design.group_starts) > 1) & (
        np.minimum.reduceat(y, starts) == np.maximum.reduceat(y, starts)
    )
    exact = np.flatnonzero(own & (((dof > 0) & (rss <= EXACT_FIT_TOL * yty)) | constant))
    if len(exact):
        i = int(exact[0])
        trial = design.group_levels[i]
        y_i = design.y[design.group_slices[i]]
        what = (
            f"does not vary within trial {trial} (all {len(y_i)} values are {y_i[0]:g})"
            if np.all(y_i == y_i[0])
            else f"is fitted exactly by trial {trial}'s own covariates (residuals all 0)"
        )
        more = ", ".join(str(design.group_levels[j]) for j in exact[1:6])
        raise ModelError(
            f"the outcome {design.response_name!r} {what}, so trial {trial}'s own residual "
            "variance would be estimated as 0 and the stratified likelihood is unbounded"
            + (f" (also trial(s) {more})" if more else ""),
            trial=str(trial),
            variable=design.response_name,
            hint=f"use residual='common' (one residual variance for all trials) or drop trial "
            f"{trial}",
        )
    return own


def data_warnings(
    design: ModelDesign, residual: str, own_variance: np.ndarray | None, reference: int
) -> list[str]:
    """Trials with one participant (or, stratified, no residual degrees of freedom), random
    covariates that do not vary within a trial."""
    out = []
    starts = design.group_starts
    sizes = np.diff(starts)
    if residual == "stratified" and own_variance is not None and own_variance.any():
        ref = design.group_levels[reference]
        for i in np.flatnonzero(~own_variance):
            out.append(
                f"trial {design.group_levels[i]} has no residual degrees of freedom "
                f"({sizes[i]} participant(s), no more than its random effects and own fixed "
                "terms); its "
                "residual variance cannot be estimated, so it keeps the starting ratio 1 to "
                f"the reference trial {ref}'s (shares trial {ref}'s residual variance, not "
                "optimised) and contributes little to the random effects"
            )
    else:
        for i in np.flatnonzero(sizes == 1):
            out.append(
                f"trial {design.group_levels[i]} has a single participant; it is kept in the "
                "fit and contributes little to the random effects"
            )
    Z = design.Z
    if len(Z):
        for j, name in enumerate(design.random_names):
            # one contiguous column at a time: numpy reduces the columns of a tall, narrow
            # row-major array along axis 0 several times slower (0.25 s at 3 million rows)
            column = np.ascontiguousarray(Z[:, j])
            if column.min() == column.max():
                continue
            lo = np.minimum.reduceat(column, starts[:-1])
            hi = np.maximum.reduceat(column, starts[:-1])
            flat = np.flatnonzero((lo == hi) & (sizes > 1))
            if len(flat):
                trials = ", ".join(str(design.group_levels[i]) for i in flat[:10])
                more = f" and {len(flat) - 10} more" if len(flat) > 10 else ""
                out.append(
                    f"random-effect covariate {name!r} does not vary within trial(s) {trials}"
                    f"{more}; the fit keeps these trials, which carry no within-trial "
                    f"information on the random {name!r} effect (their BLUPs for it are "
                    "shrunk towards 0)"
                )
    return out
