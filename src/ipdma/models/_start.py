"""Start values for a mixed-model fit (a warm start), and their mapping onto a design.

A warm start helps where many fits of nearly the same model are made, e.g. the ``m`` fits
of one model on multiply imputed data, which differ only in the imputed values of a
covariate: their optima are close to each other and to the complete-case fit of the same
model. ``StartValues.from_result(fit)`` takes a previous fit's estimates; ``StartValues``
can also be written by hand (names -> values).

What a start holds (all on the model's scale: outcome units for gaussian, logit for
binomial):

* ``fixed``: fixed-effect name -> value. Used by the logistic engine (shared coefficients
  and trial-local ones such as stratified intercepts; names the new design does not have
  are ignored, and coefficients the start does not name come from the GLM fit that starts
  a cold fit). The linear engine profiles the fixed effects out, so it does not need them.
* ``covariance``: ``(term1, term2, value)``, the random-effect variances (``term1 ==
  term2``) and covariances by random term. Terms the new design does not have are
  ignored; a random term without a variance starts at the default (SD 0.2 on the
  logit scale for binomial fits; relative SD 0.1 for gaussian ones), a missing covariance
  at 0.
* ``residual_variance`` (gaussian, common residual) or ``trial_residual_variances``
  (trial -> variance, stratified residual). A gaussian start needs one of them (the
  covariance parameters of the linear engine are relative to the residual SD).

How a start is used and why it can never change the optimum reported is in
``ipdma.models._linear`` and ``_logistic`` (section "Warm start"): the convergence criteria
are unchanged, and the second start of the verification is the default one, never derived
from the warm start. A start that cannot be used for the design at hand (no residual
variance for a gaussian fit, covariances that do not form a positive semi-definite
matrix) is ignored: the fit is the default one and its convergence text says why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import SpecError

__all__ = ["StartValues", "covariance_factor"]


def _finite(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise SpecError(
            f"start value {what} = {value!r} is not a number",
            hint="give start values as real numbers, e.g. StartValues.from_result(fit)",
        )
    number = float(value)
    if not math.isfinite(number):
        raise SpecError(
            f"start value {what} = {number!r} is not finite",
            hint="give finite start values, or fit without start=",
        )
    return number


@dataclass(frozen=True)
class StartValues:
    """Start values for :func:`ipdma.mixed` (``start=``); immutable, validated on creation.

    Examples
    --------
    >>> start = StartValues.from_result(complete_case_fit)  # doctest: +SKIP
    >>> ipdma.mixed(formula, completed, family="binomial", start=start)  # doctest: +SKIP
    >>> StartValues.from_mapping({"treat": 0.4}, {"treat": 0.04}, residual_variance=1.2)
    ... # doctest: +SKIP
    """

    fixed: tuple[tuple[str, float], ...] = ()
    covariance: tuple[tuple[str, str, float], ...] = ()
    residual_variance: float | None = None
    trial_residual_variances: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        fixed = tuple((str(name), _finite(v, f"fixed[{name!r}]")) for name, v in self.fixed)
        if len({name for name, _ in fixed}) != len(fixed):
            raise SpecError("start values name a fixed effect twice", hint="name each once")
        covariance = []
        for entry in self.covariance:
            if len(entry) != 3:
                raise SpecError(
                    f"start covariance entry {entry!r} is not (term1, term2, value)",
                    hint="e.g. ('treat', 'treat', 0.04) for a variance",
                )
            a, b, v = entry
            value = _finite(v, f"covariance[{a!r}, {b!r}]")
            if a == b and value < 0:
                raise SpecError(
                    f"start variance of {a!r} is negative ({value:g})",
                    hint="a variance is >= 0",
                )
            covariance.append((str(a), str(b), value))
        pairs = [frozenset((a, b)) for a, b, _ in covariance]
        if len(set(pairs)) != len(pairs):
            raise SpecError("start values give a (co)variance twice", hint="give each once")
        residual = self.residual_variance
        if residual is not None:
            residual = _finite(residual, "residual_variance")
            if residual <= 0:
                raise SpecError(
                    f"start residual variance {residual:g} is not positive",
                    hint="a residual variance is > 0",
                )
        trials = []
        for trial, v in self.trial_residual_variances:
            value = _finite(v, f"trial_residual_variances[{trial!r}]")
            if value <= 0:
                raise SpecError(
                    f"start residual variance of trial {trial!r} is not positive ({value:g})",
                    trial=str(trial),
                    hint="a residual variance is > 0",
                )
            trials.append((str(trial), value))
        object.__setattr__(self, "fixed", fixed)
        object.__setattr__(self, "covariance", tuple(covariance))
        object.__setattr__(self, "residual_variance", residual)
        object.__setattr__(self, "trial_residual_variances", tuple(trials))

    @classmethod
    def from_result(cls, fit) -> StartValues:
        """The estimates of a previous fit (``MixedResult``): fixed effects, the variance
        components of ``fit.varcomp`` and the residual variance(s)."""
        fixef = fit.fixef
        fixed = tuple((str(k), float(v)) for k, v in fixef.items() if np.isfinite(v))
        covariance, trials = [], []
        residual = None
        for row in fit.varcomp.itertuples(index=False):
            value = float(row.variance)
            if not np.isfinite(value):
                continue
            if row.group == "Residual":
                if row.term1 is None or (isinstance(row.term1, float) and np.isnan(row.term1)):
                    residual = value
                else:
                    trials.append((str(row.term1), value))
                continue
            second = row.term2
            missing = second is None or (isinstance(second, float) and np.isnan(second))
            covariance.append((str(row.term1), str(row.term1 if missing else second), value))
        if residual is not None and residual <= 0:
            residual = None
        trials = [(t, v) for t, v in trials if v > 0]
        return cls(tuple(fixed), tuple(covariance), residual, tuple(trials))

    @classmethod
    def from_mapping(
        cls,
        fixed: Mapping[str, float] | None = None,
        variances: Mapping[str, float] | None = None,
        *,
        covariances: Mapping[tuple[str, str], float] | None = None,
        residual_variance: float | None = None,
        trial_residual_variances: Mapping[str, float] | None = None,
    ) -> StartValues:
        """Start values from names -> values (variances by random term)."""
        covariance = [(k, k, v) for k, v in (variances or {}).items()]
        covariance += [(a, b, v) for (a, b), v in (covariances or {}).items()]
        return cls(
            tuple((fixed or {}).items()),
            tuple(covariance),
            residual_variance,
            tuple((trial_residual_variances or {}).items()),
        )

    def covariance_matrix(
        self, names: tuple[str, ...], blocks: list[np.ndarray], default: np.ndarray
    ) -> tuple[np.ndarray, int]:
        """The start's G over the design's random terms ``names`` (only within the design's
        blocks ``blocks``); ``default`` variances where the start has none. Returns G and the
        number of variances the start gave."""
        index = {name: j for j, name in enumerate(names)}
        block_of = {int(a): k for k, block in enumerate(blocks) for a in block}
        G = np.diag(np.asarray(default, dtype=float))
        given = 0
        for a, b, value in self.covariance:
            if a not in index or b not in index:
                continue
            i, j = index[a], index[b]
            if i == j:
                G[i, i] = value
                given += 1
            elif block_of[i] == block_of[j]:
                G[i, j] = G[j, i] = value
        return G, given


def covariance_factor(G: np.ndarray, blocks: list[np.ndarray]) -> np.ndarray | None:
    """Lower-triangular ``L`` with ``L L' = G`` (block by block; a zero variance gives a zero
    column), or None when ``G`` is not positive semi-definite."""
    L = np.zeros_like(G)
    for block in blocks:
        sub = G[np.ix_(block, block)]
        n = len(block)
        F = np.zeros((n, n))
        scale = max(float(np.max(np.diag(sub), initial=0.0)), 1e-300)
        for j in range(n):
            pivot = sub[j, j] - F[j, :j] @ F[j, :j]
            if pivot < -1e-10 * scale:
                return None
            if pivot <= 1e-14 * scale:  # zero variance (or |corr| = 1): a zero column
                rest = sub[j + 1 :, j] - F[j + 1 :, :j] @ F[j, :j]
                if np.any(np.abs(rest) > 1e-7 * scale):
                    return None
                continue
            F[j, j] = math.sqrt(pivot)
            F[j + 1 :, j] = (sub[j + 1 :, j] - F[j + 1 :, :j] @ F[j, :j]) / F[j, j]
        L[np.ix_(block, block)] = F
    return L


def logistic_start(
    start: StartValues,
    design,
    prep,
    problem,
    beta0: np.ndarray,
    lam0: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, str] | str:
    """``(theta, alpha, what)`` of the logistic engine from ``start``, or the reason it is
    not used. Shared coefficients the start does not name keep the GLM fit's values
    ``beta0``; trial-local ones it does not name (e.g. the intercept of a trial the start's
    data lacked) are those of the GLM with the shared coefficients held at the start's
    (``glm_start``); variances it does not give keep the default ``lam0``."""
    from ._logistic_newton import glm_start

    data = prep.data
    names = design.fixed_names
    given = dict(start.fixed)
    beta = beta0.astype(float).copy()
    shared = [given.get(names[c]) for c in prep.shared_index]
    for j, value in enumerate(shared):
        if value is not None:
            beta[j] = value
    alpha = glm_start(problem, beta=beta)[1]
    n_local = n_local_given = 0
    for (i, s), column in np.ndenumerate(prep.local_index):
        if column >= 0:
            n_local += 1
            value = given.get(names[column])
            if value is not None:
                alpha[i, s] = value
                n_local_given += 1
    diagonal = data.lam_rows == data.lam_cols
    default = np.zeros(data.q)
    default[data.lam_rows[diagonal]] = lam0[diagonal] ** 2
    G, n_var = start.covariance_matrix(design.random_names, list(design.re_blocks), default)
    L = covariance_factor(G, list(design.re_blocks))
    if L is None:
        return "its random-effect covariances do not form a positive semi-definite matrix"
    n_shared = sum(v is not None for v in shared)
    what = (
        f"{n_shared} of {len(shared)} shared coefficients, {n_local_given} of {n_local} "
        f"trial-specific ones and {n_var} of {data.q} variances from the start values"
    )
    return np.r_[beta, L[data.lam_rows, data.lam_cols]], alpha, what


def linear_start(
    start: StartValues, design, crit, scale: np.ndarray, log_rho0: np.ndarray, interior: float
) -> tuple[np.ndarray, str] | str:
    """The linear engine's parameters ``x = [theta, log rho]`` from ``start`` (natural units),
    or the reason it is not used.

    ``theta`` is the relative covariance factor ``chol(G / sigma^2)`` (lme4's), ``sigma^2``
    the residual variance (stratified: the reference trial's); ``log rho_i`` the log ratio
    of trial i's residual variance to the reference trial's (``log_rho0``, the within-trial
    least-squares start, where the start has none). A diagonal entry below ``interior``
    (scaled units) is raised to it: the warm start plays the part of the default interior
    start (see ``_linear``), so that the verification's second start, next to the
    boundary, is still a different one.
    """
    levels = [str(level) for level in design.group_levels]
    by_trial = dict(start.trial_residual_variances)
    reference = by_trial.get(levels[crit.reference]) if crit.stratified else None
    if reference is not None:
        sigma2 = reference
    elif start.residual_variance is not None:
        sigma2 = start.residual_variance
    elif by_trial:
        sigma2 = float(np.median(list(by_trial.values())))
    else:
        return "it has no residual variance (a gaussian start needs one)"
    nt = crit.n_theta
    diagonal = crit.diagonal
    default = np.zeros(design.Z.shape[1])
    default[crit.rows[diagonal]] = sigma2 * (interior / scale[:nt][diagonal]) ** 2
    G, n_var = start.covariance_matrix(design.random_names, list(design.re_blocks), default)
    L = covariance_factor(G / sigma2, list(design.re_blocks))
    if L is None:
        return "its random-effect covariances do not form a positive semi-definite matrix"
    theta = L[crit.rows, crit.cols]
    low = diagonal & (np.abs(theta) * scale[:nt] < interior)
    theta[low] = interior / scale[:nt][low]
    log_rho = np.array(log_rho0, dtype=float)
    n_rho = 0
    if crit.stratified and reference is not None:
        for j, trial in enumerate(crit.rho_index):
            value = by_trial.get(levels[trial])
            if value is not None:
                log_rho[j] = math.log(value / reference)
                n_rho += 1
    what = f"{n_var} of {len(default)} variances"
    if crit.stratified:
        what += f" and {n_rho} of {len(log_rho)} residual variance ratios"
    what += " from the start values"
    if low.any():
        what += f" ({int(low.sum())} raised to the interior start's relative SD {interior:g})"
    return np.concatenate([theta, log_rho]), what
