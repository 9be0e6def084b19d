"""Interactive-speed benchmarks of issue 19 (the paper's exact model by default).

Sections (pick with ``--only``; all by default except ``grid``, which takes minutes):

``logistic``  paper-sized logistic fits (3,500 participants, 27 trials, stratified
              intercepts): 2 random effects (treatment, baseline) AGHQ(7), goal <= 40 ms;
              1 random effect (treatment) AGHQ(7), goal <= 20 ms. Two data sets: one with a
              planted baseline-slope SD (interior optimum) and one without (boundary fit, the
              common case in the grid, with its verification).
``linear``    paper-sized linear REML (random treatment and baseline slopes), goal <= 5 ms
              and >= 20x lme4::lmer timed in the same run (R process, several fits, median;
              skipped without Rscript).
``stratified`` stratified residual variances (one per trial): 3,500 / 27 trials (goal
              <= 20 ms) and 3,000,000 / 1,000 trials (goal <= 1 s; ``--no-large`` skips).
``cold``      a fresh process that reads a paper-sized CSV and fits one linear model, whole
              process wall time (goal <= 0.5 s), median of several runs.
``grid``      the whole default analysis grid on the simulated consortium, with the paper's
              logistic structure (random treatment and baseline, AGHQ(7)) set explicitly so the
              same script measures older versions too (goal <= 30 s on 2 cores).

Every figure is a median over repeats, with the minimum and the CPU time (what a fit costs
when other processes compete for the cores); the load average is printed first and last.
Run the same script on two source trees back to back to compare them::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_speed.py [--only logistic linear ...]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

LOGIT_2D = "rec ~ 0 + C(trial) + base + treat + (0 + treat | trial) + (0 + base | trial)"
LOGIT_1D = "rec ~ 0 + C(trial) + base + treat + (0 + treat | trial)"
LINEAR = "y ~ 0 + C(trial) + base + treat + (0 + treat | trial) + (0 + base | trial)"


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def timed(fn, repeats: int) -> tuple[float, float, float, object]:
    """Median wall, minimum wall and median CPU seconds over ``repeats`` calls."""
    wall, cpu, out = [], [], None
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        out = fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return float(np.median(wall)), float(np.min(wall)), float(np.median(cpu)), out


def show(label: str, figures: tuple, goal: str, extra: str = "") -> None:
    med, low, cpu = figures[:3]
    print(
        f"  {label:44s} median {1e3 * med:8.1f} ms  min {1e3 * low:8.1f} ms  "
        f"CPU {1e3 * cpu:8.1f} ms  (goal {goal}) {extra}"
    )


def binary_data(participants: int, trials: int, *, base_sd: float, seed: int) -> pd.DataFrame:
    """Recovery-like binary outcome: trial intercepts, random treatment log OR, baseline
    slope with SD ``base_sd`` across trials."""
    rng = np.random.default_rng(seed)
    sizes = rng.multinomial(participants - 20 * trials, np.ones(trials) / trials) + 20
    idx = np.repeat(np.arange(trials), sizes)
    treat = rng.integers(0, 2, len(idx)).astype(float)
    base = rng.normal(size=len(idx))
    eta = (
        rng.normal(-0.7, 0.6, trials)[idx]
        + (-0.45 + base_sd * rng.normal(size=trials))[idx] * base
        + (0.55 + 0.4 * rng.normal(size=trials))[idx] * treat
    )
    rec = rng.binomial(1, 1 / (1 + np.exp(-eta)))
    trial = np.array([f"t{i:04d}" for i in range(trials)])[idx]
    return pd.DataFrame({"trial": trial, "treat": treat, "base": base, "rec": rec})


def linear_data(participants: int, trials: int, *, seed: int = 1) -> pd.DataFrame:
    """Continuous outcome: trial intercepts, random treatment and baseline slopes, one
    residual SD per trial (12 to 25)."""
    rng = np.random.default_rng(seed)
    weights = rng.uniform(0.5, 1.5, trials)
    idx = np.sort(rng.choice(trials, size=participants, p=weights / weights.sum()))
    base = rng.normal(60, 15, participants)
    treat = rng.integers(0, 2, participants).astype(float)
    y = (
        rng.normal(20, 6, trials)[idx]
        + (0.5 + rng.normal(0, 0.1, trials))[idx] * base
        + (-6 + rng.normal(0, 3, trials))[idx] * treat
        + rng.normal(0, 1, participants) * rng.uniform(12, 25, trials)[idx]
    )
    trial = np.array([f"t{i:04d}" for i in range(trials)])[idx]
    return pd.DataFrame({"trial": trial, "y": y, "base": base, "treat": treat})


def bench_logistic(repeats: int) -> None:
    import ipdma

    print("logistic, 3,500 participants / 27 trials, stratified intercepts")
    for name, base_sd in (("baseline-slope SD 0.3", 0.3), ("no baseline-slope SD", 0.0)):
        data = binary_data(3500, 27, base_sd=base_sd, seed=10)
        for label, formula, goal in (
            ("2 random effects AGHQ(7)", LOGIT_2D, "<= 40 ms"),
            ("1 random effect AGHQ(7)", LOGIT_1D, "<= 20 ms"),
        ):

            def fit(formula=formula, data=data):
                return ipdma.mixed(formula, data, family="binomial", nagq=7)

            fit()  # warm-up (imports, caches)
            figures = timed(fit, repeats)
            result = figures[3]
            show(
                f"{label}, {name}",
                figures,
                goal,
                f"loglik {result.loglik:.6f} singular={result.singular} "
                f"converged={result.converged}",
            )


def _r_seconds(script: str) -> float | None:
    if shutil.which("Rscript") is None:
        return None
    run = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=False)
    try:
        return float(run.stdout.strip().split()[-1])
    except (ValueError, IndexError):
        return None


def bench_linear(repeats: int, use_r: bool) -> None:
    import ipdma

    print("linear REML, 3,500 participants / 27 trials, random treatment and baseline slopes")
    data = linear_data(3500, 27)
    ipdma.mixed(LINEAR, data)
    figures = timed(lambda: ipdma.mixed(LINEAR, data), repeats)
    show("ipdma.mixed (formula to result)", figures, "<= 5 ms")
    if not use_r:
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.csv"
        data.to_csv(path, index=False)
        script = (
            "suppressPackageStartupMessages(library(lme4));"
            f"d <- read.csv('{path}'); f <- y ~ 0 + trial + base + treat + (0 + treat | trial)"
            " + (0 + base | trial); invisible(lmer(f, d));"
            f"t <- replicate({max(5, repeats // 2)}, system.time(lmer(f, d))[['elapsed']]);"
            "cat(median(t))"
        )
        seconds = _r_seconds(script)
    if seconds is None:
        print("  lme4::lmer: R not available")
    else:
        print(
            f"  lme4::lmer (same data, same R session, median)  {1e3 * seconds:8.1f} ms  "
            f"ipdma is {seconds / figures[0]:.1f}x faster (goal >= 20x)"
        )


def bench_stratified(repeats: int, large: bool) -> None:
    import ipdma

    print("linear REML with stratified residual variances (one per trial)")
    data = linear_data(3500, 27)
    ipdma.mixed(LINEAR, data, residual="stratified")
    figures = timed(lambda: ipdma.mixed(LINEAR, data, residual="stratified"), repeats)
    show("3,500 / 27 trials", figures, "<= 20 ms", f"loglik {figures[3].loglik:.6f}")
    if large:
        # one untimed fit first (as for the small data), then the two fits alternate so that
        # both see the same machine load, in turn first and second: the kernel's cost of
        # handing a fit its fresh memory (~150 MB of cross-product buffer) can differ by
        # 0.3 s between consecutive fits; 6 of each (each builds its design from 3M rows)
        big = linear_data(3_000_000, 1000, seed=2)
        ipdma.mixed(LINEAR, big)
        runs: dict[str, list] = {"stratified": [], "common": []}
        for round_ in range(6):
            for residual in ("stratified", "common")[:: 1 if round_ % 2 else -1]:
                runs[residual].append(
                    timed(lambda r=residual: ipdma.mixed(LINEAR, big, residual=r), 1)
                )
        for residual, out in runs.items():
            figures = (
                float(np.median([run[0] for run in out])),
                float(np.min([run[1] for run in out])),
                float(np.median([run[2] for run in out])),
                out[-1][3],
            )
            show(
                f"3,000,000 / 1,000 trials, {residual}",
                figures,
                "<= 1 s" if residual == "stratified" else "reference",
                f"converged={figures[3].converged}",
            )


_COLD = """
import sys, time
start = float(sys.argv[2])
import pandas as pd
import ipdma
data = pd.read_csv(sys.argv[1])
fit = ipdma.mixed("{formula}", data)
print(time.time() - start, fit.fixef["treat"])
"""


def bench_cold(repeats: int) -> None:
    print("fresh process: start Python, read a paper-sized CSV, fit one linear model, exit")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "paper.csv"
        linear_data(3500, 27).to_csv(path, index=False)
        code = _COLD.format(formula=LINEAR)
        wall, inside = [], []
        for _ in range(repeats):
            start = time.time()
            run = subprocess.run(
                [sys.executable, "-c", code, str(path), repr(start)],
                capture_output=True, text=True, check=True, env=os.environ,
            )  # fmt: skip
            wall.append(time.time() - start)
            inside.append(float(run.stdout.split()[0]))
    print(
        f"  whole process median {1e3 * np.median(wall):8.1f} ms  min {1e3 * min(wall):8.1f} ms"
        f"  (goal <= 500 ms); until the fit returned: median {1e3 * np.median(inside):.1f} ms"
    )


def bench_grid(jobs: int | None) -> None:
    import ipdma
    from ipdma.analysis import AnalysisPlan

    frames = [
        ipdma.simulate.harmonized_ipd(seed=2020, window=window).assign(window=window)
        for window in ("short", "moderate", "long")
    ]
    data = pd.concat(frames, ignore_index=True)
    plan = AnalysisPlan.model_validate(
        {"model": {"random_binomial": ["treatment", "baseline"], "nagq": 7}}
    )
    print("whole default grid, paper's logistic structure (random treatment + baseline, AGHQ(7))")
    with tempfile.TemporaryDirectory() as tmp:
        start, start_cpu = time.perf_counter(), time.process_time()
        results = ipdma.analysis.run(data, plan, jobs=jobs, cache=str(Path(tmp) / "g.duckdb"))
        wall = time.perf_counter() - start
        parent_cpu = time.process_time() - start_cpu
        # per-fit times are run facts: the store's run log, not the (deterministic) tables
        from ipdma.analysis._store import ResultsStore

        times = ResultsStore(Path(tmp) / "g.duckdb").fit_times(results.run.run)
    models = results.models
    fits_cpu = float(times.cpu_seconds.sum())
    recovery = times.model_id.str.split("/").str[1] == "recovery"
    logistic = models.outcome == "recovery"
    singular = int(models.singular[logistic].fillna(False).astype(bool).sum())
    print(
        f"  {len(models)} models ({results.fitted} fitted, {results.failed} failed): wall "
        f"{wall:.1f} s (goal <= 30 s on 2 cores); CPU of the fits {fits_cpu:.1f} s "
        f"(logistic {times.cpu_seconds[recovery].sum():.1f} s, {singular} of "
        f"{int(logistic.sum())} logistic models singular), of the main process {parent_cpu:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sections = ["logistic", "linear", "stratified", "cold", "grid"]
    parser.add_argument("--only", nargs="+", choices=sections, default=sections[:-1])
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--no-r", action="store_true")
    parser.add_argument("--no-large", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(load())
    if "logistic" in args.only:
        bench_logistic(args.repeats)
    if "linear" in args.only:
        bench_linear(args.repeats, not args.no_r)
    if "stratified" in args.only:
        bench_stratified(args.repeats, not args.no_large)
    if "cold" in args.only:
        bench_cold(max(5, args.repeats // 2))
    if "grid" in args.only:
        bench_grid(args.jobs)
    print(load())


if __name__ == "__main__":
    main()
