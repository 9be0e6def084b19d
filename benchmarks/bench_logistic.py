"""Speed of the logistic mixed-model engine (issue 3).

(a) paper-sized model: 3,500 participants in 27 trials, stratified intercepts, random
    treatment effect, ``rec ~ 0 + C(trial) + base + treat + (0 + treat | trial)``: median
    fit time at the default quadrature (target <= 100 ms) and at Laplace;
(b) 200,000 participants in 300 trials, same model (target <= 10 s);
(c) glmer on the data of (a), through Rscript, if R with lme4 is installed (never needed).

    .venv/bin/python benchmarks/bench_logistic.py [--repeats 15] [--no-r] [--no-large]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ipdma.models import build_design, mixed, parse_formula
from ipdma.models._logistic import fit_binomial

FORMULA = "rec ~ 0 + C(trial) + base + treat + (0 + treat | trial)"


def simulate(participants: int, trials: int, *, seed: int) -> pd.DataFrame:
    """Binary recovery with trial intercepts, baseline effect, random treatment log OR."""
    rng = np.random.default_rng(seed)
    sizes = rng.multinomial(participants - 20 * trials, np.ones(trials) / trials) + 20
    trial = np.repeat([f"t{i:03d}" for i in range(trials)], sizes)
    idx = np.repeat(np.arange(trials), sizes)
    intercept = rng.normal(-0.7, 0.6, trials)[idx]
    log_or = (0.55 + 0.4 * rng.normal(size=trials))[idx]
    treat = rng.integers(0, 2, len(trial))
    base = rng.normal(size=len(trial))
    eta = intercept - 0.45 * base + log_or * treat
    rec = rng.binomial(1, 1 / (1 + np.exp(-eta)))
    return pd.DataFrame({"trial": trial, "treat": treat, "base": base, "rec": rec})


def timed(fn, repeats: int) -> tuple[float, float, object]:
    """Median wall-clock and median CPU (process) seconds; CPU time is what the fit costs
    when other processes compete for the cores (shared machines)."""
    wall, cpu, out = [], [], None
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        out = fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return float(np.median(wall)), float(np.median(cpu)), out


def glmer_seconds(data: pd.DataFrame, nagq: int) -> float | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.csv"
        data.to_csv(path, index=False)
        script = (
            "suppressPackageStartupMessages(library(lme4));"
            f"d <- read.csv('{path}');"
            "t <- system.time(glmer(rec ~ 0 + trial + base + treat + (0 + treat | trial),"
            f" data = d, family = binomial, nAGQ = {nagq}));"
            "cat(t[['elapsed']])"
        )
        run = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=False)
    try:
        return float(run.stdout.strip().split()[-1])
    except (ValueError, IndexError):
        return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--no-r", action="store_true")
    parser.add_argument("--no-large", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    data = simulate(3500, 27, seed=1)
    design = build_design(parse_formula(FORMULA), data)
    mixed(FORMULA, data, family="binomial")  # warm-up (imports)
    print(f"(a) paper-sized: {len(data)} participants, {data.trial.nunique()} trials")
    for nagq in (None, 1):
        t_fit, c_fit, result = timed(lambda n=nagq: fit_binomial(design, nagq=n), args.repeats)
        t_all, _, _ = timed(lambda n=nagq: mixed(FORMULA, data, family="binomial", nagq=n), 5)
        print(
            f"    {result.method:9s} median fit {1000 * t_fit:6.1f} ms wall, {1000 * c_fit:6.1f} ms "
            f"CPU (with formula/design {1000 * t_all:6.1f} ms); converged={result.converged}, "
            f"OR(treat)={np.exp(result.fixef['treat']):.4f}"
        )
    if not args.no_r:
        for nagq in (1, 7):
            sec = glmer_seconds(data, nagq)
            print(
                f"    glmer nAGQ={nagq}: " + ("R not available" if sec is None else f"{sec:.2f} s")
            )
    if not args.no_large:
        big = simulate(200_000, 300, seed=2)
        start, start_cpu = time.perf_counter(), time.process_time()
        result = mixed(FORMULA, big, family="binomial")
        total, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        print(
            f"(b) {len(big)} participants, 300 trials, {result.method}: {total:.2f} s wall, "
            f"{cpu:.2f} s CPU "
            f"(design included); converged={result.converged}, "
            f"OR(treat)={np.exp(result.fixef['treat']):.4f}"
        )


if __name__ == "__main__":
    main()
