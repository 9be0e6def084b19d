"""Benchmark: exact one-stage fits of 10,000,000 participants in 1,000 trials, computed where
the data live (issue 16).

1. ``generate``: a simulated analysis frame (trial, treat, pain0, pain; random treatment
   effect and baseline slope) written as Parquet, one row group per trial, by pyarrow in
   chunks (never a pandas frame).
2. ``duckdb``: ``ipdma.summaries.summarize`` on the Parquet files (ibis compiles the
   per-trial cross-products to DuckDB SQL; only 1,000 rows of sums come back) and
   ``fit_summaries`` (the linear engine, REML): wall time and peak RSS of that process.
   Goals: < 10 s and < 2 GiB on 2 cores; the data never materialised in pandas.
2b. ``master``: the same rows in a master-dataset layout (``participants`` and
   ``followup`` tables in one DuckDB file, written by DuckDB from the Parquet files), then
   ``summarize(master.duckdb)``: the analysis frame is a SQL join on the master file and the
   aggregation runs in DuckDB (``summaries._master_sql``): wall time and peak RSS.
3. ``spark``: the same expression on Spark (pyspark local mode, all cores): wall time
   (session start-up reported apart).
4. ``logistic``: the federated logistic protocol (AGHQ, 7 nodes) on a 1,000,000-participant
   binary outcome in 200 trials over 4 sites (in-process transport; every message is
   serialised and counted): rounds, messages and bytes exchanged, wall time.

Each stage runs in its own process so that peak RSS is that stage's. Prints ``uptime``.

Usage::

    python benchmarks/bench_scale.py [--rows 10000000] [--trials 1000] [--data DIR]
        [--stages duckdb,master,spark,logistic]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

PLAN = {"outcomes": ["pain"], "windows": ["short"], "comparisons": ["any"], "modifiers": [],
        "subgroups": False, "two_stage": False}  # fmt: skip


def generate(folder: Path, rows: int, trials: int, seed: int = 16) -> None:
    """Write ``rows`` participants in ``trials`` trials as Parquet (chunks of trials)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    sizes = np.full(trials, rows // trials)
    sizes[: rows - sizes.sum()] += 1
    chunk = 50
    for first in range(0, trials, chunk):
        parts = []
        for k in range(first, min(first + chunk, trials)):
            n = int(sizes[k])
            treat = (rng.random(n) < 0.5).astype(np.float64)
            pain0 = np.clip(rng.normal(60, 15, n), 0, 100)
            effect = -8.0 + 2.0 * rng.normal()
            slope = 0.5 + 0.05 * rng.normal()
            pain = 10 + rng.normal(0, 5) + slope * pain0 + effect * treat + rng.normal(0, 15, n)
            parts.append(
                pa.table(
                    {
                        "trial": pa.array(np.full(n, f"t{k:04d}")),
                        "treat": treat,
                        "pain0": pain0,
                        "pain": pain,
                    }
                )
            )
        pq.write_table(pa.concat_tables(parts), folder / f"part-{first:05d}.parquet")


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stage_duckdb(data: Path) -> dict:
    from ipdma import summaries

    start = time.perf_counter()
    site = summaries.summarize(data, PLAN, site="bench")
    aggregated = time.perf_counter() - start
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = summaries.fit_summaries([site], PLAN)
    total = time.perf_counter() - start
    fit = next(iter(result.fits.values()))
    return {"stage": "duckdb", "seconds": total, "aggregate_seconds": aggregated,
            "fit_seconds": total - aggregated, "peak_rss_mib": _peak_rss_mib(),
            "nobs": fit.nobs, "trials": fit.ngroups, "treat": float(fit.fixef["treat"]),
            "se": float(fit.se["treat"]), "converged": bool(fit.converged)}  # fmt: skip


def build_master(data: Path) -> Path:
    """The Parquet rows as a master dataset's tables (written by DuckDB, not pandas)."""
    import duckdb

    master = data.parent / "master.duckdb"
    if not master.exists():
        glob = str(data / "*.parquet")
        with duckdb.connect(str(master)) as con:
            con.execute("SET preserve_insertion_order = false")
            con.execute(
                "CREATE TABLE participants AS SELECT trial, CAST(row_number() OVER () AS "
                f"VARCHAR) AS pid, treat, pain0, pain AS _pain FROM read_parquet('{glob}')"
            )
            con.execute(
                "CREATE TABLE followup AS SELECT trial, pid, 'short' AS window, _pain AS pain "
                "FROM participants"
            )
            con.execute("ALTER TABLE participants DROP COLUMN _pain")
            con.execute("CREATE TABLE provenance (kind VARCHAR, path VARCHAR)")
            con.execute("CREATE TABLE meta (key VARCHAR, value VARCHAR)")
    return master


def stage_master(data: Path) -> dict:
    from ipdma import summaries

    master = data.parent / "master.duckdb"
    start = time.perf_counter()
    site = summaries.summarize(master, PLAN, site="master")
    aggregated = time.perf_counter() - start
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = summaries.fit_summaries([site], PLAN)
    total = time.perf_counter() - start
    fit = next(iter(result.fits.values()))
    return {"stage": "master", "seconds": total, "aggregate_seconds": aggregated,
            "fit_seconds": total - aggregated, "peak_rss_mib": _peak_rss_mib(),
            "nobs": fit.nobs, "trials": fit.ngroups, "treat": float(fit.fixef["treat"]),
            "se": float(fit.se["treat"])}  # fmt: skip


def stage_spark(data: Path) -> dict:
    import ibis
    from pyspark.sql import SparkSession

    from ipdma import summaries

    start = time.perf_counter()
    spark = (
        SparkSession.builder.master("local[*]").appName("ipdma-bench")
        .config("spark.ui.enabled", "false").config("spark.driver.memory", "2g").getOrCreate()
    )  # fmt: skip
    spark.sparkContext.setLogLevel("ERROR")
    started = time.perf_counter() - start
    spark.read.parquet(str(data)).createOrReplaceTempView("participants")
    backend = ibis.pyspark.connect(spark)
    begin = time.perf_counter()
    site = summaries.summarize(backend.table("participants"), PLAN, site="spark", backend=backend)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = summaries.fit_summaries([site], PLAN)
    seconds = time.perf_counter() - begin
    fit = next(iter(result.fits.values()))
    spark.stop()
    return {"stage": "spark", "seconds": seconds, "startup_seconds": started,
            "peak_rss_mib_driver": _peak_rss_mib(), "treat": float(fit.fixef["treat"]),
            "se": float(fit.se["treat"])}  # fmt: skip


def binary_frame(rows: int, trials: int, seed: int = 17):
    """An analysis frame with a binary outcome (global recovery), random treatment effect."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    trial = np.repeat([f"t{k:04d}" for k in range(trials)], rows // trials)
    n = len(trial)
    codes = np.repeat(np.arange(trials), rows // trials)
    treat = (rng.random(n) < 0.5).astype(float)
    function0 = np.clip(rng.normal(45, 15, n), 0, 100)
    intercept = rng.normal(-1.0, 0.5, trials)[codes]
    effect = (0.6 + 0.3 * rng.normal(size=trials))[codes]
    eta = intercept + effect * treat + 0.02 * (function0 - 45)
    recovery = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return pd.DataFrame({"trial": trial, "treat": treat, "function0": function0,
                         "recovery": recovery})  # fmt: skip


def stage_logistic(data: Path, rows: int = 1_000_000, trials: int = 200, sites: int = 4) -> dict:
    from ipdma import summaries
    from ipdma.analysis import plan_from_dict

    plan = {**PLAN, "outcomes": ["recovery"]}
    frame = binary_frame(rows, trials)
    names = sorted(frame["trial"].unique())
    parts = [frame[frame["trial"].isin(names[k::sites])] for k in range(sites)]
    start = time.perf_counter()
    files = [summaries.summarize(p, plan, site=f"site{k}") for k, p in enumerate(parts)]
    analysis_plan = plan_from_dict(plan)
    engines = {f"site{k}": summaries.BinomialSite(p, analysis_plan) for k, p in enumerate(parts)}
    transport = summaries.InProcessTransport(engines)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = summaries.fit_federated_binomial(files, transport, plan)
    seconds = time.perf_counter() - start
    fit = next(iter(fits.values()))
    return {"stage": "logistic", "participants": rows, "trials": trials, "sites": sites,
            "seconds": seconds, "rounds": fit.rounds, "messages": fit.messages,
            "bytes_sent": fit.bytes_sent, "bytes_received": fit.bytes_received,
            "treat_log_or": float(fit.result.fixef["treat"]),
            "se": float(fit.result.se["treat"]), "converged": bool(fit.result.converged)}  # fmt: skip


STAGES = {"duckdb": stage_duckdb, "master": stage_master, "spark": stage_spark,
          "logistic": stage_logistic}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--trials", type=int, default=1_000)
    parser.add_argument("--data", type=Path, default=None, help="Parquet folder (kept)")
    parser.add_argument("--stages", default="duckdb,master,spark,logistic")
    parser.add_argument("--logistic-rows", type=int, default=1_000_000)
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:  # child process: one stage, JSON on stdout
        extra = {"rows": args.logistic_rows} if args.stage == "logistic" else {}
        print(json.dumps(STAGES[args.stage](args.data, **extra)))
        return
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or Path(tmp) / "participants"
        if not data.exists():
            start = time.perf_counter()
            generate(data, args.rows, args.trials)
            print(f"generated {args.rows:,} rows in {args.trials:,} trials as Parquet: "
                  f"{time.perf_counter() - start:.1f} s")  # fmt: skip
        if "master" in args.stages.split(","):
            start = time.perf_counter()
            build_master(data)
            print(f"master.duckdb written by DuckDB: {time.perf_counter() - start:.1f} s")
        for stage in args.stages.split(","):
            env = {**os.environ, "PYTHONWARNINGS": "ignore"}
            done = subprocess.run(
                [sys.executable, __file__, "--stage", stage, "--data", str(data),
                 "--logistic-rows", str(args.logistic_rows)],
                capture_output=True, text=True, env=env, check=False,
            )  # fmt: skip
            if done.returncode:
                print(f"{stage}: failed\n{done.stderr[-2000:]}")
                continue
            print(json.dumps(json.loads(done.stdout.strip().splitlines()[-1]), indent=1))
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
