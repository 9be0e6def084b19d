"""Speed of Kenward-Roger inference (issue 18): paper-sized model, ipdma vs pbkrtest.

The paper's linear model on the committed paper-sized data (tests/reference/lmm_ipd_large.csv:
3,500 participants, 27 trials; ``y ~ 0 + C(trial) + base + treat + (0 + treat | trial) +
(0 + base | trial)``, REML), common and stratified residual variances: median time of the KR
computation on top of the fit (target <= 50 ms): ``ipdma.mixed(..., ddf="kenward-roger")``
(KR inside the fit, from the fit's own design) minus the plain fit, and KR recomputed from a
rebuilt design (``kenward_roger_of``). pbkrtest's time for the same
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
        rebuilt_ms = _median_ms(lambda fit=fit: kenward_roger_of(fit, data), args.reps)
        plain_ms = _median_ms(
            lambda residual=residual: ipdma.mixed(PAPER, data=data, residual=residual), args.reps
        )
        kr_fit_ms = _median_ms(
            lambda residual=residual: ipdma.mixed(
                PAPER, data=data, residual=residual, ddf="kenward-roger"
            ),
            args.reps,
        )
        print(
            f"{residual:10s} fit {plain_ms:7.1f} ms   fit with ddf='kenward-roger' "
            f"{kr_fit_ms:7.1f} ms (KR adds {kr_fit_ms - plain_ms:6.1f} ms)   "
            f"KR from a rebuilt design {rebuilt_ms:7.1f} ms"
        )
    fixture = json.loads((REFERENCE / "lmm_kenward_roger.json").read_text())
    print(f"pbkrtest vcovAdj (fixture run): {fixture['large_paper']['seconds_pbkrtest']:.2f} s")
    if args.with_r and shutil.which("Rscript"):
        print(f"pbkrtest vcovAdj (now, median of 3): {_pbkrtest_seconds():.2f} s")


if __name__ == "__main__":
    main()
