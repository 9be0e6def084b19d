"""Simulation check of the global-recovery (logistic) spline interactions and effect
prediction (issue 18): a replication study beyond what the tests afford.

Spline part: consortia of ``--trials`` trials (``tests/analysis/_logistic_data.py``) with a
planted conditional log odds ratio that is linear in the modifier (size of the non-linearity
tests) or U-shaped (power, and the pointwise coverage of the one-stage 95% band along the
modifier). Prediction part: consortia with planted age and medication interactions on the
log-odds scale; the pooled calibration slope for benefit and the c-for-benefit of the
internal-external cross-validation, and the c-for-benefit without effect modification.

Writes ``summary.json`` and two figures (PNG) into ``--out`` and prints the summary.

Usage::

    python benchmarks/sim_recovery_beyond.py --reps 200 --iecv-reps 20 --out /tmp/sim
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _splines(reps: int, trials: int) -> dict:
    from tests.analysis._logistic_data import linear, quadratic, spline_consortium

    from ipdma.analysis._splines import spline_interaction

    out: dict = {"reps": reps, "trials": trials}
    wald, lr = [], []
    for seed in range(reps):
        result = spline_interaction(spline_consortium(10_000 + seed, linear, trials=trials), "x",
                                    family="binomial")  # fmt: skip
        wald.append(result.nonlinear_p)
        lr.append(result.lr_p)
    out["size_wald"] = float(np.mean(np.array(wald) < 0.05))
    out["size_lr"] = float(np.mean(np.array(lr) < 0.05))
    power, curves, covered, two_stage_used = [], [], [], []
    quantiles = np.linspace(0.05, 0.95, 19)
    for seed in range(reps):
        result = spline_interaction(spline_consortium(20_000 + seed, quadratic, trials=trials),
                                    "x", family="binomial")  # fmt: skip
        power.append(result.nonlinear_p < 0.05)
        frame = result.one_stage.frame
        points = np.quantile(result.values, quantiles)
        rows = frame.iloc[[int(np.argmin(np.abs(frame.x - p))) for p in points]]
        truth = quadratic(rows.x.to_numpy())
        covered.append(((rows.ci_low <= truth) & (truth <= rows.ci_high)).to_numpy())
        curves.append(frame)
        two_stage_used.append(len(result.two_stage_trials))
    out["power_wald"] = float(np.mean(power))
    out["coverage_by_quantile"] = dict(zip([f"{q:.2f}" for q in quantiles],
                                           np.mean(covered, axis=0).round(3).tolist(),
                                           strict=True))  # fmt: skip
    out["coverage_mean"] = float(np.mean(covered))
    out["two_stage_trials_mean"] = float(np.mean(two_stage_used))
    return out, curves, quantiles, np.mean(covered, axis=0)


def _iecv(reps: int) -> dict:
    from tests.analysis._logistic_data import effect_consortium

    from ipdma.analysis import iecv

    slopes, lows, highs, c_values, c_null = [], [], [], [], []
    for seed in range(reps):
        calibration = iecv(effect_consortium(30_000 + seed), ["age", "medication"],
                           family="binomial")  # fmt: skip
        slopes.append(calibration.slope)
        lows.append(calibration.slope_ci[0])
        highs.append(calibration.slope_ci[1])
        c_values.append(calibration.c_benefit)
        null = iecv(effect_consortium(40_000 + seed, gamma=(0.0, 0.0)), ["age", "medication"],
                    family="binomial")  # fmt: skip
        c_null.append(null.c_benefit)
    lows_a, highs_a = np.array(lows), np.array(highs)
    return {
        "reps": reps, "slope_mean": float(np.mean(slopes)), "slope_sd": float(np.std(slopes)),
        "slope_ci_covers_1": float(np.mean((lows_a < 1) & (highs_a > 1))),
        "c_benefit_mean": float(np.mean(c_values)), "c_benefit_null_mean": float(np.mean(c_null)),
        "slopes": [round(s, 3) for s in slopes],
    }  # fmt: skip


def _figures(out: Path, curves, quantiles, coverage, iecv_summary) -> None:
    from matplotlib.figure import Figure
    from tests.analysis._logistic_data import quadratic

    fig = Figure(figsize=(11, 3.8), layout="constrained")
    left, middle, right = fig.subplots(1, 3)
    grid = np.linspace(20, 70, 200)
    for frame in curves[:20]:
        left.plot(frame.x, frame.estimate, color="#9ecae1", linewidth=0.7)
    first = curves[0]
    left.fill_between(first.x, first.ci_low, first.ci_high, color="#08519c", alpha=0.15,
                      label="one fit's pointwise 95% CI")  # fmt: skip
    left.plot(grid, quadratic(grid), color="black", linewidth=2, label="planted log OR")
    left.set_xlabel("modifier")
    left.set_ylabel("log odds ratio (exercise vs comparison)")
    left.set_title("Planted U-shaped interaction: 20 fitted splines", fontsize=9)
    left.legend(fontsize=7, frameon=False)
    middle.plot(quantiles, coverage, "o-", color="#08519c")
    middle.axhline(0.95, color="black", linestyle=":")
    middle.set_ylim(0.8, 1.0)
    middle.set_xlabel("quantile of the modifier")
    middle.set_ylabel("coverage of the planted curve")
    middle.set_title(f"Pointwise 95% band: coverage over {len(curves)} consortia", fontsize=9)
    right.hist(iecv_summary["slopes"], bins=10, color="#969696")
    right.axvline(1, color="black", linestyle=":")
    right.set_xlabel("pooled calibration slope for benefit (IECV)")
    right.set_title(f"Planted interactions: {iecv_summary['reps']} consortia", fontsize=9)
    fig.savefig(out / "recovery_simulation.png", dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--iecv-reps", type=int, default=20)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--out", type=Path, default=Path("sim-recovery"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    warnings.simplefilter("ignore")
    start, cpu = time.perf_counter(), time.process_time()
    splines, curves, quantiles, coverage = _splines(args.reps, args.trials)
    iecv_summary = _iecv(args.iecv_reps)
    summary = {"splines": splines, "iecv": iecv_summary,
               "seconds": round(time.perf_counter() - start, 1),
               "cpu_seconds": round(time.process_time() - cpu, 1),
               "load_average": os.getloadavg()}  # fmt: skip
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    _figures(args.out, curves, quantiles, coverage, iecv_summary)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
