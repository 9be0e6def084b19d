"""Speed of Kenward-Roger inference (issue 18): paper-sized model, ipdma vs pbkrtest.

The paper's linear model on the committed paper-sized data (tests/reference/lmm_ipd_large.csv:
3,500 participants, 27 trials; ``y ~ 0 + C(trial) + base + treat + (0 + treat | trial) +
(0 + base | trial)``, REML), common and stratified residual variances: median time of the KR
computation on top of the fit (target <= 50 ms), and of fit + KR. pbkrtest's time for the same
model (``vcovAdj``) is read from the fixture (tests/reference/lmm_kenward_roger.json, written
by lmm_kenward_roger.R on this machine); where R is installed, ``--with-r`` measures it again.

    python benchmarks/bench_kenward_roger.py [--reps 21] [--with-r]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import ipdma
from ipdma.models._kenward_roger import kenward_roger_of

REFERENCE = Path(__file__).parents[1] / "tests" / "reference"
PAPER = "y ~ 0 + C(trial) + base + treat + (0 + treat | trial) + (0 + base | trial)"


def _median_ms(function, reps: int) -> float:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def _pbkrtest_seconds() -> float:
    script = (
        "suppressMessages({library(lme4); library(pbkrtest)});"
        f"d <- read.csv('{REFERENCE / 'lmm_ipd_large.csv'}');"
        "f <- lmer(y ~ 0 + factor(trial) + base + treat + (0 + treat | trial) + (0 + base | trial),"
        " data = d, REML = TRUE);"
        "cat(median(replicate(3, system.time(vcovAdj(f))[['elapsed']])))"
    )
    out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=21)
    parser.add_argument("--with-r", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    data = pd.read_csv(REFERENCE / "lmm_ipd_large.csv")
    print(f"load average: {os.getloadavg()}")
    for residual in ("common", "stratified"):
        fit = ipdma.mixed(PAPER, data=data, residual=residual)
        kr_ms = _median_ms(lambda fit=fit: kenward_roger_of(fit, data), args.reps)
        total_ms = _median_ms(
            lambda residual=residual: kenward_roger_of(
                ipdma.mixed(PAPER, data=data, residual=residual), data
            ),
            args.reps,
        )
        print(f"{residual:10s} KR {kr_ms:7.1f} ms   fit + KR {total_ms:7.1f} ms")
    fixture = json.loads((REFERENCE / "lmm_kenward_roger.json").read_text())
    print(f"pbkrtest vcovAdj (fixture run): {fixture['large_paper']['seconds_pbkrtest']:.2f} s")
    if args.with_r and shutil.which("Rscript"):
        print(f"pbkrtest vcovAdj (now, median of 3): {_pbkrtest_seconds():.2f} s")


if __name__ == "__main__":
    main()
