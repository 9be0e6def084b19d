"""One-stage IPD + aggregate-data linear mixed model (Riley et al. 2008; issue 20).

(a) AD trials only: equal to the random-effects meta-analysis of the estimates
    (ipdma.meta.pool, REML / ML, itself matched to metafor);
(b) IPD + AD against a dense R implementation of the same likelihood
    (tests/reference/aggregate_onestage.R), and IPD only against ipdma.mixed (lme4-matched);
(c) planted truth: IPD and AD trials simulated from one model recover its effect.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.tolerances import (
    AGG_AD_ONLY_ATOL,
    AGG_GRADIENT_RTOL,
    AGG_IPD_ONLY_RTOL,
    AGG_PLANTED_Z,
    AGG_R_FIXEF_SE,
    AGG_R_LOGLIK_ATOL,
    AGG_R_SE_RTOL,
    AGG_R_TAU2_RTOL,
    AGG_SAME_CRITERION_ATOL,
)

from ipdma import mixed
from ipdma.errors import InputError, ModelError
from ipdma.meta import pool
from ipdma.models import mixed_aggregate
from ipdma.models._linear_aggregate import _Problem
from ipdma.models._linear_aggregate_gradient import deviance_gradient

REFERENCE = Path(__file__).parents[1] / "reference"
FIXTURE = json.loads((REFERENCE / "aggregate_onestage.json").read_text())
SMALL = pd.read_csv(REFERENCE / "lmm_ipd_small.csv").rename(columns={"base": "baseline"})
LARGE = pd.read_csv(REFERENCE / "lmm_ipd_large.csv").rename(columns={"base": "baseline"})
DATA = {"small": SMALL, "large": LARGE[LARGE.trial.isin(FIXTURE["large_ipd_trials"])]}
AD = {name: pd.DataFrame(FIXTURE[f"{name}_aggregate"]) for name in ("small", "large")}
PAPER = "y ~ 0 + C(trial) + baseline + treat + (0 + treat | trial) + (0 + baseline | trial)"


def _random_aggregate(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 15))
    return pd.DataFrame(
        {
            "trial": [f"ad{i}" for i in range(k)],
            "estimate": rng.normal(-5, rng.uniform(0.5, 4), k),
            "se": rng.uniform(0.5, 4, k),
        }
    )


@pytest.mark.parametrize("method", ["REML", "ML"])
@pytest.mark.parametrize("seed", range(12))
def test_aggregate_only_equals_the_random_effects_meta_analysis(seed: int, method: str) -> None:
    ad = _random_aggregate(seed)
    fit = mixed_aggregate(None, ad, reml=method == "REML")
    ref = pool(ad.estimate, ad.se**2, method=method)
    assert fit.converged and fit.k_ipd == 0 and fit.k_aggregate == len(ad)
    for ours, theirs in ((fit.estimate, ref.estimate), (fit.se, ref.se), (fit.tau2, ref.tau2),
                         (fit.ci[0], ref.ci[0]), (fit.ci[1], ref.ci[1]), (fit.p, ref.p)):  # fmt: skip
        assert abs(ours - theirs) <= AGG_AD_ONLY_ATOL


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("residual", ["common", "stratified"])
def test_ipd_only_equals_the_one_stage_linear_mixed_model(reml: bool, residual: str) -> None:
    fit = mixed_aggregate(SMALL, None, reml=reml, residual=residual)  # type: ignore[arg-type]
    with pytest.warns() if not reml else _nothing():
        ref = mixed(PAPER, SMALL, reml=reml, residual=residual)  # type: ignore[arg-type]
    assert fit.converged
    assert fit.estimate == pytest.approx(ref.fixef["treat"], rel=AGG_IPD_ONLY_RTOL)
    assert fit.se == pytest.approx(ref.se["treat"], rel=AGG_IPD_ONLY_RTOL)
    assert fit.loglik == pytest.approx(ref.loglik, rel=AGG_IPD_ONLY_RTOL)
    assert fit.terms.set_index("term").estimate["baseline"] == pytest.approx(
        ref.fixef["baseline"], rel=AGG_IPD_ONLY_RTOL
    )


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: object) -> None:
        return None


@pytest.mark.parametrize("name", sorted(FIXTURE["cases"]))
def test_ipd_plus_aggregate_matches_the_dense_r_likelihood(name: str) -> None:
    case = FIXTURE["cases"][name]
    fit = mixed_aggregate(
        DATA[case["data"]],
        AD[case["aggregate"]],
        reml=case["reml"],
        residual="stratified" if case["stratified"] else "common",
        correlated=case["correlated"],
    )
    assert fit.converged
    assert fit.loglik >= case["loglik"] - AGG_R_LOGLIK_ATOL  # ours at least as high
    assert abs(fit.loglik - case["loglik"]) <= AGG_R_LOGLIK_ATOL
    terms = fit.terms.set_index("term")
    for term, ref in (("treat", "treat"), ("baseline", "base")):
        diff = abs(terms.estimate[term] - case["fixef"][ref])
        assert diff <= AGG_R_FIXEF_SE * terms.se[term]
        assert terms.se[term] == pytest.approx(case["se"][ref], rel=AGG_R_SE_RTOL)
    assert fit.tau2 == pytest.approx(case["tau2"], rel=AGG_R_TAU2_RTOL)
    assert fit.k_aggregate == len(AD[case["aggregate"]])


def test_the_r_reference_itself_matched_lmer_and_rma() -> None:
    """The dense R criterion reproduced lmer (IPD only) and rma (AD only) when it was run."""
    for check in FIXTURE["check"].values():
        assert abs(check["ipd_only_loglik_vs_lmer"]) < 1e-8
        assert abs(check["ipd_only_treat_vs_lmer"]) < 1e-5
        assert abs(check["ad_only_estimate_vs_rma"]) < 1e-6


@pytest.mark.parametrize("correlated", [False, True])
@pytest.mark.parametrize("stratified", [False, True])
@pytest.mark.parametrize("reml", [True, False])
def test_analytic_gradient_matches_central_differences(
    correlated: bool, stratified: bool, reml: bool
) -> None:
    names = ["baseline", "treat"]
    ipd = [
        (np.column_stack([np.ones(len(g)), g[names].to_numpy(float)]), g.y.to_numpy(float))
        for _, g in SMALL.groupby("trial")
    ]
    ad = AD["small"]
    problem = _Problem(ipd, ad.estimate.to_numpy(float), ad.se.to_numpy(float) ** 2, [1, 2],
                       correlated, stratified, reml, 3)  # fmt: skip
    rng = np.random.default_rng(3)
    g_scale = [0.2, 0.1, 5.0] if correlated else [0.2, 5.0]
    theta = (
        np.abs(rng.normal(1, 0.3, problem.n_sigma + problem.n_g))
        * np.r_[[15.0] * problem.n_sigma, g_scale]
    )
    analytic = deviance_gradient(problem, theta)
    numeric = np.empty_like(theta)
    for j in range(theta.size):
        step = 1e-6 * max(1.0, abs(theta[j]))
        up, down = theta.copy(), theta.copy()
        up[j] += step
        down[j] -= step
        numeric[j] = (problem.deviance(up) - problem.deviance(down)) / (2 * step)
    scale = np.maximum(1.0, np.abs(numeric))
    assert np.max(np.abs(analytic - numeric) / scale) < AGG_GRADIENT_RTOL


def _simulate(seed: int, k_ipd: int, k_ad: int, effect: float, tau: float):
    """IPD and AD trials from one model; AD trials report their own ANCOVA estimate."""
    rng = np.random.default_rng(seed)
    frames, rows = [], []
    for i in range(k_ipd + k_ad):
        n = int(rng.integers(40, 160))
        base = rng.normal(60, 15, n)
        treat = rng.permutation(np.arange(n) % 2).astype(float)
        slope = 0.5 + rng.normal(0, 0.05)
        t_i = effect + rng.normal(0, tau)
        y = 20 + rng.normal(0, 5) + slope * base + t_i * treat + rng.normal(0, 18, n)
        frame = pd.DataFrame({"trial": f"t{i:02d}", "y": y, "baseline": base - base.mean(),
                              "treat": treat})  # fmt: skip
        if i < k_ipd:
            frames.append(frame)
            continue
        design = np.column_stack([np.ones(n), frame.baseline, treat])
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        resid = y - design @ coef
        cov = np.linalg.inv(design.T @ design) * float(resid @ resid) / (n - 3)
        rows.append({"trial": f"ad{i:02d}", "estimate": coef[2], "se": np.sqrt(cov[2, 2])})
    return pd.concat(frames, ignore_index=True), pd.DataFrame(rows)


@pytest.mark.slow
def test_planted_truth_is_recovered() -> None:
    effect, tau = -6.0, 3.0
    estimates, ses = [], []
    for seed in range(16):
        ipd, ad = _simulate(seed, 8, 8, effect, tau)
        fit = mixed_aggregate(ipd, ad)
        assert fit.converged and fit.k_ipd == 8 and fit.k_aggregate == 8
        assert abs(fit.estimate - effect) < AGG_PLANTED_Z * fit.se
        estimates.append(fit.estimate)
        ses.append(fit.se)
        only = mixed_aggregate(ipd, None)  # the AD trials add information
        assert fit.se < only.se
    mean_se = float(np.mean(ses)) / np.sqrt(len(estimates))
    assert abs(float(np.mean(estimates)) - effect) < AGG_PLANTED_Z * mean_se


def test_bad_input_is_named() -> None:
    ad = AD["small"]
    with pytest.raises(InputError, match="both as IPD and as aggregate"):
        mixed_aggregate(SMALL, ad.assign(trial=["t01", "b", "c"]))
    with pytest.raises(InputError, match="se > 0") as info:
        mixed_aggregate(SMALL, ad.assign(se=[1.0, -2.0, 1.0]))
    assert info.value.trial == "ad-jones" and info.value.variable == "se"
    with pytest.raises(InputError, match="appears twice"):
        mixed_aggregate(SMALL, ad.assign(trial=["a", "a", "c"]))
    with pytest.raises(ModelError, match="at least two trials"):
        mixed_aggregate(None, ad.iloc[:1])
    with pytest.raises(InputError, match="random slope"):
        mixed_aggregate(SMALL, ad, random=("age",))


@pytest.mark.parametrize("name", sorted(FIXTURE["cases"]))
def test_the_two_likelihoods_agree_at_the_r_optimum(name: str) -> None:
    """Ours evaluated at R's estimates gives R's log-likelihood: the same function, so the
    higher value (ours, above) is the better optimum, not a different criterion."""
    case = FIXTURE["cases"][name]
    data, ad = DATA[case["data"]], AD[case["aggregate"]]
    names = ["baseline", "treat"]
    ipd = [
        (np.column_stack([np.ones(len(g)), g[names].to_numpy(float)]), g.y.to_numpy(float))
        for _, g in data.groupby("trial")
    ]
    problem = _Problem(ipd, ad.estimate.to_numpy(float), ad.se.to_numpy(float) ** 2, [1, 2],
                       case["correlated"], case["stratified"], case["reml"], 3)  # fmt: skip
    g = np.array(case["G"])
    if case["correlated"]:
        factor = np.linalg.cholesky(g + 1e-300 * np.eye(2))
        free = factor[np.tril_indices(2)]
    else:
        free = np.sqrt(np.diag(g))
    theta = np.r_[np.sqrt(np.atleast_1d(case["sigma2"])), free]
    ours = -0.5 * problem.deviance(theta)
    assert ours == pytest.approx(case["loglik"], abs=AGG_SAME_CRITERION_ATOL)
