"""Benchmark: the one-stage IPD + aggregate-data model (``ipdma.models.mixed_aggregate``).

On the paper-sized fixture (``tests/reference/lmm_ipd_large.csv``: 27 trials, 3,499
participants) with trials t22-t27 turned into aggregate data (their own ANCOVA estimates),
times the fit for REML/ML x common/stratified residual (median of ``--repeats`` runs), and
the same model on IPD only beside ``ipdma.mixed`` (the grid's engine). Prints ``uptime``
first: the machine is shared, so read the times with its load.

Usage::

    python benchmarks/bench_aggregate.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from ipdma import mixed
from ipdma.models import mixed_aggregate

DATA = Path(__file__).parents[1] / "tests" / "reference" / "lmm_ipd_large.csv"
PAPER = "y ~ 0 + C(trial) + baseline + treat + (0 + treat | trial) + (0 + baseline | trial)"


def _aggregate(frame: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for trial, group in frame.groupby("trial"):
        design = np.column_stack([np.ones(len(group)), group.baseline, group.treat])
        coef, *_ = np.linalg.lstsq(design, group.y, rcond=None)
        resid = group.y - design @ coef
        cov = np.linalg.inv(design.T @ design) * float(resid @ resid) / (len(group) - 3)
        rows.append({"trial": f"ad-{trial}", "estimate": coef[2], "se": np.sqrt(cov[2, 2])})
    return pd.DataFrame(rows)


def _median_seconds(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print("uptime:", os.popen("uptime").read().strip())
    data = pd.read_csv(DATA).rename(columns={"base": "baseline"})
    ad_trials = [f"t{i}" for i in range(22, 28)]
    ipd = data[~data.trial.isin(ad_trials)]
    ad = _aggregate(data[data.trial.isin(ad_trials)])
    warnings.simplefilter("ignore")
    print(f"IPD: {ipd.trial.nunique()} trials, {len(ipd)} participants; AD: {len(ad)} trials")
    for reml in (True, False):
        for residual in ("common", "stratified"):
            options = {"reml": reml, "residual": residual}
            both = _median_seconds(partial(mixed_aggregate, ipd, ad, **options), args.repeats)
            only = _median_seconds(partial(mixed_aggregate, ipd, None, **options), args.repeats)
            grid = _median_seconds(partial(mixed, PAPER, ipd, **options), args.repeats)
            print(f"{'REML' if reml else 'ML':4} {residual:10}  IPD+AD {both:6.3f} s   "
                  f"IPD only {only:6.3f} s   ipdma.mixed {grid:6.3f} s")  # fmt: skip


if __name__ == "__main__":
    main()
