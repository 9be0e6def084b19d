"""Appendix 9 rules: significant AND clinically important (SWE 20 % of baseline; OR >= 2)."""

import numpy as np
import pandas as pd

from ipdma.analysis import AnalysisPlan
from ipdma.analysis._importance import flag_importance, important_table

CELL = ("pain", "short", "any")
SWE = {CELL: 10.0, ("recovery", "short", "any"): np.nan}


def _row(modifier, level, estimate, p, scale="MD", outcome="pain"):
    return {
        "outcome": outcome, "window": "short", "comparison": "any", "modifier": modifier,
        "label": modifier, "level": level, "adjusted": True, "studies": 5, "participants": 500,
        "estimate": estimate, "ci_low": np.nan, "ci_high": np.nan, "p": p, "p_fdr": p,
        "scale": scale,
    }  # fmt: skip


def _sub(modifier, level, estimate, outcome="pain"):
    return {"outcome": outcome, "window": "short", "comparison": "any", "modifier": modifier,
            "level": level, "estimate": estimate}  # fmt: skip


def test_rules():
    interactions = pd.DataFrame(
        [
            _row("medication", "Yes", -12.0, 0.01),  # |MD| >= SWE and significant
            _row("smoker", "Yes", -12.0, 0.20),  # important but not significant
            _row("leg_pain", "Yes", -4.0, 0.01),  # significant, small, no direction change
            _row("bmi", "per unit", 0.5, 0.02),  # continuous: subgroup range 11 >= SWE
            _row("age", "per unit", 0.1, 0.03),  # continuous: subgroups change direction
            _row("female", "Female", 2.5, 0.001, "OR", "recovery"),  # OR >= 2
            _row("education", "Yes", 1.5, 0.001, "OR", "recovery"),  # OR < 2
        ]
    )
    subgroups = pd.DataFrame(
        [
            _sub("leg_pain", "No", -8.0), _sub("leg_pain", "Yes", -4.0),
            _sub("bmi", "< 25", -14.0), _sub("bmi", ">= 25", -3.0),
            _sub("age", "< 35", -11.0), _sub("age", ">= 35", 2.0),
        ]
    )  # fmt: skip
    flagged = flag_importance(interactions, subgroups, SWE, AnalysisPlan())
    important = dict(zip(flagged.modifier, flagged.clinically_important, strict=True))
    assert important == {
        "medication": True, "smoker": True, "leg_pain": False, "bmi": True, "age": True,
        "female": True, "education": False,
    }  # fmt: skip
    reasons = dict(zip(flagged.modifier, flagged.importance, strict=True))
    assert "direction change" in reasons["age"]
    assert "subgroup difference" in reasons["bmi"]
    table = important_table(flagged)
    assert list(table.modifier) == ["female", "medication", "bmi", "age"]  # by p
    assert flagged.loc[flagged.modifier == "medication", "swe"].item() == 10.0
