"""Benchmark: the full default analysis grid on the simulated consortium.

3 outcomes x 3 windows x 3 comparison sets x 19 modifiers x (unadjusted, adjusted)
interaction models + 27 overall models + 19 subgroup models per cell, in parallel over the
available cores. Target (issue 7): <= 60 s on the 2-core machine.

Usage::

    python benchmarks/bench_grid.py [--jobs N] [--seed S] [--profile]

Prints the wall time, models per second, and the slowest model kinds (from the per-model
fit times recorded in ``models``); ``--profile`` adds a cProfile of the 5 slowest models
refitted in this process.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

import ipdma
from ipdma.analysis import AnalysisPlan, ModelSpec, prepare


def consortium(seed: int) -> pd.DataFrame:
    frames = [
        ipdma.simulate.harmonized_ipd(seed=seed, window=window).assign(window=window)
        for window in ("short", "moderate", "long")
    ]
    return pd.concat(frames, ignore_index=True)


def coverage(seeds: int, jobs: int | None) -> None:
    """Coverage of the 95 % CIs of the interactions (pain, function; short; any comparison;
    adjusted) over ``seeds`` simulated consortia; planted and null modifiers separately."""
    config = ipdma.simulate.default_config()
    plan = AnalysisPlan(
        outcomes=("pain", "function"), windows=("short",), comparisons=("any",),
        adjustments=("adjusted",), subgroups=False, two_stage=False,
    )  # fmt: skip
    rows = []
    for seed in range(1, seeds + 1):
        data = ipdma.simulate.harmonized_ipd(seed=seed)
        table = ipdma.analysis.run(data, plan, jobs=jobs).interactions.dropna(subset=["estimate"])
        for _, row in table.iterrows():
            truth = config.outcome_model(row.outcome).interactions.get(row.modifier, 0.0)
            rows.append(
                {
                    "outcome": row.outcome,
                    "modifier": row.modifier,
                    "planted": truth != 0,
                    "error": row.estimate - truth,
                    "covered": row.ci_low <= truth <= row.ci_high,
                    "significant": row.p < 0.05,
                }
            )
    frame = pd.DataFrame(rows)
    planted = frame[frame.planted].groupby(["outcome", "modifier"])
    print(f"{seeds} seeds; planted interactions (bias, coverage, power):")
    print(planted.agg(bias=("error", "mean"), coverage=("covered", "mean"),
                      power=("significant", "mean")).round(3).to_string())  # fmt: skip
    null = frame[~frame.planted]
    print(
        f"null modifiers: {len(null)} intervals, coverage {null.covered.mean():.3f}, "
        f"type I error {null.significant.mean():.3f}"
    )
    print(f"all: coverage {frame.covered.mean():.3f} over {len(frame)} intervals")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--cache", default=None, help="results cache (DuckDB) to reuse fits")
    parser.add_argument(
        "--coverage", type=int, default=0, help="instead: CI coverage study over N seeds"
    )
    args = parser.parse_args()
    data = consortium(args.seed)
    plan = AnalysisPlan()
    if args.coverage:
        coverage(args.coverage, args.jobs)
        return
    cache = args.cache or str(Path(tempfile.mkdtemp()) / "bench.duckdb")
    stamps: list[float] = []
    start = time.perf_counter()
    results = ipdma.analysis.run(
        data, plan, jobs=args.jobs, cache=cache,
        progress=lambda *_: stamps.append(time.perf_counter()),
    )  # fmt: skip
    wall = time.perf_counter() - start
    models = results.models
    print(
        f"models: {len(models)} ({results.fitted} fitted, {results.failed} failed, "
        f"{results.not_estimable} not estimable: fewer than 2 trials)"
    )
    print(f"wall time: {wall:.1f} s  ({len(models) / wall:.1f} models/s)")
    if stamps:
        print(
            f"  prepare + hash + cache lookup: {stamps[0] - start:.1f} s (until the first fit "
            f"returned); fitting: {stamps[-1] - stamps[0]:.1f} s; tables, two-stage, "
            f"writing: {start + wall - stamps[-1]:.1f} s"
        )
    start = time.perf_counter()
    again = ipdma.analysis.run(data, plan, jobs=args.jobs, cache=cache)
    print(
        f"re-run with the results cache: {again.fitted} fitted, {again.cached} cached in "
        f"{time.perf_counter() - start:.1f} s"
    )
    assert results.run is not None
    times = ipdma.analysis.ResultsStore(cache).fit_times(results.run.run)  # the run log
    models = models.merge(times[["model_id", "seconds", "cpu_seconds"]], left_on="id",
                          right_on="model_id", how="left")  # fmt: skip
    models = models.assign(
        family=models.outcome.map(lambda o: "logistic" if o == "recovery" else "linear")
    )
    summary = models.groupby(["family", "kind"]).agg(
        count=("seconds", "count"), mean=("seconds", "mean"), max=("seconds", "max"),
        cpu=("cpu_seconds", "sum"),
    )  # fmt: skip
    cpu = models.cpu_seconds.sum()
    print(
        f"CPU time of all fits: {cpu:.1f} s, i.e. {cpu / 2:.1f} s of fitting on 2 idle cores "
        f"(wall time is inflated when other processes share the cores)"
    )
    print("fit wall seconds inside the workers, by model kind:")
    print(summary.round(3).to_string())
    slow = models.sort_values("seconds", ascending=False).head(5)
    print("slowest models:")
    print(slow[["id", "seconds", "converged", "singular"]].to_string(index=False))
    errors = models[models.status == "failed"].error.value_counts().head(5)
    if len(errors):
        print("failures:")
        print(errors.to_string())
    if args.profile:
        frames = {w: f.drop(columns="window") for w, f in data.groupby("window")}
        profile = cProfile.Profile()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for model_id in slow.id:
                kind, outcome, window, comparison, *rest = model_id.split("/")
                modifier = rest[0] if rest else None
                adjusted = bool(rest) and rest[-1] == "adjusted"
                spec = ModelSpec(kind, outcome, window, comparison, modifier, adjusted)
                prepared = prepare(spec, frames[window], plan)
                options = {"family": prepared.family}
                if prepared.family == "binomial":
                    options["nagq"] = plan.model.nagq
                profile.runcall(ipdma.mixed, prepared.formula, prepared.data, **options)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(20)


if __name__ == "__main__":
    main()
