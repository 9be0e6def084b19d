"""Warm starts (``ipdma.mixed(..., start=StartValues)``, issue 17): the same optimum as the
default start, the same verification, bad starts refused or ignored with a reason.

A warm-started fit must reach the optimum of the fit without it: log-likelihoods within the
engines' own restart tolerances (``RESTART_TOL``: the agreement the verification demands of
two starts), estimates and standard errors within the reference tolerances. Starts: the
fit's own optimum (on the boundary where the fit is singular), far off (variances x 100 and
/ 100, coefficients with the wrong sign), a boundary start (all variances 0) where the
optimum is interior, and the complete-case fit for fits on "imputed" data (a covariate
missing in some trials, filled in by draws).
"""

from __future__ import annotations

import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.tolerances import GLMM_FIXEF_RTOL, GLMM_SE_RTOL, LMM_FIXEF_RTOL, LMM_SE_RTOL

import ipdma
from ipdma.errors import IpdmaWarning, SpecError
from ipdma.models import StartValues, _linear, _logistic

REF = Path(__file__).resolve().parents[1] / "reference"
PAPER = "y ~ 0 + C(trial) + base + treat + (0 + treat | trial) + (0 + base | trial)"
CORRELATED = "y ~ 0 + C(trial) + base + treat + (0 + treat + base | trial)"
LOGISTIC = "rec ~ 0 + C(trial) + base + treat + (0 + treat | trial)"
LOGISTIC_TWO = "rec ~ 0 + C(trial) + base + treat + (0 + treat | trial) + (0 + base | trial)"
BOUNDARY = "recovery ~ 0 + C(trial) + function0 + treat + (0 + treat | trial)"


@cache
def _csv(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / f"{name}.csv")


def _fit(formula: str, data: pd.DataFrame, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IpdmaWarning)
        return ipdma.mixed(formula, data, **options)


def _scaled(start: StartValues, variance: float, fixed: float) -> StartValues:
    """``start`` with every (co)variance times ``variance`` (residual ones too) and every
    fixed effect times ``fixed`` (-1: the wrong side)."""
    return StartValues(
        tuple((name, fixed * value) for name, value in start.fixed),
        tuple((a, b, variance * value) for a, b, value in start.covariance),
        None if start.residual_variance is None else variance * start.residual_variance,
        tuple((t, variance * v) for t, v in start.trial_residual_variances),
    )


def _zero_variances(start: StartValues) -> StartValues:
    return StartValues(start.fixed, tuple((a, b, 0.0) for a, b, _ in start.covariance),
                       start.residual_variance, start.trial_residual_variances)  # fmt: skip


def _starts(cold) -> dict[str, StartValues]:
    own = StartValues.from_result(cold)
    return {
        "own optimum": own,
        "variances x 100": _scaled(own, 100.0, 1.0),
        "variances / 100, wrong side": _scaled(own, 0.01, -1.0),
        "variances 0": _zero_variances(own),
    }


def _assert_same_optimum(cold, warm, *, loglik_atol, fixef_rtol, se_rtol, label) -> None:
    assert "warm start" in warm.convergence, f"{label}: the start was not used"
    assert abs(warm.loglik - cold.loglik) <= loglik_atol, (
        f"{label}: loglik {warm.loglik!r} vs {cold.loglik!r}"
    )
    scale = np.maximum(np.abs(cold.fixef.to_numpy()), 1.0)
    err = np.abs(warm.fixef.to_numpy() - cold.fixef.to_numpy()) / scale
    assert err.max() <= fixef_rtol, f"{label}: fixed effects differ by {err.max():.2e}"
    err = np.abs(warm.se.to_numpy() / cold.se.to_numpy() - 1)
    assert err.max() <= se_rtol, f"{label}: standard errors differ by {err.max():.2e}"
    assert warm.converged == cold.converged, label
    assert warm.singular == cold.singular, label
    assert warm.diagnostics.restart_loglik_difference <= max(loglik_atol, 1e-6), label


def _linear_atol(cold) -> float:
    """The linear engine's restart tolerance, as a log-likelihood (deviance = -2 loglik)."""
    return _linear.RESTART_TOL * max(1.0, abs(2 * cold.loglik)) / 2


# --- gaussian -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "formula", "options"),
    [
        ("lmm_ipd_small", PAPER, {}),
        ("lmm_ipd_small", PAPER, {"reml": False}),
        ("lmm_ipd_small", CORRELATED, {}),
        ("lmm_ipd_small", PAPER, {"residual": "stratified"}),
        ("lmm_ipd_singular", PAPER, {}),  # a variance estimated at 0 (boundary)
        ("lmm_ipd_large", PAPER, {}),
    ],
)
def test_linear_warm_start_reaches_the_same_optimum(name, formula, options):
    data = _csv(name)
    cold = _fit(formula, data, **options)
    for label, start in _starts(cold).items():
        warm = _fit(formula, data, start=start, **options)
        _assert_same_optimum(cold, warm, loglik_atol=_linear_atol(cold), fixef_rtol=LMM_FIXEF_RTOL,
                             se_rtol=LMM_SE_RTOL, label=f"{name} {options} {label}")  # fmt: skip


def test_linear_boundary_fit_stays_singular_from_an_interior_start():
    data = _csv("lmm_ipd_singular")
    cold = _fit(PAPER, data)
    assert cold.singular
    start = _scaled(StartValues.from_result(cold), 100.0, 1.0)
    start = StartValues(start.fixed, (("treat", "treat", 50.0), ("base", "base", 1.0)),
                        start.residual_variance)  # fmt: skip
    warm = _fit(PAPER, data, start=start)
    assert warm.singular
    _assert_same_optimum(cold, warm, loglik_atol=_linear_atol(cold), fixef_rtol=LMM_FIXEF_RTOL,
                         se_rtol=LMM_SE_RTOL, label="singular from interior")  # fmt: skip


def test_linear_second_start_is_the_default_one(monkeypatch):
    """The verification's second run starts where a fit without a warm start starts it
    (next to the boundary), whatever the warm start."""
    data = _csv("lmm_ipd_small")
    seen: list[np.ndarray] = []
    original = _linear._optimum

    def recording(crit, x0):
        seen.append(np.array(x0, dtype=float))
        return original(crit, x0)

    monkeypatch.setattr(_linear, "_optimum", recording)
    cold = _fit(PAPER, data)
    default_second = seen[-1]
    seen.clear()
    _fit(PAPER, data, start=_scaled(StartValues.from_result(cold), 100.0, 1.0))
    assert len(seen) == 2
    np.testing.assert_array_equal(seen[1], default_second)
    assert not np.allclose(seen[0], default_second)


# --- binomial --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "formula", "nagq"),
    [
        ("glmm_ipd_small", LOGISTIC, 1),
        ("glmm_ipd_small", LOGISTIC, None),
        ("glmm_ipd_two", LOGISTIC_TWO, None),
        ("glmm_ipd_boundary", BOUNDARY, None),  # SD(treat) estimated at 0 (boundary)
    ],
)
def test_logistic_warm_start_reaches_the_same_optimum(name, formula, nagq):
    data = _csv(name)
    cold = _fit(formula, data, family="binomial", nagq=nagq)
    for label, start in _starts(cold).items():
        warm = _fit(formula, data, family="binomial", nagq=nagq, start=start)
        _assert_same_optimum(cold, warm, loglik_atol=_logistic.RESTART_TOL,
                             fixef_rtol=GLMM_FIXEF_RTOL, se_rtol=GLMM_SE_RTOL,
                             label=f"{name} nagq={nagq} {label}")  # fmt: skip


def test_logistic_second_start_is_the_default_one(monkeypatch):
    """With a warm start, the Laplace stage's second run starts from the default start of a
    fit without it (GLM coefficients, SD 0.2), never from near the warm start."""
    data = _csv("glmm_ipd_small")
    seen: list[np.ndarray] = []
    original = _logistic.maximize

    def recording(problem, theta, alpha, **kwargs):
        seen.append(np.array(theta, dtype=float))
        return original(problem, theta, alpha, **kwargs)

    monkeypatch.setattr(_logistic, "maximize", recording)
    cold = _fit(LOGISTIC, data, family="binomial", nagq=1)
    default_first = seen[0]
    seen.clear()
    _fit(LOGISTIC, data, family="binomial", nagq=1, start=StartValues.from_result(cold))
    np.testing.assert_array_equal(seen[1], default_first)
    assert not np.allclose(seen[0], default_first)


# --- imputed-like data: the complete-case fit starts the fits on completed data --------------


def _imputed_like(seed: int, m: int) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Ten trials; a modifier ``z`` (trial-specific mean) missing in four whole trials and
    in 10% of the other rows; ``m`` completed copies with ``z`` drawn from its trial-level
    distribution; gaussian ``y`` and binary ``rec`` with random treatment effects and a
    treatment-by-modifier interaction."""
    rng = np.random.default_rng(seed)
    trials = np.repeat(np.arange(10), rng.integers(60, 120, 10))
    n = len(trials)
    treat = rng.integers(0, 2, n)
    base = rng.normal(size=n)
    z = rng.normal(0.3 * rng.normal(size=10)[trials], 1.0)
    effect = 0.5 + 0.4 * rng.normal(size=10)
    y = rng.normal(size=10)[trials] + 0.6 * base + effect[trials] * treat + 0.3 * treat * z
    y = y + rng.normal(size=n)
    eta = rng.normal(-0.3, 0.5, 10)[trials] - 0.5 * base + effect[trials] * treat + 0.4 * treat * z
    rec = rng.binomial(1, 1 / (1 + np.exp(-eta)))
    frame = pd.DataFrame({"trial": [f"s{i:02d}" for i in trials], "treat": treat, "base": base,
                          "y": y, "rec": rec})  # fmt: skip
    missing = np.isin(trials, [1, 4, 6, 9]) | (rng.random(n) < 0.1)
    observed = frame.assign(z=np.where(missing, np.nan, z), tz=np.where(missing, np.nan, treat * z))
    completed = []
    for _ in range(m):
        draw = np.where(missing, rng.normal(0.0, 1.1, n), z)
        completed.append(frame.assign(z=draw, tz=treat * draw))
    return observed.dropna().reset_index(drop=True), completed


@pytest.mark.parametrize(
    ("formula", "options"),
    [
        ("y ~ 0 + C(trial) + base + treat + z + tz + (0 + treat | trial)", {}),
        ("y ~ 0 + C(trial) + base + treat + z + tz + (0 + treat | trial)",
         {"residual": "stratified"}),
        ("rec ~ 0 + C(trial) + base + treat + z + tz + (0 + treat | trial)"
         " + (0 + base | trial)", {"family": "binomial"}),
    ],
)  # fmt: skip
def test_complete_case_fit_starts_fits_on_completed_data(formula, options):
    observed, completed = _imputed_like(seed=4, m=3)
    start = StartValues.from_result(_fit(formula, observed, **options))
    binomial = options.get("family") == "binomial"
    for i, data in enumerate(completed):
        cold = _fit(formula, data, **options)
        warm = _fit(formula, data, start=start, **options)
        if binomial:
            tolerances = {"loglik_atol": _logistic.RESTART_TOL, "fixef_rtol": GLMM_FIXEF_RTOL,
                          "se_rtol": GLMM_SE_RTOL}  # fmt: skip
        else:
            tolerances = {"loglik_atol": _linear_atol(cold), "fixef_rtol": LMM_FIXEF_RTOL,
                          "se_rtol": LMM_SE_RTOL}  # fmt: skip
        _assert_same_optimum(cold, warm, label=f"completed {i}", **tolerances)


# --- names that do not match, bad starts ----------------------------------------------------


def test_names_the_design_lacks_are_ignored():
    data = _csv("lmm_ipd_small")
    cold = _fit(PAPER, data)
    own = StartValues.from_result(cold)
    start = StartValues(
        (*own.fixed, ("no_such_term", 3.0)),
        (*own.covariance, ("no_such_slope", "no_such_slope", 4.0), ("treat", "base", 0.5)),
        own.residual_variance,
    )  # treat and base are independent blocks here: their covariance is ignored too
    warm = _fit(PAPER, data, start=start)
    _assert_same_optimum(cold, warm, loglik_atol=_linear_atol(cold), fixef_rtol=LMM_FIXEF_RTOL,
                         se_rtol=LMM_SE_RTOL, label="extra names")  # fmt: skip


@pytest.mark.parametrize(
    ("family", "formula", "name"),
    [("gaussian", CORRELATED, "lmm_ipd_small"),
     ("binomial", "rec ~ 0 + C(trial) + base + treat + (0 + treat + base | trial)",
      "glmm_ipd_two")],
)  # fmt: skip
def test_a_start_that_does_not_fit_the_design_is_ignored_with_the_reason(family, formula, name):
    data = _csv(name)
    cold = _fit(formula, data, family=family)
    own = StartValues.from_result(cold)
    impossible = StartValues(  # |correlation| = 2: not a covariance matrix
        own.fixed,
        (("treat", "treat", 1.0), ("base", "base", 1.0), ("treat", "base", 2.0)),
        own.residual_variance,
    )
    fit = _fit(formula, data, family=family, start=impossible)
    assert "start values were not used" in fit.convergence
    assert "positive semi-definite" in fit.convergence
    assert fit.loglik == cold.loglik
    np.testing.assert_array_equal(fit.fixef.to_numpy(), cold.fixef.to_numpy())


def test_a_gaussian_start_without_residual_variance_is_ignored_with_the_reason():
    data = _csv("lmm_ipd_small")
    cold = _fit(PAPER, data)
    start = StartValues.from_mapping({"treat": 1.0}, {"treat": 4.0, "base": 0.01})
    fit = _fit(PAPER, data, start=start)
    assert "no residual variance" in fit.convergence
    assert fit.loglik == cold.loglik


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"fixed": (("treat", float("nan")),)}, "not finite"),
        ({"fixed": (("treat", float("inf")),)}, "not finite"),
        ({"fixed": (("treat", "0.4"),)}, "not a number"),
        ({"fixed": (("treat", 1.0), ("treat", 2.0))}, "twice"),
        ({"covariance": (("treat", "treat", -1.0),)}, "negative"),
        ({"covariance": (("treat", 1.0),)}, "not (term1, term2, value)"),
        ({"covariance": (("treat", "base", 0.1), ("base", "treat", 0.1))}, "twice"),
        ({"residual_variance": 0.0}, "not positive"),
        ({"residual_variance": float("nan")}, "not finite"),
        ({"trial_residual_variances": (("t01", -2.0),)}, "not positive"),
    ],
)
def test_bad_start_values_are_a_clear_error(arguments, message):
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        StartValues(**arguments)


def test_start_must_be_start_values():
    data = _csv("lmm_ipd_small")
    cold = _fit(PAPER, data)
    with pytest.raises(SpecError, match="StartValues"):
        ipdma.mixed(PAPER, data, start=cold)  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="StartValues"):
        ipdma.mixed(PAPER, data, start=[1.0, 2.0])  # type: ignore[arg-type]


def test_start_values_from_a_result_are_frozen_and_complete():
    data = _csv("lmm_ipd_small")
    cold = _fit(PAPER, data, residual="stratified")
    start = StartValues.from_result(cold)
    assert dict(start.fixed) == pytest.approx(cold.fixef.to_dict())
    assert {a for a, _, _ in start.covariance} == {"treat", "base"}
    assert len(start.trial_residual_variances) == cold.ngroups
    with pytest.raises(AttributeError):
        start.residual_variance = 1.0  # type: ignore[misc]


def test_logistic_start_newton_cannot_converge_from_is_not_used():
    """Coefficients so far off that Newton's method stops (a linear predictor moved by
    thousands of logits looks like separation): the fit is the default one, bit for bit."""
    data = _csv("glmm_ipd_small")
    cold = _fit(LOGISTIC, data, family="binomial", nagq=1)
    own = StartValues.from_result(cold)
    wild = StartValues(tuple((n, 1e4 if n == "base" else v) for n, v in own.fixed),
                       own.covariance)  # fmt: skip
    fit = _fit(LOGISTIC, data, family="binomial", nagq=1, start=wild)
    assert "start values were not used: Newton's method did not converge" in fit.convergence
    assert fit.loglik == cold.loglik
    np.testing.assert_array_equal(fit.fixef.to_numpy(), cold.fixef.to_numpy())
    np.testing.assert_array_equal(fit.se.to_numpy(), cold.se.to_numpy())


def test_poisson_fits_take_a_warm_start_too():
    data = pd.read_csv(REF / "glmm_pois_ipd.csv")
    formula = "y ~ 0 + C(trial) + base + treat + (0 + treat | trial)"
    offset = np.log(data.years)
    cold = _fit(formula, data, family="poisson", offset=offset)
    warm = _fit(formula, data, family="poisson", offset=offset,
                start=_scaled(StartValues.from_result(cold), 10.0, 1.0))  # fmt: skip
    _assert_same_optimum(cold, warm, loglik_atol=_logistic.RESTART_TOL,
                         fixef_rtol=GLMM_FIXEF_RTOL, se_rtol=GLMM_SE_RTOL, label="poisson")  # fmt: skip
