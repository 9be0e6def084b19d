"""Grid cells equal the same models written out by hand with ipdma.mixed."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import ipdma
from ipdma.analysis import AnalysisPlan
from tests.tolerances import GRID_VS_DIRECT_RTOL

from ._data import frame

pytestmark = pytest.mark.filterwarnings("ignore::ipdma.errors.SingularFitWarning")

PLAN = AnalysisPlan(
    outcomes=("pain", "function"),
    windows=("short",),
    comparisons=("any", "usual"),
    modifiers=("medication", "bmi"),
    two_stage=False,
)


@pytest.fixture(scope="module")
def data():
    return frame(11, trials=10, interaction_medication=-5.0)


@pytest.fixture(scope="module")
def results(data):
    return ipdma.analysis.run(data, PLAN, jobs=1)


def _by_hand(data, outcome, baseline, comparison, columns=()):
    rows = (
        data if comparison == "any" else data[(data.treat == 1) | (data.comparison == comparison)]
    )
    rows = rows.dropna(subset=[outcome, baseline, *columns]).copy()
    both = rows.groupby("trial").treat.nunique()
    rows = rows[rows.trial.isin(both[both == 2].index)].copy()
    for column in (baseline, *columns):
        rows[column + "_c"] = rows[column] - rows.groupby("trial")[column].transform("mean")
    return rows


def _ci(fit, term, level=0.95):
    est, se, df = fit.fixef[term], fit.se[term], fit.df[term]
    crit = stats.t.ppf(0.5 + level / 2, df)
    return est, est - crit * se, est + crit * se, 2 * stats.t.sf(abs(est / se), df)


def _close(row, expected):
    got = row[["estimate", "ci_low", "ci_high", "p"]].to_numpy(dtype=float)
    np.testing.assert_allclose(got, np.asarray(expected), rtol=GRID_VS_DIRECT_RTOL, atol=0)


def test_overall_pain_any(data, results):
    rows = _by_hand(data, "pain", "pain0", "any")
    fit = ipdma.mixed(
        "pain ~ 0 + C(trial) + pain0_c + treat + (0 + treat | trial) + (0 + pain0_c | trial)",
        rows,
    )
    row = results.overall.query("outcome == 'pain' and comparison == 'any'").iloc[0]
    _close(row, _ci(fit, "treat"))
    assert row["studies"] == rows.trial.nunique() and row["participants"] == len(rows)


def test_interaction_pain_any_medication_adjusted(data, results):
    rows = _by_hand(data, "pain", "pain0", "any", ("medication", "age", "female"))
    rows["tx_med"] = rows.treat * rows.medication_c
    rows["tx_age"] = rows.treat * rows.age_c
    rows["tx_female"] = rows.treat * rows.female_c
    trial_mean = rows.groupby("trial").medication.transform("mean")
    rows["tx_med_mean"] = rows.treat * (trial_mean - rows.groupby("trial").medication.mean().mean())
    fit = ipdma.mixed(
        "pain ~ 0 + C(trial) + pain0_c + medication_c + treat + tx_med + tx_med_mean"
        " + age_c + tx_age + female_c + tx_female + (0 + treat | trial) + (0 + pain0_c | trial)",
        rows,
    )
    table = results.interactions
    row = table[(table.outcome == "pain") & (table.comparison == "any")]
    row = row[(row.modifier == "medication") & row.adjusted].iloc[0]
    _close(row, _ci(fit, "tx_med"))
    assert row["level"] == "Yes" and row["reference"] == "No"
    across = _ci(fit, "tx_med_mean")
    np.testing.assert_allclose(row["across_estimate"], across[0], rtol=GRID_VS_DIRECT_RTOL)
    assert abs(row["estimate"] - (-5.0)) < 3 * row["se"]  # the planted interaction


def test_interaction_function_usual_bmi_unadjusted(data, results):
    rows = _by_hand(data, "function", "function0", "usual", ("bmi",))
    rows["tx_bmi"] = rows.treat * rows.bmi_c
    means = rows.groupby("trial").bmi.transform("mean")
    rows["tx_bmi_mean"] = rows.treat * (means - rows.groupby("trial").bmi.mean().mean())
    fit = ipdma.mixed(
        "function ~ 0 + C(trial) + function0_c + bmi_c + treat + tx_bmi + tx_bmi_mean"
        " + (0 + treat | trial) + (0 + function0_c | trial)",
        rows,
    )
    table = results.interactions
    row = table[(table.outcome == "function") & (table.comparison == "usual")]
    row = row[(row.modifier == "bmi") & ~row.adjusted].iloc[0]
    _close(row, _ci(fit, "tx_bmi"))


def test_subgroup_pain_usual_bmi(data, results):
    rows = _by_hand(data, "pain", "pain0", "usual", ("bmi", "age", "female"))
    category = pd.cut(rows.bmi, [-np.inf, 18.5, 25, 30, np.inf], right=False, labels=False)
    formula = "pain ~ 0 + C(trial) + pain0_c + age_c + female_c + tx_age + tx_female"
    rows["tx_age"], rows["tx_female"] = rows.treat * rows.age_c, rows.treat * rows.female_c
    kept = []
    for k in range(4):
        in_k = category == k
        arms = rows[in_k].groupby("trial").treat.nunique()
        if not (arms == 2).any():
            rows = rows[~in_k]
            category = category[~in_k]
            continue
        kept.append(k)
    for k in kept:
        rows[f"in{k}"] = (category == k).astype(float)
        rows[f"tx{k}"] = rows.treat * rows[f"in{k}"]
        formula += (f" + in{k}" if k != kept[0] else "") + f" + tx{k}"
    fit = ipdma.mixed(formula + " + (0 + treat | trial) + (0 + pain0_c | trial)", rows)
    table = results.subgroups
    table = table[
        (table.outcome == "pain") & (table.comparison == "usual") & (table.modifier == "bmi")
    ]
    estimable = table.dropna(subset=["estimate"])
    assert len(estimable) == len(kept)
    for (_, row), k in zip(estimable.iterrows(), kept, strict=True):
        _close(row, _ci(fit, f"tx{k}"))
