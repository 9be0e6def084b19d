"""Coordinating side of the federated logistic protocol: the engine's optimiser, remote trials.

The logistic engine (``models._logistic``) maximises the AGHQ log-likelihood by Newton's
method over an arrow-structured Hessian; every quantity it uses is a sum over trials of
per-trial pieces evaluated at the current parameters (``_logistic_newton._Problem``). Here
the same optimiser runs on a :class:`_RemoteProblem` whose per-trial evaluation is done by
the sites holding the trials (``_binomial_site``), one round of messages per evaluation;
the sequence of steps is the one ``fit_binomial`` takes (GLM start, Laplace fit, second
start, AGHQ polish, boundary check, observed information), so the result equals the pooled
fit. The model's design comes from the sites' raw summaries (``_design``), as for linear
models. Rounds (one message to every site) and bytes are counted by the transport.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..analysis._design import Term, TooFewTrials
from ..analysis._plan import AnalysisPlan
from ..errors import InputError
from ..models._aghq import BinomialData, Evaluation, hermite_grid
from ..models._formula import parse_formula
from ..models._logistic import GRADIENT_TOL, RESTART_TOL, SINGULAR_TOL
from ..models._logistic_boundary import boundary_parameters, verify_boundary
from ..models._logistic_design import Prepared
from ..models._logistic_newton import _MAX_STEP, _newton_step, _Problem, maximize, negative_hessian
from ..models._logistic_result import build_result
from ..models._result import MixedResult
from ._coordinate import models_of, verified
from ._design import FederatedModel, federated_design
from ._disclosure import DisclosureRules
from ._file import SiteSummaries, plan_hash
from ._layout import federable_binomial
from ._transport import Transport

__all__ = ["FederatedFit", "fit_binomial_remote", "fit_federated_binomial"]


@dataclass(frozen=True)
class FederatedFit:
    """A logistic model fitted by the protocol, with what it cost."""

    result: MixedResult
    rounds: int
    messages: int
    bytes_sent: int
    bytes_received: int
    terms: tuple[Term, ...] = ()  # the reported terms (studies, participants, levels)


class _Sites:
    """The sites holding the model's trials, in the engine's trial order."""

    def __init__(self, transport: Transport, owner: dict[str, str], trials: tuple[str, ...]):
        self.transport = transport
        self.trials = trials
        self.owner = owner
        self.rounds = 0

    def ask(self, per_site: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        self.rounds += 1
        return {site: self.transport.exchange(site, msg) for site, msg in per_site.items()}


class _RemoteProblem(_Problem):
    """``_Problem`` whose per-trial evaluation runs at the sites."""

    sites: _Sites
    rows_of: dict[str, np.ndarray]  # site -> positions of its used trials
    nagq: int

    def __post_init__(self) -> None:  # units come from the sites' sums of squares
        pass

    def evaluate(self, theta, alpha, modes, *, gradient=True) -> Evaluation:
        requests = {
            site: {
                "kind": "evaluate",
                "theta": theta,
                "alpha": alpha[rows],
                "modes": modes[rows],
                "nagq": self.nagq,
                "gradient": gradient,
            }
            for site, rows in self.rows_of.items()
        }
        answers = self.sites.ask(requests)
        K = self.data.ntrials
        loglik = np.empty(K)
        new_modes = np.empty_like(modes)
        grad = info = None
        for site, rows in self.rows_of.items():
            a = answers[site]
            loglik[rows] = a["loglik"]
            new_modes[rows] = a["modes"]
            if "gradient" in a:
                grad = np.empty((K, a["gradient"].shape[1])) if grad is None else grad
                grad[rows] = a["gradient"]
            if "information" in a:
                info = np.empty((K, *a["information"].shape[1:])) if info is None else info
                info[rows] = a["information"]
        lower = answers[next(iter(answers))]["lower"]
        return Evaluation(loglik, grad, new_modes, lower, given_information=info)


def _glm_start(sites: _Sites, rows_of, ps: int, K: int, iterations: int = 25):
    """``glm_start`` of the engine with the per-trial sums computed at the sites."""
    beta, alpha = np.zeros(ps), np.zeros((K, 1))
    mask = np.ones((K, 1), dtype=bool)
    for _ in range(iterations):
        answers = sites.ask(
            {s: {"kind": "glm", "beta": beta, "alpha": alpha[r]} for s, r in rows_of.items()}
        )
        G = np.empty((K, ps + 1))
        H = np.empty((K, ps + 1, ps + 1))
        for site, rows in rows_of.items():
            G[rows], H[rows] = answers[site]["G"], answers[site]["H"]
        step = _newton_step(
            H[:, :ps, :ps].sum(axis=0), H[:, :ps, ps:] * mask[:, None, :], H[:, ps:, ps:],
            G[:, :ps].sum(axis=0), G[:, ps:], 1e-8,
        )  # fmt: skip
        if step is None:
            break
        d_beta, d_alpha = step
        biggest = max(np.max(np.abs(d_beta), initial=0.0), np.max(np.abs(d_alpha), initial=0.0))
        if biggest > _MAX_STEP:
            d_beta, d_alpha = d_beta * _MAX_STEP / biggest, d_alpha * _MAX_STEP / biggest
        beta, alpha = beta + d_beta, alpha + d_alpha
        if biggest < 1e-4:
            break
    return beta, alpha


@dataclass(frozen=True)
class _Layout:
    formula: Any
    fixed_names: tuple[str, ...]
    random_names: tuple[str, ...]
    re_blocks: tuple[np.ndarray, ...]
    group_name: str
    group_levels: tuple[str, ...]
    dropped: pd.Series
    nobs: int

    @property
    def ngroups(self) -> int:
        return len(self.group_levels)


def fit_binomial_remote(
    model: FederatedModel, plan: AnalysisPlan, transport: Transport, owner: dict[str, str]
) -> FederatedFit:
    """Fit ``model`` (a logistic model of the plan) with its trials held by the sites.

    ``owner`` maps each trial to the site (transport name) that holds it.
    """
    cp, spec = model.crossproducts, model.spec
    trials = cp.group_levels
    q, ps, K = len(cp.random_names), len(cp.fixed_names) - len(trials), len(trials)
    nagq = plan.model.nagq
    lam_rows, lam_cols = [], []
    for block in cp.re_blocks:
        for a_pos, a in enumerate(block):
            for b in block[: a_pos + 1]:
                lam_rows.append(int(a))
                lam_cols.append(int(b))
    sites = _Sites(transport, owner, trials)
    before = (transport.messages, transport.bytes_sent, transport.bytes_received)
    members: dict[str, list[int]] = {}
    for k, t in enumerate(trials):
        members.setdefault(owner[t], []).append(k)
    by_site = {site: np.asarray(ks) for site, ks in members.items()}
    setup = sites.ask(
        {
            site: {
                "kind": "setup",
                "model": spec.id,
                "plan_hash": plan_hash(plan.record()),
                "trials": np.asarray(trials)[idx],
                "A": model.coefficients[idx],
                "q": q,
                "n_fixed": ps,
                "lam_rows": np.asarray(lam_rows),
                "lam_cols": np.asarray(lam_cols),
            }
            for site, idx in ((s, np.asarray(i)) for s, i in by_site.items())
        }
    )
    used = np.zeros(K, dtype=bool)
    squares = np.zeros((K, ps + 1 + q))
    n = np.zeros(K)
    for site, idx in by_site.items():
        used[idx] = setup[site]["used"]
        squares[idx] = setup[site]["squares"]
        n[idx] = setup[site]["n"]
    used_idx = np.flatnonzero(used)
    position = np.full(K, -1)
    position[used_idx] = np.arange(len(used_idx))
    rows_of = {
        site: position[np.asarray(idx)][used[np.asarray(idx)]] for site, idx in by_site.items()
    }
    Ku = len(used_idx)
    skeleton = BinomialData(
        y=np.zeros(0), size=np.zeros(0), X=np.zeros((0, ps + 1)), Z=np.zeros((0, q)),
        starts=np.zeros(Ku, dtype=np.intp), trial_index=np.zeros(0, dtype=np.intp),
        n_shared=ps, lam_rows=np.asarray(lam_rows, np.intp), lam_cols=np.asarray(lam_cols, np.intp),
    )  # fmt: skip
    mask = np.ones((Ku, 1), dtype=bool)
    nu = n[used_idx].sum()
    rms = np.sqrt(squares[used_idx].sum(0) / nu)
    local_rms = np.sqrt(squares[used_idx, ps] / n[used_idx])[:, None]

    def problem(points: int) -> _RemoteProblem:
        p = _RemoteProblem(skeleton, *hermite_grid(points, q), mask)
        p.sites, p.rows_of, p.nagq = sites, rows_of, points
        unit = np.r_[rms[:ps], rms[ps + 1 :][skeleton.lam_rows]]
        p.theta_unit = np.where(unit > 1e-12, 1.0 / np.maximum(unit, 1e-12), 1.0)
        p.alpha_unit = np.where(local_rms > 1e-12, 1.0 / np.maximum(local_rms, 1e-12), 1.0)
        p.theta_max, p.alpha_max = unit, local_rms  # (the separation screen is not run)
        return p

    lap = problem(1)
    quad = lap if nagq == 1 else problem(nagq)
    beta0, alpha0 = _glm_start(sites, rows_of, ps, Ku)
    z_rms = rms[ps + 1 :]
    diag = skeleton.lam_rows == skeleton.lam_cols
    lam0 = np.zeros(len(lam_rows))
    lam0[diag] = 0.2 / np.maximum(z_rms[skeleton.lam_rows[diag]], 1e-8)
    opt = maximize(lap, np.r_[beta0, lam0], alpha0, tol=1e-10 if nagq == 1 else 1e-6)
    lam_hat = opt.theta[ps:]
    lam_alt = np.where(np.abs(lam_hat) > 0.05, 1.5 * lam_hat, 0.5 * lam0)
    alt = maximize(lap, np.r_[opt.theta[:ps], lam_alt], opt.alpha, modes=opt.evaluation.modes,
                   hessian=opt.hessian, tol=1e-7)  # fmt: skip
    f1, f2 = opt.evaluation.loglik.sum(), alt.evaluation.loglik.sum()
    if f2 > f1 + RESTART_TOL:
        opt, f1 = alt, f2
    agree = abs(f2 - f1) <= RESTART_TOL
    if nagq > 1:
        opt = maximize(quad, opt.theta, opt.alpha, modes=opt.evaluation.modes,
                       hessian=opt.hessian, tol=1e-10)  # fmt: skip
    at_zero = boundary_parameters(quad, opt.theta, SINGULAR_TOL)
    if at_zero.size == 0:
        hessian = negative_hessian(quad, opt.theta, opt.alpha, opt.evaluation, central=False)
        gmax = opt.gradient_max
        converged = bool(agree and gmax < GRADIENT_TOL)
        convergence = f"federated: max |gradient| {gmax:.1e} in parameter units"
    else:
        names = tuple(f"sd({cp.random_names[skeleton.lam_rows[j - ps]]})" for j in at_zero)
        check = verify_boundary(quad, opt, at_zero, names)
        f_held = check.optimum.evaluation.loglik.sum()
        if f_held >= opt.evaluation.loglik.sum() - RESTART_TOL:
            opt, hessian, gmax = check.optimum, check.hessian, check.gradient_max
        else:
            hessian = negative_hessian(quad, opt.theta, opt.alpha, opt.evaluation, central=False)
            gmax = max(check.gradient_max, opt.gradient_max)
        converged = bool(agree and gmax < GRADIENT_TOL and check.gain <= RESTART_TOL)
        convergence = f"federated boundary fit: {', '.join(names)} held at 0"
    L = skeleton.lower(opt.theta[ps:])
    singular = bool(np.any(np.abs(np.diagonal(L)) < SINGULAR_TOL))
    layout = _Layout(
        formula=parse_formula(cp.formula),
        fixed_names=cp.fixed_names,
        random_names=cp.random_names,
        re_blocks=cp.re_blocks,
        group_name="trial",
        group_levels=trials,
        dropped=pd.Series(0, index=pd.Index(trials, name="trial"), dtype=int),
        nobs=int(n.sum()),
    )
    local_index = np.full((Ku, 1), -1, dtype=np.intp)
    local_index[:, 0] = used_idx  # C(trial)[level] is fixed column k for trial k
    prep = Prepared(
        data=skeleton,
        shared_index=K + np.arange(ps),
        local_index=local_index,
        used_trials=used_idx,
        excluded=tuple(trials[k] for k in np.flatnonzero(~used)),
        messages=(),
    )
    result = build_result(layout, prep, opt, hessian, nagq=nagq, converged=converged,  # type: ignore[arg-type]
                          convergence=convergence, singular=singular, messages=(),
                          separated=None)  # fmt: skip
    return FederatedFit(
        result,
        sites.rounds,
        transport.messages - before[0],
        transport.bytes_sent - before[1],
        transport.bytes_received - before[2],
        model.terms,
    )


def fit_federated_binomial(
    summaries: Sequence[SiteSummaries | str | Path],
    transport: Transport,
    plan: AnalysisPlan | dict | None = None,
    *,
    rules: DisclosureRules | None = None,
) -> dict[str, FederatedFit]:
    """Fit every logistic model of the plan by the iterative protocol.

    ``summaries`` are the sites' files (their raw cross-products give the design, as for
    linear models; the site names in them are the ``transport``'s site names). Returns
    ``{model id: FederatedFit}`` (models with fewer than two trials are left out).
    """
    files, plan = verified(summaries, plan, rules)
    owner = {t: s.site for s in files for t in s.trials}
    missing = sorted({s.site for s in files} - set(transport.sites))
    if missing:
        raise InputError(
            f"the transport has no site named {', '.join(map(repr, missing))}",
            hint="name each site in the transport as in its summaries file (--site)",
        )
    out: dict[str, FederatedFit] = {}
    for spec, rule, stacked in models_of(files, plan):
        if spec.family != "binomial" or federable_binomial(spec, plan, rule) is not None:
            continue
        try:
            model = federated_design(spec, plan, stacked, rule)
        except TooFewTrials:
            continue
        out[spec.id] = fit_binomial_remote(model, plan, transport, owner)
    return out
