"""The imputation engine's output pinned: speed work (batched fits, vectorized root-finding,
worker processes) must not change the draws for a seed.

A small imputation of the simulated consortium (continuous, binary and ordered covariates,
systematically and sporadically missing, missing outcomes; both methods) is summarized per
variable and imputation (sum, sum of squares, the first values) with its chain means, and
compared with ``pinned_imputation.json``, written by the engine before the speed work.

A deliberate change of the imputation MODEL changes the draws: regenerate the file then
(and say so in the commit), from the worktree root::

    PYTHONPATH=src python -m tests.impute.test_pinned
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ipdma
from ipdma.impute import impute

PINNED = Path(__file__).with_name("pinned_imputation.json")
RTOL = 1e-7  # rounding only: a changed random-number stream moves every value by O(1)
VARIABLES = ["bmi", "fear_avoidance", "smoker", "heavy_demands", "stress"]
FIRST = 12  # values pinned one by one per variable and imputation


def _data() -> pd.DataFrame:
    frame = ipdma.simulate.harmonized_ipd(seed=11, window="short")
    frame = frame[frame["trial"].isin(sorted(frame["trial"].unique())[:14])].copy()
    # an ordered 1-5 scale derived from a continuous covariate (missing where it is)
    cuts = np.nanquantile(frame["mental_health"], [0.2, 0.45, 0.7, 0.9])
    stress = 1.0 + np.searchsorted(cuts, frame["mental_health"].to_numpy())
    frame["stress"] = np.where(frame["mental_health"].isna(), np.nan, stress)
    return frame


def _summary(random_slopes: bool, jobs: int = 1) -> dict[str, object]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = impute(_data(), VARIABLES, m=3, seed=17, iterations=3, ordered=["stress"],
                        min_trials=3, random_slopes=random_slopes, jobs=jobs)  # fmt: skip
    values = {
        name: {
            "sum": result.values[name].sum(axis=1).tolist(),
            "sumsq": (result.values[name] ** 2).sum(axis=1).tolist(),
            "first": result.values[name][:, :FIRST].tolist(),
        }
        for name in result.variables
    }
    return {"variables": list(result.variables), "values": values,
            "chains": result.chains["mean"].tolist()}  # fmt: skip


def _pinned() -> dict[str, dict[str, object]]:
    return json.loads(PINNED.read_text("utf-8"))


@pytest.mark.parametrize("method", ["2stage", "2stage-random-slopes"])
def test_imputation_output_is_pinned(method: str) -> None:
    expected = _pinned()[method]
    got = _summary(method == "2stage-random-slopes")
    assert got["variables"] == expected["variables"]
    for name in expected["variables"]:
        for key in ("sum", "sumsq", "first"):
            np.testing.assert_allclose(got["values"][name][key], expected["values"][name][key],
                                       rtol=RTOL, atol=1e-9, err_msg=f"{name} {key}")  # fmt: skip
    np.testing.assert_allclose(got["chains"], expected["chains"], rtol=RTOL, atol=1e-9)


def test_worker_processes_give_the_serial_draws() -> None:
    serial, parallel = _summary(False), _summary(False, jobs=2)
    assert parallel == serial


if __name__ == "__main__":
    out = {method: _summary(method == "2stage-random-slopes")
           for method in ("2stage", "2stage-random-slopes")}  # fmt: skip
    PINNED.write_text(json.dumps(out, indent=1) + "\n", "utf-8")
    print(f"wrote {PINNED}")
