"""Table 2: trial-level characteristics of included vs not-included eligible trials."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..store import MasterData
from ._common import require
from ._stats import (
    NO_TEST,
    TestResult,
    categorical_test,
    mann_whitney,
    mean_ci,
    median_iqr,
    proportion_ci,
    welch_t,
)

__all__ = ["table2"]

_NAN = float("nan")
_GROUPS = ("included", "not_included")
POPULATION = {
    "primary care": "Health care",
    "secondary care": "Health care",
    "occupational": "Occupational",
    "general or mixed": "General or mixed",
}
EXERCISE_TYPES = (
    "strengthening",
    "stretching",
    "core strengthening",
    "flexibility/mobilizing",
    "aerobic",
    "McKenzie",
    "functional restoration",
    "yoga",
    "other",
    "mixed",
)
DESIGNS = ("individualized", "partially individualized", "standardized", "not specified")
DELIVERIES = ("independent", "independent with follow-up", "group", "one-on-one", "not specified")
USUAL = ("no treatment", "usual care", "placebo")


def _ordered(values: pd.Series, order: Sequence[str]) -> list[str]:
    present = [str(v) for v in pd.unique(values.dropna())]
    known = [v for v in order if v in present]
    return known + sorted(v for v in present if v not in order)


def _fmt(value: float, decimals: int) -> str:
    return "-" if not np.isfinite(value) else f"{value:.{decimals}f}"


class _Rows:
    def __init__(self, decimals: int) -> None:
        self.rows: list[dict[str, Any]] = []
        self.decimals = decimals

    def interval(self, section, label, kind, summary, unit, stats_by_group, test) -> None:
        row = {"section": section, "row": label, "kind": kind, "summary": summary, "unit": unit}
        d = self.decimals
        for group, (value, low, high, n) in zip(_GROUPS, stats_by_group, strict=True):
            whole = all(np.isfinite(v) and float(v).is_integer() for v in (value, low, high))
            vd = 0 if summary.startswith("median") and whole else d
            sep = "-" if summary.startswith("median") else ", "
            row[group] = f"{_fmt(value, vd)} ({_fmt(low, vd)}{sep}{_fmt(high, vd)})"
            row.update(
                {
                    f"{group}_value": value,
                    f"{group}_low": low,
                    f"{group}_high": high,
                    f"{group}_pct": _NAN,
                    f"{group}_n": n,
                }
            )
        self.rows.append({**row, **self._test(test)})

    def counts(self, section, label, kind, unit, counts, totals, test=NO_TEST) -> None:
        row = {"section": section, "row": label, "kind": kind, "summary": "n (%)", "unit": unit}
        for group, count, total in zip(_GROUPS, counts, totals, strict=True):
            pct = 100 * count / total if total else _NAN
            row[group] = f"{int(count)} ({_fmt(pct, 0)}%)" if total else f"{int(count)}"
            row.update(
                {
                    f"{group}_value": float(count),
                    f"{group}_low": _NAN,
                    f"{group}_high": _NAN,
                    f"{group}_pct": pct,
                    f"{group}_n": total,
                }
            )
        self.rows.append({**row, **self._test(test)})

    def header(self, section, label, unit, totals, test) -> None:
        row = {"section": section, "row": label, "kind": "header", "summary": "n (%)", "unit": unit}
        for group, total in zip(_GROUPS, totals, strict=True):
            row[group] = f"N = {int(total)}"
            row.update(
                {
                    f"{group}_value": _NAN,
                    f"{group}_low": _NAN,
                    f"{group}_high": _NAN,
                    f"{group}_pct": _NAN,
                    f"{group}_n": total,
                }
            )
        self.rows.append({**row, **self._test(test)})

    @staticmethod
    def _test(test: TestResult) -> dict[str, Any]:
        return {"test": test.test, "statistic": test.statistic, "p": test.p}

    def categorical(self, section, unit, labels, split, seed) -> None:
        """``split``: the two groups' Series of level labels (one entry per unit)."""
        totals = [len(s) for s in split]
        table = np.array([[int((s == lab).sum()) for s in split] for lab in labels])
        self.header(section, section, unit, totals, categorical_test(table, seed=seed))
        for lab, counts in zip(labels, table, strict=True):
            self.counts(section, lab, "level", unit, counts, totals)


def table2(
    master: MasterData, *, decimals: int = 1, level: float = 0.95, seed: int = 2020
) -> pd.DataFrame:
    """Included vs not-included eligible trials, as the paper's Table 2, with a test per block.

    Blocks and tests: number of participants per trial, median (IQR), Mann-Whitney U;
    population source, numbers of exercise / comparison groups (per trial), exercise types,
    design and delivery (per exercise arm) and comparison types (per comparison arm),
    n (%), chi-square or Fisher's exact test (see :func:`categorical_test`); mean age,
    % female and mean baseline pain, mean (95% CI), Welch t-test on the trial-level values.
    For included trials the age, % female and pain summaries come from the participants
    (mean with a t CI, % with a Wald CI, as in the paper); for not-included trials from the
    published trial-level values (mean of the trial values with a t CI). The test compares
    trial-level values in both groups.

    Returns a tidy frame: ``section, row, kind`` ("header" carries the block's test,
    "level" a category, "value" a one-row block), ``summary, unit``, display strings
    ``included, not_included`` and numbers ``<group>_value, _low, _high, _pct, _n``, then
    ``test, statistic, p``.
    """
    trials = require(
        master,
        "trials",
        (
            "trial",
            "included",
            "n_participants",
            "population",
            "mean_age",
            "pct_female",
            "mean_pain0",
            "n_exercise_arms",
            "n_comparison_arms",
        ),
    )
    arms = require(master, "arms", ("trial", "role", "category", "type", "design", "delivery"))
    included = trials["included"].astype(bool)
    groups = (trials[included], trials[~included])
    rows = _Rows(decimals)

    sizes = [g["n_participants"] for g in groups]
    rows.interval(
        "Number of participants per trial",
        "Number of participants per trial",
        "value",
        "median (IQR)",
        "trials",
        [median_iqr(s) for s in sizes],
        mann_whitney(*sizes),
    )

    pop = [g["population"].map(lambda v: POPULATION.get(str(v), str(v))) for g in groups]
    labels = _ordered(pd.concat(pop), ("Health care", "Occupational", "General or mixed"))
    rows.categorical("Population source", "trials", labels, pop, seed)

    participants = master.participants
    for column, trial_column, label in (
        ("age", "mean_age", "Mean age of sample, years"),
        ("female", "pct_female", "Proportion of sample female, %"),
        ("pain0", "mean_pain0", "Mean severity of pain at baseline (0-100)"),
    ):
        values = [g[trial_column] for g in groups]
        inc = None
        if column in participants.columns:
            ids = set(groups[0]["trial"])
            x = pd.to_numeric(participants.loc[participants["trial"].isin(ids), column])
            x = x.dropna()
            if len(x):
                if column == "female":
                    pct, low, high = proportion_ci(float(x.sum()), len(x), level)
                    inc = (pct, low, high, len(x))
                else:
                    inc = mean_ci(x, level)
        unit = "participants / trials" if inc is not None else "trials"
        if inc is None:
            inc = mean_ci(values[0], level)
        rows.interval(
            label,
            label,
            "value",
            "mean (95% CI)",
            unit,
            [inc, mean_ci(values[1], level)],
            welch_t(*values),
        )

    for column, label in (("n_exercise_arms", "exercise"), ("n_comparison_arms", "comparison")):
        split = [
            g[column].map(lambda v, label=label: f"{int(v)} {label} group{'s' * (int(v) != 1)}")
            for g in groups
        ]
        order = [f"{k} {label} group{'s' * (k != 1)}" for k in range(10)]
        rows.categorical(
            f"Number of {label} groups", "trials", _ordered(pd.concat(split), order), split, seed
        )

    arm_groups = [arms[arms["trial"].isin(g["trial"])] for g in groups]
    exercise = [a[a["role"] == "exercise"] for a in arm_groups]
    for column, known, label in (
        ("type", EXERCISE_TYPES, "Exercise group types"),
        ("design", DESIGNS, "Design of exercise program"),
        ("delivery", DELIVERIES, "Delivery of exercise program"),
    ):
        split = [e[column].fillna("not specified").astype(str) for e in exercise]
        rows.categorical(label, "exercise arms", _ordered(pd.concat(split), known), split, seed)

    comparison = [a[a["role"] == "comparison"] for a in arm_groups]
    fine = [
        c["category"].where(c["category"].isin(USUAL), c["type"]).fillna("other").astype(str)
        for c in comparison
    ]
    usual = _ordered(pd.concat(fine)[pd.concat(fine).isin(USUAL)], USUAL)
    other = sorted(set(pd.concat(fine)) - set(USUAL))
    totals = [len(c) for c in comparison]
    table = np.array([[int((s == lab).sum()) for s in fine] for lab in usual + other])
    section = "Comparison group types"
    rows.header(
        section,
        section,
        "comparison arms",
        totals,
        categorical_test(table, seed=seed) if len(table) else NO_TEST,
    )
    for title, members in (
        ("No treatment/usual care comparisons", usual),
        ("Other conservative treatment comparisons", other),
    ):
        counts = [int(s.isin(members).sum()) for s in fine]
        rows.counts(section, title, "subheader", "comparison arms", counts, totals)
        for lab in members:
            rows.counts(
                section,
                lab,
                "level",
                "comparison arms",
                [int((s == lab).sum()) for s in fine],
                totals,
            )
    return pd.DataFrame(rows.rows)
