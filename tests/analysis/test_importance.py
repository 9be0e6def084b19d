"""Appendix 9 rules: significant AND important in size AND stable (``[analysis.importance]``)."""

import math

import numpy as np
import pandas as pd
import pytest

from ipdma.analysis import AnalysisPlan, plan_from_dict
from ipdma.analysis._importance import flag_importance, important_table, thresholds
from ipdma.errors import SpecError

BASELINE = {("pain", "short", "any"): 50.0, ("recovery", "short", "any"): 45.0}


def _row(modifier, level, estimate, p, ci=(np.nan, np.nan), *, outcome="pain", adjusted=True):
    scale = "OR" if outcome == "recovery" else "MD"
    low, high = ci
    if math.isnan(low):  # a narrow CI around the estimate unless given
        low, high = (
            (estimate / 1.5, estimate * 1.5) if scale == "OR" else (estimate - 2, estimate + 2)
        )
    return {
        "outcome": outcome, "window": "short", "comparison": "any", "modifier": modifier,
        "label": modifier, "level": level, "reference": "" if level == "per unit" else "No",
        "adjusted": adjusted, "studies": 5, "participants": 500, "estimate": estimate,
        "ci_low": low, "ci_high": high, "p": p, "p_fdr": min(1.0, p * 10), "scale": scale,
        "model_id": f"interaction/{outcome}/short/any/{modifier}/{adjusted}",
    }  # fmt: skip


def _sub(modifier, level, estimate, outcome="pain"):
    return {"outcome": outcome, "window": "short", "comparison": "any", "modifier": modifier,
            "level": level, "estimate": estimate}  # fmt: skip


def _flag(rows, subgroups=(), plan=None, models=None):
    frame = pd.DataFrame(rows)
    subs = pd.DataFrame(list(subgroups), columns=[*_sub("m", "l", 0).keys()])
    return flag_importance(frame, subs, BASELINE, plan or AnalysisPlan(), models)


def _by_modifier(flagged, column):
    return dict(zip(flagged.modifier, flagged[column], strict=True))


def test_results_rule_is_the_default_with_thresholds_in_points():
    rules = AnalysisPlan().importance
    assert rules.rule == "results"
    assert thresholds(rules, "MD", 50.0) == (3.3, 3.3)
    assert thresholds(rules, "OR", 50.0) == (pytest.approx(1.7), 0.7)
    methods = plan_from_dict({"importance": {"rule": "methods"}}).importance
    assert thresholds(methods, "MD", 50.0) == (10.0, 10.0)  # 20% of the baseline mean
    assert thresholds(methods, "OR", 50.0) == (2.0, 2.0)


def test_unknown_rule_is_a_spec_error():
    with pytest.raises(SpecError, match=r"importance\.rule"):
        plan_from_dict({"importance": {"rule": "paper"}})


def test_results_rule_sizes():
    rows = [
        _row("medication", "Yes", -7.4, 0.001),  # |MD| >= 3.3, significant: important
        _row("smoker", "Yes", -5.0, 0.20),  # important in size, not significant
        _row("leg_pain", "Yes", -3.0, 0.01),  # significant, below 3.3, no subgroup help
        _row("bmi", "per unit", 0.5, 0.02),  # continuous: subgroups span 4.0 >= 3.3
        _row("age", "per unit", 0.05, 0.03),  # continuous: subgroups span 1.0 only
        _row("female", "Female", 1.8, 0.001, outcome="recovery"),  # interaction OR >= 1.7
        _row("education", "Yes", 1.5, 0.001, outcome="recovery"),  # OR 1.5; subgroup diff 0.9
        _row("employed", "Yes", 1.5, 0.001, outcome="recovery"),  # OR 1.5; subgroup diff 0.3
    ]
    subgroups = [
        _sub("leg_pain", "No", -8.0), _sub("leg_pain", "Yes", -5.0),
        _sub("bmi", "< 25", -12.0), _sub("bmi", ">= 25", -8.0),
        _sub("age", "< 35", -10.0), _sub("age", ">= 35", -9.0),
        _sub("education", "No", 1.8, "recovery"), _sub("education", "Yes", 2.7, "recovery"),
        _sub("employed", "No", 0.6, "recovery"), _sub("employed", "Yes", 0.9, "recovery"),
    ]  # fmt: skip
    flagged = _flag(rows, subgroups)
    assert _by_modifier(flagged, "clinically_important") == {
        "medication": True, "smoker": True, "leg_pain": False, "bmi": True, "age": False,
        "female": True, "education": True, "employed": False,
    }  # fmt: skip
    assert _by_modifier(flagged, "important") == {
        "medication": True, "smoker": False, "leg_pain": False, "bmi": True, "age": False,
        "female": True, "education": True, "employed": False,
    }  # fmt: skip
    reasons = _by_modifier(flagged, "importance")
    assert "subgroups differ by 4.0" in reasons["bmi"]
    assert "subgroup ORs differ by 0.90" in reasons["education"]
    assert _by_modifier(flagged, "threshold")["medication"] == 3.3


def test_direction_change_needs_one_important_subgroup():
    rows = [_row("smoker", "Yes", 3.0, 0.01), _row("sick_leave", "Yes", 3.0, 0.01)]
    subgroups = [
        _sub("smoker", "No", -3.4), _sub("smoker", "Yes", 0.2),  # |-3.4| >= 3.3
        _sub("sick_leave", "No", -1.5), _sub("sick_leave", "Yes", 1.5),  # both small
    ]  # fmt: skip
    flagged = _flag(rows, subgroups)
    reasons = _by_modifier(flagged, "importance")
    assert reasons["smoker"].endswith("; direction change")
    assert not _by_modifier(flagged, "clinically_important")["sick_leave"]
    off = plan_from_dict({"importance": {"direction_change": False}})
    assert "direction" not in _by_modifier(_flag(rows, subgroups, off), "importance")["smoker"]


def test_methods_rule():
    plan = plan_from_dict({"importance": {"rule": "methods"}})
    rows = [
        _row("medication", "Yes", -7.4, 0.001),  # below 20% of 50 = 10 points
        _row("smoker", "Yes", -10.5, 0.001),
        _row("female", "Female", 1.8, 0.001, outcome="recovery"),  # below OR 2
        _row("education", "Yes", 0.45, 0.001, outcome="recovery"),  # beyond 1/2
    ]
    flagged = _flag(rows, plan=plan)
    assert _by_modifier(flagged, "important") == {
        "medication": False,
        "smoker": True,
        "female": False,
        "education": True,
    }
    assert _by_modifier(flagged, "threshold")["smoker"] == 10.0


def test_ci_compatible_with_an_important_difference():
    rows = [
        _row("medication", "Yes", -2.0, 0.2, (-5.0, 1.0)),  # reaches -3.3
        _row("smoker", "Yes", -1.0, 0.4, (-3.0, 1.0)),  # within +-3.3
        _row("female", "Female", 1.2, 0.4, (0.9, 1.6), outcome="recovery"),  # below 1.7
        _row("education", "Yes", 0.9, 0.4, (0.55, 1.4), outcome="recovery"),  # below 1/1.7
        _row("bmi", "per unit", 0.1, 0.4),  # undefined per unit
    ]
    compatible = _by_modifier(_flag(rows), "ci_compatible")
    assert compatible["bmi"] is pd.NA
    assert {k: bool(v) for k, v in compatible.items() if k != "bmi"} == {
        "medication": True,
        "smoker": False,
        "female": False,
        "education": True,
    }


def test_unstable_rows_are_marked_and_never_important():
    rows = [
        _row("lbp_history", "Yes", 6.61, 0.04, (1.02, 42.96), outcome="recovery"),  # ratio 42
        _row("social_support", "Yes", 0.05, 0.02, (0.001, 0.53), outcome="recovery"),
        _row("smoker", "Yes", -25.0, 0.01, (-48.0, -2.0)),  # CI 46 points wide
        _row("medication", "Yes", -7.0, 0.001),  # separation in its model
        _row("sick_leave", "Yes", -7.0, 0.001),  # did not converge
        _row("leg_pain", "Yes", -7.0, 0.001),  # stable
    ]
    models = pd.DataFrame(
        [
            {"id": rows[3]["model_id"], "converged": True, "error": None,
             "warnings": "complete or quasi-complete separation (terms: treat_in_1)"},
            {"id": rows[4]["model_id"], "converged": False, "error": None, "warnings": ""},
            {"id": rows[5]["model_id"], "converged": True, "error": None, "warnings": ""},
        ]
    )  # fmt: skip
    flagged = _flag(rows, models=models)
    unstable = _by_modifier(flagged, "unstable")
    assert unstable["lbp_history"].startswith("CI upper/lower ratio 42")
    assert unstable["social_support"].startswith("CI upper/lower ratio")
    assert unstable["smoker"] == "CI width 46.0 > 40 points"
    assert unstable["medication"] == "separation"
    assert unstable["sick_leave"] == "did not converge"
    assert unstable["leg_pain"] == ""
    assert list(flagged.loc[flagged.important, "modifier"]) == ["leg_pain"]
    wider = plan_from_dict({"importance": {"max_ci_width": 50, "max_ci_ratio": 50}})
    relaxed = _by_modifier(_flag(rows, models=models, plan=wider), "unstable")
    assert relaxed["smoker"] == "" and relaxed["lbp_history"] == ""


def test_appendix9_adjusted_primary_unadjusted_beside():
    rows = [
        _row("medication", "Yes", -7.4, 0.001, adjusted=True),
        _row("medication", "Yes", -7.8, 0.0005, adjusted=False),
        _row("smoker", "Yes", -5.0, 0.04, adjusted=False),  # important only unadjusted
        _row("smoker", "Yes", -4.0, 0.06, adjusted=True),
        _row("bmi", "per unit", 0.5, 0.02, adjusted=True),
        _row("bmi", "per unit", 0.4, 0.03, adjusted=False),
    ]
    subgroups = [_sub("bmi", "< 25", -12.0), _sub("bmi", ">= 25", -8.0)]
    flagged = _flag(rows, subgroups)
    table = important_table(flagged, AnalysisPlan())
    assert list(table.modifier) == ["medication", "bmi"]  # one row each, by p
    assert table.adjusted.all()
    medication = table.iloc[0]
    assert medication.estimate == -7.4 and medication.other_estimate == -7.8
    assert medication.other_p == 0.0005 and medication.threshold == 3.3
    unadjusted_only = plan_from_dict({"adjustments": ["unadjusted"]})
    table = important_table(flagged, unadjusted_only)
    assert set(table.modifier) == {"medication", "smoker", "bmi"}
    assert not table.adjusted.any()
