"""Speed of the Poisson mixed-model engine (issue 20): the logistic AGHQ engine with the
Poisson family.

Paper-sized count model: 3,500 participants in 27 trials, stratified intercepts, random
treatment effect, exposure offset,
``y ~ 0 + C(trial) + base + treat + (0 + treat | trial)`` with ``offset = log(years)``:
median fit time at the default quadrature (20 nodes) and at Laplace, and glmer (nAGQ = 20)
through Rscript if R with lme4 is installed (never needed).

    .venv/bin/python benchmarks/bench_poisson.py [--repeats 9] [--no-r]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ipdma.models import mixed

FORMULA = "y ~ 0 + C(trial) + base + treat + (0 + treat | trial)"


def simulate(participants: int, trials: int, *, seed: int) -> pd.DataFrame:
    """Counts with trial intercepts, a baseline effect and a random treatment log rate ratio."""
    rng = np.random.default_rng(seed)
    sizes = rng.multinomial(participants - 20 * trials, np.ones(trials) / trials) + 20
    idx = np.repeat(np.arange(trials), sizes)
    years = rng.uniform(0.5, 2.0, len(idx))
    treat = rng.integers(0, 2, len(idx))
    base = rng.normal(size=len(idx))
    log_rr = (-0.35 + 0.25 * rng.normal(size=trials))[idx]
    eta = rng.normal(0.2, 0.5, trials)[idx] + 0.3 * base + log_rr * treat
    y = rng.poisson(years * np.exp(eta))
    trial = np.array([f"t{i:03d}" for i in range(trials)])[idx]
    return pd.DataFrame({"trial": trial, "treat": treat, "base": base, "years": years, "y": y})


def timed(fn, repeats: int) -> tuple[float, float, object]:
    wall, cpu, out = [], [], None
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        out = fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return float(np.median(wall)), float(np.median(cpu)), out


def glmer_seconds(data: pd.DataFrame) -> float | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.csv"
        data.to_csv(path, index=False)
        script = (
            "suppressMessages(library(lme4)); d <- read.csv(commandArgs(TRUE)[1]);"
            "t <- system.time(glmer(y ~ 0 + trial + base + treat + (0 + treat | trial) +"
            " offset(log(years)), data = d, family = poisson, nAGQ = 20)); cat(t[['elapsed']])"
        )
        out = subprocess.run(
            ["Rscript", "-e", script, str(path)], capture_output=True, text=True, check=False
        )
        try:
            return float(out.stdout.strip().split()[-1])
        except (ValueError, IndexError):
            return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--no-r", action="store_true")
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()}")
    data = simulate(3500, 27, seed=20)
    offset = np.log(data.years)
    for nagq in (1, 20):
        wall, cpu, fit = timed(
            lambda nagq=nagq: mixed(FORMULA, data, family="poisson", offset=offset, nagq=nagq),
            args.repeats,
        )
        print(
            f"3,500 x 27, nagq={nagq}: median {1000 * wall:.0f} ms wall, {1000 * cpu:.0f} ms "
            f"CPU; converged={fit.converged}, treat={fit.fixef['treat']:.4f}"
        )
    if not args.no_r:
        seconds = glmer_seconds(data)
        print("glmer nAGQ=20: " + ("not available" if seconds is None else f"{seconds:.2f} s"))


if __name__ == "__main__":
    main()
