"""Assemble a MixedResult from the optimum of the AGHQ log-likelihood."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._convergence import ConvergenceRecord
from ._formula import ModelDesign
from ._logistic_design import Prepared
from ._logistic_newton import Optimum
from ._result import MixedResult

__all__ = ["build_result"]


def _full_information(hessian, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense minus-Hessian over [shared coefficients, L entries, valid local slots]."""
    shared, couple, local = hessian
    nt = shared.shape[0]
    ii, ss = np.nonzero(mask)
    pos = nt + np.arange(len(ii))
    N = np.zeros((nt + len(ii), nt + len(ii)))
    N[:nt, :nt] = shared
    N[:nt, pos] = couple[ii, :, ss].T
    N[pos, :nt] = couple[ii, :, ss]
    where = np.full(mask.shape, -1)
    where[ii, ss] = pos
    for s1 in range(mask.shape[1]):
        for s2 in range(mask.shape[1]):
            both = mask[:, s1] & mask[:, s2]
            N[where[both, s1], where[both, s2]] = local[both, s1, s2]
    return N, where


def _varcomp(design: ModelDesign, G: np.ndarray) -> pd.DataFrame:
    names = design.random_names
    rows = []
    for block in design.re_blocks:
        for a in block:
            rows.append((design.group_name, names[a], None, G[a, a], np.sqrt(G[a, a]), np.nan))
        for i, a in enumerate(block):
            for b in block[i + 1 :]:
                denom = np.sqrt(G[a, a] * G[b, b])
                corr = G[a, b] / denom if denom > 0 else np.nan
                rows.append((design.group_name, names[a], names[b], G[a, b], np.nan, corr))
    return pd.DataFrame(rows, columns=["group", "term1", "term2", "variance", "sd", "corr"])


def _lme4_theta(design: ModelDesign, L: np.ndarray) -> list[float]:
    """lme4's ``getME(fit, "theta")``: each block's lower triangle, column by column."""
    out: list[float] = []
    for block in design.re_blocks:
        for j, b in enumerate(block):
            out.extend(float(L[a, b]) for a in block[j:])
    return out


def build_result(
    design: ModelDesign,
    prep: Prepared,
    opt: Optimum,
    hessian,
    *,
    nagq: int,
    converged: bool,
    convergence: str,
    singular: bool,
    messages: tuple[str, ...],
    separated: np.ndarray | None,
    diagnostics: ConvergenceRecord | None = None,
) -> MixedResult:
    """Estimates, standard errors (observed information), variance components, modes."""
    data = prep.data
    ps, q = data.n_shared, data.q
    mask = prep.local_index >= 0
    L = data.lower(opt.theta[ps:])
    modes = opt.evaluation.modes.copy()
    flip = np.diagonal(L) < 0  # L and -L give the same G; report lme4's sign convention
    L[:, flip] *= -1
    modes[:, flip] *= -1

    N, where = _full_information(hessian, mask)
    notes = []
    p = len(design.fixed_names)
    param_of = np.full(p, -1)
    param_of[prep.shared_index] = np.arange(ps)
    param_of[prep.local_index[mask]] = where[mask]
    try:
        np.linalg.cholesky(N)
        cov = np.linalg.inv(N)
    except np.linalg.LinAlgError:
        cov, flat = _covariance_without_information(N)
        names = [design.fixed_names[j] for j in np.flatnonzero(np.isin(param_of, flat))]
        which = ", ".join(names[:6]) + (" ..." if len(names) > 6 else "")
        notes.append(
            "the information matrix is not positive definite at the optimum (the "
            "likelihood is flat or not at a maximum along some direction): the standard "
            f"errors of {which or 'the variance parameters'} are not available (NaN); the "
            "others come from the information on the remaining directions"
        )
    if separated is not None:  # estimates along the separating direction are arbitrary
        moving = np.flatnonzero((np.abs(separated) > 1e-6) & (param_of >= 0))
        cov[param_of[moving], :] = np.nan
        cov[:, param_of[moving]] = np.nan
    fixef = np.full(p, np.nan)
    fixef[prep.shared_index] = opt.theta[:ps]
    fixef[prep.local_index[mask]] = opt.alpha[mask]
    vc = np.full((p, p), np.nan)
    ok = param_of >= 0
    vc[np.ix_(ok, ok)] = cov[np.ix_(param_of[ok], param_of[ok])]

    names = pd.Index(list(design.fixed_names))  # one index for every per-coefficient frame
    levels = pd.Index(design.group_levels, name=design.group_name)
    ranef = np.full((design.ngroups, q), np.nan)
    ranef[prep.used_trials] = modes @ L.T
    G = L @ L.T
    loglik = float(opt.evaluation.loglik.sum() + data.log_choose)
    n_par = int(ok.sum()) + len(data.lam_rows)
    nobs = design.nobs
    details = {
        "nagq": nagq,
        "theta": _lme4_theta(design, L),
        "iterations": opt.iterations,
        "gradient_max": opt.gradient_max,
        "excluded_trials": prep.excluded,
        "n_local_fixed": int(mask.sum()),
        "separation_direction": None if separated is None else separated.tolist(),
    }
    return MixedResult(
        formula=design.formula.formula,
        family=data.family.name,
        method="Laplace" if nagq == 1 else f"AGHQ({nagq})",
        fixef=pd.Series(fixef, index=names, name="estimate"),
        se=pd.Series(np.sqrt(np.diag(vc)), index=names, name="se"),
        vcov=pd.DataFrame(vc, index=names, columns=names),
        df=pd.Series(np.inf, index=names, name="df"),
        varcomp=_varcomp(design, G),
        sigma=None,
        loglik=loglik,
        aic=-2 * loglik + 2 * n_par,
        bic=-2 * loglik + np.log(nobs) * n_par,
        nobs=nobs,
        ngroups=design.ngroups,
        converged=converged,
        convergence=convergence,
        singular=singular,
        ranef=pd.DataFrame(ranef, index=levels, columns=pd.Index(list(design.random_names))),
        dropped=design.dropped,
        warnings=tuple(messages) + tuple(notes),
        details=details,
        diagnostics=diagnostics,
    )


def _covariance_without_information(N: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of ``N`` on its positive eigen-directions; NaN for parameters touching the rest.

    A pseudo-inverse would silently give such parameters a finite (too small, even zero)
    variance; a parameter with no information along a direction has no standard error.
    """
    w, V = np.linalg.eigh((N + N.T) / 2)
    good = w > max(float(w.max(initial=0.0)), 1.0) * 1e-10
    cov = (V[:, good] / w[good]) @ V[:, good].T
    flat = np.flatnonzero(np.any(np.abs(V[:, ~good]) > 1e-6, axis=1))
    cov[flat, :] = np.nan
    cov[:, flat] = np.nan
    return cov, flat
