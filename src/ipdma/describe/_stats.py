"""Summaries and two-group tests used by the descriptive tables."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = [
    "TestResult",
    "categorical_test",
    "mann_whitney",
    "mean_ci",
    "median_iqr",
    "proportion_ci",
    "welch_t",
]

_NAN = float("nan")


@dataclass(frozen=True)
class TestResult:
    """A two-group test: its name, statistic and two-sided p-value (NaN when not possible)."""

    test: str
    statistic: float = _NAN
    p: float = _NAN


NO_TEST = TestResult("")


def _clean(values) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    return arr[np.isfinite(arr)]


def mean_ci(values, level: float = 0.95) -> tuple[float, float, float, int]:
    """Mean with a t-based CI ``mean +- t_{n-1} sd / sqrt(n)`` (Stata ``ci means``); n."""
    x = _clean(values)
    n = x.size
    if n == 0:
        return _NAN, _NAN, _NAN, 0
    mean = float(x.mean())
    if n < 2:
        return mean, _NAN, _NAN, n
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / np.sqrt(n))
    return mean, mean - half, mean + half, n


def median_iqr(values) -> tuple[float, float, float, int]:
    """Median, 25th and 75th percentiles (linear interpolation, R type 7); n."""
    x = _clean(values)
    if x.size == 0:
        return _NAN, _NAN, _NAN, 0
    q1, med, q3 = np.percentile(x, [25, 50, 75])
    return float(med), float(q1), float(q3), int(x.size)


def proportion_ci(count: float, total: float, level: float = 0.95) -> tuple[float, float, float]:
    """Percentage with a Wald CI ``p +- z sqrt(p (1 - p) / n)`` (in percent)."""
    if total <= 0:
        return _NAN, _NAN, _NAN
    p = count / total
    half = float(stats.norm.ppf(0.5 + level / 2) * np.sqrt(p * (1 - p) / total))
    return 100 * p, 100 * (p - half), 100 * (p + half)


def mann_whitney(a, b) -> TestResult:
    """Two-sided Wilcoxon-Mann-Whitney test (scipy: exact for small samples without ties)."""
    x, y = _clean(a), _clean(b)
    if x.size == 0 or y.size == 0:
        return NO_TEST
    res = stats.mannwhitneyu(x, y, alternative="two-sided")
    return TestResult("Mann-Whitney U", float(res.statistic), float(res.pvalue))


def welch_t(a, b) -> TestResult:
    """Two-sided Welch t-test (unequal variances)."""
    x, y = _clean(a), _clean(b)
    if x.size < 2 or y.size < 2:
        return NO_TEST
    res = stats.ttest_ind(x, y, equal_var=False)
    return TestResult("Welch t", float(res.statistic), float(res.pvalue))


def categorical_test(
    table: np.ndarray, *, seed: int = 2020, resamples: int = 100_000
) -> TestResult:
    """Association in an ``r x 2`` table of counts (rows = levels, columns = groups).

    Pearson chi-square (no continuity correction) when every expected count is at least 5;
    otherwise Fisher's exact test: exact for 2 x 2 tables, and for larger tables the
    Fisher-Freeman-Halton test with a Monte Carlo p-value from ``resamples`` tables drawn
    with the observed margins (as R ``fisher.test(simulate.p.value=TRUE)``),
    ``p = (1 + #{P(table) <= P(observed)}) / (resamples + 1)``, reproducible via ``seed``.
    Levels with no observations are dropped; fewer than two levels give no test.
    """
    counts = np.asarray(table, dtype=np.int64)
    counts = counts[counts.sum(axis=1) > 0]
    if counts.shape[0] < 2 or np.any(counts.sum(axis=0) == 0):
        return NO_TEST
    rows, cols = counts.sum(axis=1), counts.sum(axis=0)
    total = counts.sum()
    expected = np.outer(rows, cols) / total
    if np.all(expected >= 5):
        stat, p, _, _ = stats.chi2_contingency(counts, correction=False)
        return TestResult("chi-square", float(stat), float(p))
    if counts.shape[0] == 2:
        res = stats.fisher_exact(counts)
        return TestResult("Fisher exact", _NAN, float(res.pvalue))
    rng = np.random.default_rng(seed)
    draws = rng.multivariate_hypergeometric(rows, int(cols[0]), size=resamples)

    def log_prob(first: np.ndarray) -> np.ndarray:
        from scipy.special import gammaln

        second = rows - first
        return -(gammaln(first + 1) + gammaln(second + 1)).sum(axis=-1)

    observed = log_prob(counts[:, 0])
    extreme = np.sum(log_prob(draws) <= observed + 1e-7 * abs(observed))
    p = (1 + int(extreme)) / (resamples + 1)
    return TestResult(f"Fisher-Freeman-Halton (Monte Carlo, {resamples} tables)", _NAN, p)
