"""Speed of the linear mixed-model engine (issue 2), ipdma vs statsmodels MixedLM.

(a) paper-sized model: 3,500 participants in 27 trials,
    ``y ~ 0 + C(trial) + base + treat + (0 + treat | trial) + (0 + base | trial)`` (REML):
    ipdma median fit time (target <= 20 ms) and statsmodels MixedLM on the same data
    (``vc_formula`` for the two independent random slopes, REML);
(b) 1,000,000 participants in 500 trials, same model: ipdma fit time (target <= 5 s) and
    peak memory (target <= 2 GiB; peak RSS of a fresh subprocess that builds the data and
    fits); statsmodels in its own subprocess under a time limit (default 600 s).

Timings include formula parsing and design building (``ipdma.mixed`` end to end).
The machine load average is printed: other jobs on a shared machine slow every figure (the
CPU time of the fitting process is shown too; it is less affected).

Usage::

    python benchmarks/bench_linear.py [--reps 21] [--statsmodels-timeout 600] [--skip-large-sm]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd

PAPER = "y ~ 0 + C(trial) + base + treat + (0 + treat | trial) + (0 + base | trial)"


def simulate(n: int, n_trials: int, seed: int = 1) -> pd.DataFrame:
    """IPD-MA data: trial intercepts, random treatment and baseline effects, trial SDs."""
    rng = np.random.default_rng(seed)
    weights = rng.uniform(0.5, 1.5, n_trials)
    trial_idx = np.sort(rng.choice(n_trials, size=n, p=weights / weights.sum()))
    base = rng.normal(60, 15, n)
    treat = rng.integers(0, 2, n).astype(float)
    a = rng.normal(20, 6, n_trials)
    b = 0.5 + rng.normal(0, 0.1, n_trials)
    t = -6 + rng.normal(0, 3, n_trials)
    sd = rng.uniform(12, 25, n_trials)
    y = a[trial_idx] + b[trial_idx] * base + t[trial_idx] * treat
    y += rng.normal(0, 1, n) * sd[trial_idx]
    names = np.array([f"t{i:03d}" for i in range(n_trials)])
    return pd.DataFrame({"trial": names[trial_idx], "y": y, "base": base, "treat": treat})


def fit_ipdma(data: pd.DataFrame):
    import ipdma

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ipdma.mixed(PAPER, data)


def fit_statsmodels(data: pd.DataFrame):
    import statsmodels.formula.api as smf

    model = smf.mixedlm(
        "y ~ 0 + C(trial) + base + treat",
        data,
        groups="trial",
        re_formula="0",
        vc_formula={"treat": "0 + treat", "base": "0 + base"},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(reml=True)


def _child(which: str, n: int, n_trials: int) -> None:
    """Run in a subprocess: build data, fit once, print JSON with time and peak RSS."""
    import resource

    data = simulate(n, n_trials)
    start = time.perf_counter()
    if which == "ipdma":
        fit = fit_ipdma(data)
        summary = {"treat": float(fit.fixef["treat"]), "loglik": float(fit.loglik)}
    else:
        fit = fit_statsmodels(data)
        summary = {"treat": float(fit.fe_params["treat"]), "loglik": float(fit.llf)}
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_gib": peak_kib / 2**20, **summary}))


def _run_child(which: str, n: int, n_trials: int, timeout: float) -> dict:
    cmd = [sys.executable, __file__, "--child", which, str(n), str(n_trials)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return {"seconds": float("inf"), "note": f"did not finish in {timeout:.0f} s"}
    except subprocess.CalledProcessError as exc:
        return {"seconds": float("nan"), "note": exc.stderr.strip().splitlines()[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=21)
    parser.add_argument("--statsmodels-timeout", type=float, default=600.0)
    parser.add_argument("--skip-large-sm", action="store_true")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], int(args.child[1]), int(args.child[2]))
        return

    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    data = simulate(3_500, 27)
    fit_ipdma(data)  # warm-up: imports
    times, cpu = [], []
    for _ in range(args.reps):
        start, start_cpu = time.perf_counter(), time.process_time()
        fit = fit_ipdma(data)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    ours = float(np.median(times))
    sm_times, sm_fit = [], None
    for _ in range(3):
        start = time.perf_counter()
        sm_fit = fit_statsmodels(data)
        sm_times.append(time.perf_counter() - start)
    theirs = float(np.median(sm_times))
    rows = [
        ("(a) 3,500 / 27 trials", "ipdma median fit", f"{ours * 1e3:.1f} ms", "<= 20 ms"),
        ("", "ipdma min fit", f"{min(times) * 1e3:.1f} ms", ""),
        ("", "ipdma median CPU time", f"{np.median(cpu) * 1e3:.1f} ms", "less load-dependent"),
        ("", "statsmodels median fit", f"{theirs * 1e3:.1f} ms", f"{theirs / ours:.0f}x ipdma"),
        (
            "",
            "REML loglik ipdma / statsmodels",
            f"{fit.loglik:.4f} / {sm_fit.llf:.4f}",
            "higher is better",
        ),
    ]
    large = _run_child("ipdma", 1_000_000, 500, timeout=1200)
    rows += [
        ("(b) 1,000,000 / 500 trials", "ipdma fit", f"{large['seconds']:.2f} s", "<= 5 s"),
        (
            "",
            "ipdma peak RSS (data + fit)",
            f"{large.get('peak_gib', float('nan')):.2f} GiB",
            "<= 2 GiB",
        ),
    ]
    if args.skip_large_sm:
        rows.append(("", "statsmodels fit", "skipped (--skip-large-sm)", ""))
    else:
        sm_large = _run_child("statsmodels", 1_000_000, 500, timeout=args.statsmodels_timeout)
        shown = sm_large.get("note") or f"{sm_large['seconds']:.1f} s"
        rows.append(("", "statsmodels fit", shown, f"limit {args.statsmodels_timeout:.0f} s"))
    width = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, width, strict=True)))
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
