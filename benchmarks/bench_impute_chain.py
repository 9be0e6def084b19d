"""Benchmark: the imputation engine alone (issue 17), CPU seconds of one process.

One window of the simulated consortium of ``bench_impute_grid.py`` (3,514 participants in
27 trials, the paper's 19 candidate modifiers with Table 3's missingness), imputed ``m``
times in this process (``jobs = 1``: the chains run one after another, so the CPU time is
exactly the engine's). ``--profile`` prints the functions that take the most time.

    python benchmarks/bench_impute_chain.py [--m 4] [--iterations 10] [--window short]
                                            [--method 2stage|2stage-random-slopes] [--profile]

CPU seconds (``time.process_time``) are what to compare on a shared, loaded machine; run two
code versions alternately in fresh processes.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time
import warnings

import ipdma
from ipdma.analysis import AnalysisPlan
from ipdma.analysis._imputed import imputation_variables
from ipdma.impute import impute


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m", type=int, default=4)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--seed", type=int, default=5, help="the simulated consortium's seed")
    parser.add_argument("--window", default="short", choices=["short", "moderate", "long"])
    parser.add_argument("--method", default="2stage", choices=["2stage", "2stage-random-slopes"])
    parser.add_argument("--profile", action="store_true", help="print the top functions")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    frame = ipdma.simulate.harmonized_ipd(seed=args.seed, window=args.window)
    plan = AnalysisPlan.model_validate({"imputation": {"m": args.m}})
    variables = imputation_variables(plan, frame)
    profiler = cProfile.Profile(time.process_time) if args.profile else None  # CPU time
    start, cpu = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.enable()
    result = impute(frame, variables, m=args.m, iterations=args.iterations,
                    seed=plan.imputation.seed, jobs=1,
                    random_slopes=args.method == "2stage-random-slopes")  # fmt: skip
    if profiler is not None:
        profiler.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - start
    print(f"load average: {os.getloadavg()}")
    print(f"imputation of the {args.window} window (m = {args.m}, {args.iterations} iterations, "
          f"{len(result.variables)} variables, {args.method}, one process): {cpu:.2f} s CPU, "
          f"{wall:.2f} s wall; {cpu / args.m:.3f} s CPU a chain")  # fmt: skip
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(40)


if __name__ == "__main__":
    main()
