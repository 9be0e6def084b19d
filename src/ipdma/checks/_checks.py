"""Data checks: missingness and ranges per trial and variable, and replication of each
trial's published aggregates (from its spec's ``[[published.checks]]``) and between-arm
effects (``[[published.effects]]`` with a declared ``analysis``; ``_effects``) within a
tolerance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..harmonize import VARIABLES, convert_unit
from ..spec import Check, TrialSpec, code_key, load_project, load_trial_spec
from ..store import MasterData, load
from ._effects import replicate_effects

__all__ = ["CheckReport", "check", "missingness", "replicate"]

_EPS = 1e-9
REPLICATION_COLUMNS = [
    "trial", "statistic", "target", "arm", "published", "computed", "difference",
    "tolerance", "status", "source",
]  # fmt: skip


def missingness(master: MasterData, variables: Sequence[str] | None = None) -> pd.DataFrame:
    """Per included trial and variable: n, missing, % missing, min, max, mean.

    Columns: ``trial, variable, n, missing, pct_missing, min, max, mean``. Variables not
    collected by a trial are 100 % missing.
    """
    names = list(variables) if variables is not None else [
        v for v in VARIABLES if v in master.participants.columns
    ]  # fmt: skip
    rows = []
    for trial, group in master.participants.groupby("trial", sort=False):
        for name in names:
            values = pd.to_numeric(group[name], errors="coerce").astype(float)
            present = values.dropna()
            rows.append({
                "trial": trial, "variable": name, "n": len(values),
                "missing": int(values.isna().sum()),
                "pct_missing": 100.0 * values.isna().mean(),
                "min": present.min() if len(present) else np.nan,
                "max": present.max() if len(present) else np.nan,
                "mean": present.mean() if len(present) else np.nan,
            })  # fmt: skip
    return pd.DataFrame(rows)


def _values(master: MasterData, spec: TrialSpec, item: Check) -> tuple[str, pd.Series | None]:
    people = master.participants[master.participants["trial"] == spec.id]
    if item.arm is not None:
        people = people[people["arm_code"] == code_key(item.arm)]
    if item.outcome is not None and item.time is not None:  # Check: an outcome needs a time
        unit = spec.outcomes[item.outcome].time_unit if item.outcome in spec.outcomes else None
        weeks = round((item.time - spec.source.baseline_time)
                      * convert_unit(unit or spec.source.time_unit, "weeks"), 4)  # fmt: skip
        out = master.outcomes
        sel = out[(out["trial"] == spec.id) & (out["outcome"] == item.outcome)
                  & np.isclose(out["time_weeks"].astype(float), weeks)]  # fmt: skip
        sel = sel[sel["pid"].isin(people["pid"])]
        column = "native_value" if item.scale == "native" else "value"
        return f"{item.outcome} at {item.time:g} ({item.scale})", sel[column].astype(float)
    if item.variable is None:
        return "participants", None
    if item.variable not in people.columns:
        return item.variable, pd.Series(dtype=float)
    return item.variable, pd.to_numeric(people[item.variable], errors="coerce").astype(float)


def _compute(statistic: str, values: pd.Series | None, n_people: int) -> float:
    if statistic == "n":
        return float(n_people if values is None else values.notna().sum())
    present = values.dropna() if values is not None else pd.Series(dtype=float)
    if present.empty:
        return np.nan
    if statistic == "mean":
        return float(present.mean())
    if statistic == "sd":
        return float(present.std(ddof=1)) if len(present) > 1 else np.nan
    if statistic == "median":
        return float(present.median())
    return float(100.0 * present.mean())  # percent of 1s


def replicate(master: MasterData, specs: Sequence[TrialSpec]) -> pd.DataFrame:
    """One row per published aggregate and per published effect's md and se (when its
    ``analysis`` is declared): the IPD value, the difference and the verdict.

    ``status`` is ``"match"`` when ``|computed - published| <= tolerance``, ``"discrepancy"``
    otherwise, and ``"not computable"`` when the IPD give no value.
    """
    rows = []
    for spec in specs:
        for item in spec.published.checks:
            target, values = _values(master, spec, item)
            people = master.participants[master.participants["trial"] == spec.id]
            if item.arm is not None:
                people = people[people["arm_code"] == code_key(item.arm)]
            computed = _compute(item.statistic, values, len(people))
            difference = computed - item.value
            if np.isnan(computed):
                status = "not computable"
            elif abs(difference) <= item.tolerance + _EPS:
                status = "match"
            else:
                status = "discrepancy"
            rows.append({
                "trial": spec.id, "statistic": item.statistic, "target": target,
                "arm": None if item.arm is None else code_key(item.arm),
                "published": item.value, "computed": computed, "difference": difference,
                "tolerance": item.tolerance, "status": status, "source": item.source,
            })  # fmt: skip
    rows += replicate_effects(master, specs)
    return pd.DataFrame(rows, columns=REPLICATION_COLUMNS)


@dataclass(frozen=True)
class CheckReport:
    """Result of ``ipdma check``: missingness/ranges, the replication table and the ingest
    notices (trials that cannot contribute, implausible follow-up schedules)."""

    missing: pd.DataFrame
    replication: pd.DataFrame
    notices: tuple[str, ...] = ()

    @property
    def discrepancies(self) -> pd.DataFrame:
        """Replication rows that did not match."""
        return self.replication[self.replication["status"] != "match"]

    def summary(self) -> str:
        """Counts of matches and discrepancies."""
        counts = self.replication["status"].value_counts()
        return (
            f"replication of published aggregates: {int(counts.get('match', 0))} match, "
            f"{int(counts.get('discrepancy', 0))} discrepancy, "
            f"{int(counts.get('not computable', 0))} not computable"
        )

    def to_frame(self) -> pd.DataFrame:
        """The replication table (the tidy result)."""
        return self.replication

    def _repr_html_(self) -> str:
        return f"<p>{self.summary()}</p>" + self.replication.to_html(index=False)


def check(project_path: str | Path) -> CheckReport:
    """Check a project's master dataset (run ``ingest`` first)."""
    project = load_project(project_path)
    master = load(project.output_dir / "master.duckdb")
    specs = [load_trial_spec(p) for p in project.trial_paths]
    notices = master.meta.notices
    return CheckReport(missingness(master), replicate(master, specs), notices)
