"""Typed records of the IPD + aggregate-data sensitivity analysis, and their storage.

One :class:`AggregateAnalysis` per overall-effect cell (outcome, window, comparison set) that
has aggregate-data (AD) trials: the pooled treatment effect from IPD only and from IPD + AD,
two-stage and one-stage (:class:`AggregateEstimate`), and the per-trial rows of its forest
plot (IPD trials by their own ANCOVA, AD trials by their published estimate). Kept in the
results store's ``aggregate`` table (``model_id, record``: JSON), replaced on every run.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import duckdb
import numpy as np
import pandas as pd

from .._frozen import FrozenFrame, freeze

__all__ = [
    "AGGREGATE_COLUMNS",
    "AggregateAnalysis",
    "AggregateEstimate",
    "aggregate_table",
    "load_aggregate",
    "save_aggregate",
]

Approach = Literal["two-stage", "one-stage"]
DataSet = Literal["IPD only", "IPD + aggregate data"]
TRIAL_COLUMNS = ("trial", "label", "source", "n", "estimate", "se", "ci_low", "ci_high")
AGGREGATE_COLUMNS = (
    "outcome", "window", "comparison", "approach", "data", "k_ipd", "k_aggregate",
    "participants", "estimate", "se", "ci_low", "ci_high", "p", "tau2", "method", "converged",
)  # fmt: skip


@dataclass(frozen=True)
class AggregateEstimate:
    """The pooled treatment effect (MD, 0-100) of one approach on one set of trials.

    ``method`` names the estimator (``REML`` two-stage pooling, or the one-stage model's
    ``REML``/``ML``); inference is Wald z for both (the one-stage SE from (X'V^-1X)^-1).
    """

    approach: Approach
    data: DataSet
    k_ipd: int
    k_aggregate: int
    participants: int
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p: float
    tau2: float
    method: str
    converged: bool = True


@dataclass(frozen=True, eq=False)  # eq: compare to_json() (a frame field has no bool ==)
class AggregateAnalysis:
    """IPD only vs IPD + aggregate data for one overall-effect cell.

    ``trials`` (read-only): ``trial, label, source, n, estimate, se, ci_low, ci_high`` with
    ``source`` "IPD" or "aggregate"; ``label`` is the AD entry's label (IPD trials: their id,
    labelled by the report from the trials table). ``notes`` say which AD entries were left
    out and why.
    """

    model_id: str
    outcome: str
    window: str
    comparison: str
    estimates: tuple[AggregateEstimate, ...]
    trials: FrozenFrame = field(default_factory=lambda: freeze(pd.DataFrame(columns=TRIAL_COLUMNS)))
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "trials", freeze(self.trials))

    def to_frame(self) -> pd.DataFrame:
        """One row per estimate (:data:`AGGREGATE_COLUMNS`)."""
        rows = [
            {"outcome": self.outcome, "window": self.window, "comparison": self.comparison,
             **asdict(e)}
            for e in self.estimates
        ]  # fmt: skip
        return pd.DataFrame(rows, columns=list(AGGREGATE_COLUMNS))

    def to_json(self) -> str:
        """The record as JSON (:meth:`from_json` reads it back)."""
        body = {
            "model_id": self.model_id,
            "outcome": self.outcome,
            "window": self.window,
            "comparison": self.comparison,
            "estimates": [asdict(e) for e in self.estimates],
            "trials": [
                {key: _plain(value) for key, value in row.items()}
                for row in self.trials.to_dict("records")
            ],
            "notes": list(self.notes),
        }
        return json.dumps(body, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> AggregateAnalysis:
        body = json.loads(text)
        trials = pd.DataFrame(body["trials"], columns=list(TRIAL_COLUMNS))
        trials = trials.astype({"estimate": float, "se": float, "ci_low": float, "ci_high": float})
        return cls(
            model_id=body["model_id"],
            outcome=body["outcome"],
            window=body["window"],
            comparison=body["comparison"],
            estimates=tuple(AggregateEstimate(**e) for e in body["estimates"]),
            trials=trials,
            notes=tuple(body["notes"]),
        )


def _plain(value: object) -> object:
    """A JSON value that round-trips exactly (floats by repr; NaN as null)."""
    if isinstance(value, float | np.floating):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def aggregate_table(records: tuple[AggregateAnalysis, ...]) -> pd.DataFrame:
    """The tidy sensitivity table of all records (:data:`AGGREGATE_COLUMNS`)."""
    frames = [r.to_frame() for r in records]
    if not frames:
        return pd.DataFrame(columns=list(AGGREGATE_COLUMNS))
    return pd.concat(frames, ignore_index=True)


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS aggregate (position INTEGER, model_id VARCHAR, record VARCHAR)"
)


def save_aggregate(path: Path | None, records: tuple[AggregateAnalysis, ...]) -> None:
    """Replace the store's ``aggregate`` table with ``records`` (one transaction)."""
    if path is None:
        return
    con = duckdb.connect(str(path))
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute(_SCHEMA)
        con.execute("DELETE FROM aggregate")
        rows = [(i, r.model_id, r.to_json()) for i, r in enumerate(records)]
        if rows:
            con.executemany("INSERT INTO aggregate VALUES (?, ?, ?)", rows)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.close()


def load_aggregate(path: Path | None) -> tuple[AggregateAnalysis, ...]:
    """The stored records (empty when the store has none)."""
    if path is None or not path.exists():
        return ()
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
        if "aggregate" not in tables:
            return ()
        rows = con.execute("SELECT record FROM aggregate ORDER BY position").fetchall()
    finally:
        con.close()
    return tuple(AggregateAnalysis.from_json(str(row[0])) for row in rows)
