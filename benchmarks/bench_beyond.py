"""Benchmark: the analyses beyond the paper on an analysed project (issue 18).

Times, on a project that ``ipdma demo`` (or ``ipdma run``) has analysed: the spline fits
and the internal-external cross-validations (linear for pain and function, logistic for
global recovery, timed apart) and the credibility assessments of
:func:`ipdma.analysis._beyond.beyond` without the cache (what a first ``analyze`` adds),
the same with the cache (what a re-analysis adds), and the report's figures of them
(:func:`ipdma.report._beyond.beyond_figures`). Prints wall and CPU seconds of each part and
the machine load (the CPU seconds are the cost; the wall time depends on the load).

Usage::

    ipdma demo /tmp/demo            # once
    python benchmarks/bench_beyond.py /tmp/demo
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path


def _timed(label: str, step):
    wall, cpu = time.perf_counter(), time.process_time()
    value = step()
    print(
        f"{label:<44} {time.perf_counter() - wall:7.2f} s wall {time.process_time() - cpu:7.2f} s CPU"
    )
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("project", type=Path, help="folder with project.toml, analysed")
    args = parser.parse_args()
    from ipdma.analysis import load_results
    from ipdma.analysis._beyond import beyond
    from ipdma.analysis._beyond_units import cell_frame, run_unit, units
    from ipdma.analysis._source import resolve_source
    from ipdma.report._beyond import beyond_figures

    print(f"load average: {os.getloadavg()}")
    results = load_results(args.project / "output")
    frames = resolve_source(args.project / "project.toml").frames
    plan = results.plan
    todo = units(plan, dict(frames), results.important, results.interactions)
    cell = cell_frame(frames[plan.primary_window], plan.primary_comparison)
    for kind in ("spline", "prediction"):
        for family, word in (("gaussian", "linear"), ("binomial", "logistic, recovery")):
            chosen = [u for u in todo if u.kind == kind and u.family == family]
            _timed(f"{len(chosen)} {kind} units ({word})",
                   lambda c=chosen: [run_unit(u, cell, plan) for u in c])  # fmt: skip
    extra, new = _timed(
        "beyond(), no cache (first analyze)",
        lambda: beyond(plan, frames, results.interactions, results.important),
    )
    _timed(
        "beyond(), every unit cached (re-analyze)",
        lambda: beyond(plan, frames, results.interactions, results.important, lambda k: new),
    )
    from dataclasses import replace

    with_extra = replace(results, beyond=extra)
    figures = _timed(
        "report figures (PNG + SVG)",
        lambda: beyond_figures(with_extra, plan.model_dump(mode="json"), {}, {}),
    )
    print(f"{len(figures)} figures, {len(extra.credibility)} credibility rows")


if __name__ == "__main__":
    main()
