"""The 29 eligible trials that did not provide IPD: Table 2 characteristics, Figure 2 results.

Trial-level characteristics are drawn to match Table 2's "not included" column (median 90
participants, IQR 62-130; 20 health care, 2 occupational, 7 general or mixed; mean age 42.9;
44.3 % female; mean baseline pain 50.9; 11 / 15 / 3 trials with 1 / 2 / 3 exercise arms and
the exercise types, designs, deliveries and comparison types of Table 2 exactly). Published
mean differences (exercise minus comparison, 0-100) scatter around the paper's aggregate
results for these trials: pain -10.2, function -2.9 (Figure 2), with between-trial SDs
``tau`` and sampling errors from each trial's size. Authors are fictitious.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

_AUTHORS = ("Aalto", "Bergman", "Carvalho", "Dijkstra", "Eriksen", "Fontaine", "Garcia",
            "Hansen", "Ishikawa", "Jensen", "Kowalski", "Lindqvist", "Moreau", "Nakamura",
            "Olsen", "Pereira", "Quinn", "Rossi", "Schmidt", "Tanaka", "Urban", "Visser",
            "Walsh", "Xavier", "Yilmaz", "Zhang", "Brennan", "Ortega", "Holm")  # fmt: skip
_COUNTRIES = ("Finland", "Sweden", "Brazil", "Netherlands", "Denmark", "France", "Spain",
              "Norway", "Japan", "Denmark", "Poland", "Sweden", "France", "Japan", "Norway",
              "Brazil", "Ireland", "Italy", "Germany", "Japan", "Czech Republic", "Netherlands",
              "United Kingdom", "Portugal", "Turkey", "China", "Canada", "Mexico", "Denmark")  # fmt: skip
_POPULATION = ["primary care"] * 9 + ["secondary care"] * 11 + ["occupational"] * 2 + [
    "general or mixed"] * 7  # fmt: skip
_EXERCISE_TYPES = (["strengthening"] * 5 + ["stretching"] * 2 + ["core strengthening"] * 10
                   + ["aerobic"] * 2 + ["functional restoration"] + ["yoga"] * 5
                   + ["mixed"] * 25)  # fmt: skip
_DESIGNS = ["individualized"] * 6 + ["partially individualized"] * 18 + ["standardized"] * 26
_DELIVERIES = (["independent", "independent with follow-up"] + ["group"] * 30
               + ["one-on-one"] * 16 + ["not specified"] * 2)  # fmt: skip
_COMPARISONS = ([("no treatment", "no treatment")] * 2 + [("usual care", "usual care")] * 2
                + [("other conservative", "advice/education")] * 5
                + [("other conservative", "electrotherapy")] * 4
                + [("other conservative", t) for t in ("manual therapy", "NSAIDs/analgesics",
                                                       "physiotherapy", "relaxation")])  # fmt: skip
_PAIN_INSTRUMENTS = ("VAS", "NRS", "VAS", "McGill", "VAS", "NRS")
_FUNCTION_INSTRUMENTS = ("RMDQ", "ODI", "RMDQ", "QBPDS", None, "ODI")

#: the aggregate results these trials' publications scatter around (Figure 2, Appendix 2)
PUBLISHED_MEAN = {"pain": -10.2, "function": -2.9}
PUBLISHED_TAU = {"pain": 9.0, "function": 3.5}
OUTCOME_SD = {"pain": 22.0, "function": 17.0}


def not_included_trials(rng: np.random.Generator) -> list[dict]:
    """29 not-included trials as ``[[not_included]]`` tables of the project file."""
    n_exercise = rng.permutation([1] * 11 + [2] * 15 + [3] * 3)
    n_comparison = rng.permutation([1] * 15 + [2] * 1 + [0] * 13)
    exercise_types = list(rng.permutation(_EXERCISE_TYPES))
    designs, deliveries = list(rng.permutation(_DESIGNS)), list(rng.permutation(_DELIVERIES))
    comparisons = [_COMPARISONS[i] for i in rng.permutation(len(_COMPARISONS))]
    population = list(rng.permutation(_POPULATION))
    # sizes at log-normal quantiles: median 90, quartiles 62 and 130 exactly (Table 2)
    quantiles = stats.norm.ppf((np.arange(29) + 0.5) / 29)
    sizes = rng.permutation(np.round(90 * np.exp(0.55 * quantiles)).astype(int))
    years = rng.integers(1995, 2013, 29)
    ages = _centred(rng.normal(0, 7.5, 29), 42.9, 20, 70)
    female = _centred(rng.normal(0, 22.0, 29), 44.3, 0, 100)
    pain0 = _centred(rng.normal(0, 16.0, 29), 50.9, 15, 90)
    trials = []
    for k in range(29):
        arms: list[dict[str, Any]] = []
        groups = int(n_exercise[k] + n_comparison[k])
        per_arm = [len(a) for a in np.array_split(np.arange(sizes[k]), groups)]
        for j in range(n_exercise[k]):
            arms.append({"name": f"exercise {j + 1}", "category": "exercise",
                         "type": str(exercise_types.pop()), "design": str(designs.pop()),
                         "delivery": str(deliveries.pop()), "n": per_arm[j]})  # fmt: skip
        for j in range(n_comparison[k]):
            category, kind = comparisons.pop()
            arms.append({"name": kind, "category": category, "type": kind,
                         "n": per_arm[n_exercise[k] + j]})  # fmt: skip
        trial = {
            "id": f"{_AUTHORS[k].lower()}{years[k]}", "label": f"{_AUTHORS[k]}, {years[k]}",
            "year": int(years[k]), "country": _COUNTRIES[k], "population": str(population[k]),
            "n_participants": int(sizes[k]),
            "pct_female": round(float(female[k]), 1),
            "mean_age": round(float(ages[k]), 1),
            "mean_pain0": round(float(pain0[k]), 1),
            "pain_instrument": _PAIN_INSTRUMENTS[k % 6],
            "arms": arms,
        }  # fmt: skip
        if _FUNCTION_INSTRUMENTS[k % 6]:
            trial["function_instrument"] = _FUNCTION_INSTRUMENTS[k % 6]
        categories = {a["category"] for a in arms if a["category"] != "exercise"}
        trial["comparison_category"] = _category_text(categories)
        if n_comparison[k]:
            trial["effects"] = _effects(arms, trial, rng)
        trials.append(trial)
    return trials


def _centred(values: np.ndarray, mean: float, low: float, high: float) -> np.ndarray:
    """``values`` shifted to average ``mean`` (Table 2's trial-level means), kept in range."""
    out = values - values.mean() + mean
    for _ in range(20):  # clipping moves the mean; re-centre until it settles
        out = np.clip(out - out.mean() + mean, low, high)
    return out


def _category_text(categories: set[str]) -> str:
    if not categories:
        return "N/A"
    if categories <= {"no treatment", "usual care", "placebo"}:
        return "∅/Usual"
    return "Multiple" if len(categories) > 1 else "Other conservative"


def _effects(arms: list[dict], trial: dict, rng: np.random.Generator) -> list[dict]:
    n1 = sum(a["n"] for a in arms if a["category"] == "exercise")
    n0 = sum(a["n"] for a in arms if a["category"] != "exercise")
    out = []
    for outcome in ("pain", "function"):
        if outcome == "function" and "function_instrument" not in trial:
            continue
        se = OUTCOME_SD[outcome] * np.sqrt(1 / n1 + 1 / n0)
        md = PUBLISHED_MEAN[outcome] + rng.normal(0, PUBLISHED_TAU[outcome]) + rng.normal(0, se)
        out.append({"outcome": outcome, "comparison": "any", "md": round(float(md), 1),
                    "se": round(float(se), 2)})  # fmt: skip
    return out
