"""Assemble a MixedResult from the optimum of the linear mixed-model criterion."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from .._frozen import FrozenFrame, FrozenSeries
from ._convergence import ConvergenceRecord
from ._design import labels_index
from ._formula import ModelDesign
from ._linear_criterion import Criterion
from ._result import MixedResult
from ._satterthwaite import full_h_inverse, satterthwaite_df

__all__ = ["build_result"]


_VARCOMP_COLUMNS = ["group", "term1", "term2", "variance", "sd", "corr"]


@lru_cache(maxsize=64)
def _varcomp_labels(labels: tuple[tuple, ...]) -> dict:
    """The label columns (group, term1, term2) of a variance-component table, typed as
    pandas infers them from the rows (built once per model structure: string inference
    costs more than the rest of the table)."""
    frame = pd.DataFrame(list(labels), columns=_VARCOMP_COLUMNS[:3])
    return {name: frame[name].array for name in frame.columns}


def _varcomp(design: ModelDesign, crit: Criterion, L: np.ndarray, sigma2: float, sigma_by_trial):
    G = sigma2 * (L @ L.T)
    names = design.random_names
    labels, values = [], []
    for block in design.re_blocks:
        for a in block:
            labels.append((design.group_name, names[a], None))
            values.append((G[a, a], np.sqrt(G[a, a]), np.nan))
        for i, a in enumerate(block):
            for b in block[i + 1 :]:
                denom = np.sqrt(G[a, a] * G[b, b])
                corr = G[a, b] / denom if denom > 0 else np.nan
                labels.append((design.group_name, names[a], names[b]))
                values.append((G[a, b], np.nan, corr))
    if sigma_by_trial is None:
        labels.append(("Residual", None, None))
        values.append((sigma2, np.sqrt(sigma2), np.nan))
    else:
        for level, sd in sigma_by_trial.items():
            labels.append(("Residual", str(level), None))
            values.append((sd * sd, sd, np.nan))
    columns = dict(_varcomp_labels(tuple(labels)))
    numbers = np.array(values, dtype=float).reshape(-1, 3)
    for j, name in enumerate(_VARCOMP_COLUMNS[3:]):
        columns[name] = numbers[:, j].copy()
    frame = FrozenFrame(dict(enumerate(columns.values())))  # integer labels: no inference
    frame.columns = labels_index(tuple(_VARCOMP_COLUMNS), None).view()
    return frame, G


def build_result(
    design: ModelDesign,
    crit: Criterion,
    x_hat: np.ndarray,
    *,
    reml: bool,
    residual: str,
    converged: bool,
    convergence: str,
    singular: bool,
    messages: tuple[str, ...],
    ddf: str = "satterthwaite",
    diagnostics: ConvergenceRecord | None = None,
) -> MixedResult:
    """Estimates, standard errors, Satterthwaite df, variance components and BLUPs at x_hat;
    Kenward-Roger inference from the same design when ``ddf == "kenward-roger"``."""
    s = crit.s
    core = crit.core(x_hat)
    deviance = crit.deviance_from(core)
    sigma2 = core["r2"] / crit.dof
    sigma = float(np.sqrt(sigma2))

    beta = np.zeros(s.p)
    beta[s.global_index] = core["beta_g"]
    used = s.local_index >= 0
    beta[s.local_index[used]] = core["beta_l"][used]
    Hinv = full_h_inverse(crit, core)
    vcov = sigma2 * Hinv
    df, hess_eigen = satterthwaite_df(crit, core, x_hat, sigma, Hinv)

    # BLUPs: b_i = Lambda M_i^{-1} Lambda' Z_i' (y_i - X_i beta) / rho_i
    blup = crit.blups(core)
    levels = labels_index(design.group_levels, design.group_name).view()
    ranef = FrozenFrame(blup, index=levels, columns=labels_index(design.random_names, None).view())

    sigma_by_trial = None
    sigma_out: float | pd.Series = sigma
    if crit.stratified:
        rho = np.exp(crit.log_rho(x_hat))
        sigma_by_trial = pd.Series(sigma * np.sqrt(rho), index=levels, name="sigma")
        sigma_out = sigma_by_trial
    varcomp, covariance = _varcomp(design, crit, core["L"], sigma2, sigma_by_trial)
    kr = None
    if ddf == "kenward-roger":
        residual_variance = (
            sigma_by_trial.to_numpy() ** 2
            if sigma_by_trial is not None
            else np.full(design.ngroups, sigma2)
        )
        from ._kenward_roger import kenward_roger  # on request only (not every fit)

        kr = kenward_roger(
            design, covariance, residual_variance, stratified=sigma_by_trial is not None
        )

    # one index shared by the read-only containers
    names = labels_index(design.fixed_names, None).view()
    n_par = s.p + crit.n_params + 1
    nobs = design.nobs
    return MixedResult(
        formula=design.formula.formula,
        family="gaussian",
        method="REML" if reml else "ML",
        fixef=FrozenSeries(beta, index=names, name="estimate"),
        se=FrozenSeries(np.sqrt(np.diag(vcov)), index=names, name="se"),
        vcov=FrozenFrame(vcov, index=names, columns=names),
        df=FrozenSeries(df, index=names, name="df"),
        varcomp=varcomp,
        sigma=sigma_out,
        loglik=-deviance / 2,
        aic=deviance + 2 * n_par,
        bic=deviance + np.log(nobs) * n_par,
        nobs=nobs,
        ngroups=design.ngroups,
        converged=converged,
        convergence=convergence,
        singular=singular,
        ranef=ranef,
        dropped=design.dropped,
        warnings=messages,
        residual=residual,
        ddf=ddf,
        kenward_roger=kr,
        diagnostics=diagnostics,
        details={
            "theta": x_hat[: crit.n_theta].copy(),
            "log_rho": crit.log_rho(x_hat),
            "deviance": deviance,
            "varpar_hessian_eigenvalues": hess_eigen,
            "n_local_fixed": int(used.sum()),
        },
    )
