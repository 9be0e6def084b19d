"""Tables 1-3 on a hand-made master dataset: every number checked against a direct computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from tests.tolerances import META_RTOL

from ipdma import describe
from ipdma.errors import InputError
from ipdma.store import MasterData


def test_table1_rows_and_columns(master) -> None:
    t1 = describe.table1(master)
    assert list(t1.study) == ["Alpha, 2001", "Beta, 2005", "Delta, 2012", "Gamma, 2010"]
    row = t1.set_index("trial").loc["t1"]
    assert row.arms == "2; 1"
    assert (row.short, row.moderate, row.long) == ("+", "+", "+")
    t4 = t1.set_index("trial").loc["t4"]
    assert t4.comparison_category == "N/A"
    assert t4.pain_instrument == "-"
    assert (t4.short, t4.moderate, t4.long) == ("+", "+", "-")
    t3 = t1.set_index("trial").loc["t3"]
    assert (t3.short, t3.moderate, t3.long, t3.function_instrument) == ("+", "-", "-", "-")
    assert t1.participants.tolist() == [40, 30, 10, 20]
    assert "n1" not in set(t1.trial)


def _row(t2: pd.DataFrame, row: str) -> pd.Series:
    match = t2[t2.row == row]
    assert len(match) == 1, row
    return match.iloc[0]


def test_table2_continuous_rows(master) -> None:
    t2 = describe.table2(master)
    sizes = _row(t2, "Number of participants per trial")
    inc = [40, 30, 20, 10]
    assert sizes.included_value == np.median(inc)
    assert (sizes.included_low, sizes.included_high) == tuple(np.percentile(inc, [25, 75]))
    assert sizes.included == "25.0 (17.5-32.5)"
    expected = stats.mannwhitneyu(inc, [120, 60, 90], alternative="two-sided")
    assert sizes.test == "Mann-Whitney U"
    assert sizes.p == pytest.approx(expected.pvalue, rel=META_RTOL)

    age = _row(t2, "Mean age of sample, years")
    ages = master.participants.age.dropna()
    half = stats.t.ppf(0.975, len(ages) - 1) * ages.std(ddof=1) / np.sqrt(len(ages))
    assert age.included_value == pytest.approx(ages.mean(), rel=META_RTOL)
    assert age.included_low == pytest.approx(ages.mean() - half, rel=META_RTOL)
    assert age.included_n == len(ages) == 97
    assert age.not_included_value == pytest.approx(43.0, rel=META_RTOL)
    welch = stats.ttest_ind([44, 46, 45, 43], [40, 42, 47], equal_var=False)
    assert age.p == pytest.approx(welch.pvalue, rel=META_RTOL)

    female = _row(t2, "Proportion of sample female, %")
    f = master.participants.female.dropna()
    p = f.mean()
    assert female.included_value == pytest.approx(100 * p, rel=META_RTOL)
    half = 1.959963984540054 * np.sqrt(p * (1 - p) / len(f))
    assert female.included_high == pytest.approx(100 * (p + half), rel=META_RTOL)


def test_table2_counts_and_tests(master) -> None:
    t2 = describe.table2(master, seed=1)
    pop = t2[t2.section == "Population source"]
    header = pop[pop.kind == "header"].iloc[0]
    assert header.included == "N = 4" and header.not_included == "N = 3"
    levels = pop[pop.kind == "level"].set_index("row")
    assert levels.loc["Health care", "included"] == "2 (50%)"
    assert levels.loc["Health care", "not_included"] == "2 (67%)"
    assert levels.loc["Occupational", "included_value"] == 1
    # small counts: the r x 2 table uses the Fisher-Freeman-Halton Monte Carlo test
    assert header.test.startswith("Fisher-Freeman-Halton")
    assert 0 < header.p <= 1

    design = t2[t2.section == "Design of exercise program"].set_index("row")
    # t3's exercise arm has no design: counted as "not specified"
    assert design.loc["not specified", "included_value"] == 1
    assert design.loc["standardized", "not_included"] == "4 (100%)"
    assert design.loc["Design of exercise program", "included_n"] == 6

    comparison = t2[t2.section == "Comparison group types"].set_index("row")
    usual = comparison.loc["No treatment/usual care comparisons"]
    assert (usual.included_value, usual.not_included_value) == (1, 2)
    assert comparison.loc["electrotherapy", "not_included"] == "2 (50%)"
    assert comparison.loc["Other conservative treatment comparisons", "included"] == "2 (67%)"
    groups = t2[t2.section == "Number of comparison groups"].set_index("row")
    assert groups.loc["0 comparison groups", "included_value"] == 1
    assert set(t2.kind) == {"value", "header", "level", "subheader"}


def _exact_freeman_halton(table: np.ndarray) -> float:
    """Exact conditional p-value by enumerating every r x 2 table with the same margins."""
    from itertools import product

    from scipy.special import gammaln

    rows = table.sum(axis=1)
    col = table[:, 0].sum()

    def logp(first):
        first = np.asarray(first)
        return -(gammaln(first + 1) + gammaln(rows - first + 1)).sum()

    observed = logp(table[:, 0])
    total = hit = 0.0
    for first in product(*(range(r + 1) for r in rows)):
        if sum(first) != col:
            continue
        prob = np.exp(logp(first))
        total += prob
        if logp(first) <= observed + 1e-7 * abs(observed):
            hit += prob
    return hit / total


def test_categorical_test_choices() -> None:
    big = np.array([[30, 20], [25, 35], [20, 30]])
    res = describe.categorical_test(big)
    assert res.test == "chi-square"
    assert res.p == pytest.approx(stats.chi2_contingency(big, correction=False)[1], rel=META_RTOL)
    two = np.array([[1, 9], [8, 2]])  # an expected count of 4.5
    res = describe.categorical_test(two)
    assert res.test == "Fisher exact"
    assert res.p == pytest.approx(stats.fisher_exact(two).pvalue, rel=META_RTOL)
    small = np.array([[4, 1], [2, 6], [1, 3], [0, 2]])
    res = describe.categorical_test(small, seed=3)
    exact = _exact_freeman_halton(small)
    # Monte Carlo error with 100000 tables: sd <= 0.0016; 0.01 is > 6 sd
    assert res.p == pytest.approx(exact, abs=0.01)
    assert describe.categorical_test(small, seed=3) == res  # reproducible
    assert describe.categorical_test(np.array([[3, 4]])).test == ""


def test_table3_layout_and_numbers(master) -> None:
    t3 = describe.table3(master)
    data = master.participants
    assert list(t3.variable.unique()) == ["age", "female", "episode_months", "pain0"]
    age = t3[t3.variable == "age"].iloc[0]
    assert age.n == 97
    assert age.missing_pct == pytest.approx(3.0)
    assert age.characteristic == "Age (mean, 95% CI) (missing = 3.0%)"
    mean, low, high = (
        data.age.mean(),
        *stats.t.interval(0.95, 96, loc=data.age.mean(), scale=data.age.std() / np.sqrt(97)),
    )
    assert (age.estimate, age.low, age.high) == pytest.approx((mean, low, high), rel=META_RTOL)
    assert age.value == f"{mean:.1f} ({low:.1f}-{high:.1f})"
    sex = t3[t3.variable == "female"]
    assert sex.kind.tolist() == ["header", "level", "level"]
    assert sex.characteristic.tolist()[1:] == ["Male", "Female"]
    assert sex.n.tolist()[1:] == [int((data.female == 0).sum()), int((data.female == 1).sum())]
    assert sex.pct.iloc[1] + sex.pct.iloc[2] == pytest.approx(100)
    episode = t3[t3.variable == "episode_months"].iloc[0]
    assert episode.missing_pct == pytest.approx(10.0)
    assert "median; IQR" in episode.characteristic
    q1, med, q3 = np.percentile(data.episode_months.dropna(), [25, 50, 75])
    assert (episode.estimate, episode.low, episode.high) == pytest.approx((med, q1, q3))


def test_table3_accepts_a_participants_frame_and_rejects_unknown(master) -> None:
    t3 = describe.table3(master.participants, variables=["pain0"], medians=["pain0"])
    assert t3.characteristic.iloc[0].startswith("Pain intensity (0-100) (median; IQR)")
    with pytest.raises(InputError, match="'bmi'"):
        describe.table3(master, variables=["bmi"])


def test_missing_tables_are_reported() -> None:
    with pytest.raises(InputError, match="'trials'"):
        describe.table1(object())
    empty = pd.DataFrame()
    broken = MasterData(pd.DataFrame({"trial": []}), *[empty] * 7)
    with pytest.raises(InputError, match="no column 'label'"):
        describe.table1(broken)
