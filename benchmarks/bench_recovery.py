"""Benchmark: bias and 95% CI coverage of the one-stage estimates over many simulated consortia.

For each seed the paper-shaped consortium is simulated (``ipdma.simulate.harmonized_ipd``)
and the one-stage models are fitted (``ipdma.simulate.fit_planted``: overall effects on
pain, function and recovery vs usual care and vs other conservative treatment; treatment x
modifier interactions, planted and null). Prints per parameter the planted latent value,
the implied truth (what the analysis estimates by design), mean estimate, bias, Monte Carlo
SE, empirical SD, mean model SE, median Satterthwaite df, coverage of the default CIs (t with
Satterthwaite df for linear models, as the analysis grid reports) and of Wald CIs, power,
and the time per seed.

Usage::

    python benchmarks/bench_recovery.py [--seeds 100] [--first 1] [--size-factor 1.0]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import pandas as pd

from ipdma.simulate import default_config, fit_planted, planted_truth, summarize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100, help="number of consortia")
    parser.add_argument("--first", type=int, default=1, help="first seed")
    parser.add_argument("--size-factor", type=float, default=1.0, help="scale trial sizes")
    args = parser.parse_args()
    config = replace(default_config(), size_factor=args.size_factor)
    start = time.perf_counter()
    truth = planted_truth(config)
    truth_time = time.perf_counter() - start
    start = time.perf_counter()
    study = pd.concat(
        [fit_planted(seed, config, truth=truth) for seed in
         range(args.first, args.first + args.seeds)],
        ignore_index=True,
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    table = summarize(study)
    pd.set_option("display.width", 200)
    columns = ["parameter", "planted", "truth", "mean", "bias", "mc_se", "empirical_sd",
               "mean_se", "median_df", "coverage", "coverage_wald", "power", "failed",
               "converged", "singular"]  # fmt: skip
    print(table[columns].round(3).to_string(index=False))
    print(f"\n{args.seeds} seeds x {len(truth)} models: {elapsed:.1f} s "
          f"({elapsed / args.seeds:.2f} s per seed); implied truth {truth_time:.1f} s")  # fmt: skip
    failed = study[study["error"] != ""]
    for row in failed.itertuples():
        print(f"FAILED seed {row.seed} {row.parameter}: {row.error[:200]}")
    covered = (study["ci_low"] <= study["truth"]) & (study["truth"] <= study["ci_high"])
    wald = (study["wald_low"] <= study["truth"]) & (study["truth"] <= study["wald_high"])
    print(f"pooled 95% CI coverage {covered.mean():.3f} (Satterthwaite t for linear models; "
          f"Wald z {wald.mean():.3f}); converged {study['converged'].mean():.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
