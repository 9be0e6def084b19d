"""Benchmark: the work per imputed fit outside the model engine (issue 17's speed goal).

The imputed grid of the benchmark consortium (``bench_impute_grid.consortium``, the default
plan with ``[analysis.imputation] m = M``) fitted in this process (``jobs = 1``), with the
CPU seconds of :func:`ipdma.models.mixed` counted apart: what is left is the bookkeeping of
each fit (preparing the m completed datasets of a model, its cache key, the fit record,
pooling). The imputations are made once and kept in ``--cache`` (a pickle per window), so
repeated runs time the fitting and pooling only; ``--jobs 2`` adds the transport to and
from the worker processes (CPU of all processes; the engine's share is then not separable).

    python benchmarks/bench_impute_fits.py [--m 3] [--seed 5] [--jobs 1] [--cache DIR] [--dump FILE]

``--dump FILE`` writes the pooled records (``ModelResult.to_json`` by model id) for a
record-by-record comparison of two versions of the code (``--compare A B``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_impute_grid import _cpu, consortium

import ipdma
import ipdma.models
from ipdma.analysis import AnalysisPlan, _imputed
from ipdma.analysis._source import resolve_source
from ipdma.analysis._spec import build_grid
from ipdma.analysis._store import ResultsStore


class _Clock:
    """Wraps a function and adds up its calls and CPU seconds (this process)."""

    def __init__(self, function):
        self.function, self.cpu, self.calls, self.depth = function, 0.0, 0, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.depth:  # nested (recursive) calls are counted once
            return self.function(*args, **kwargs)
        self.depth += 1
        start = time.process_time()
        try:
            return self.function(*args, **kwargs)
        finally:
            self.cpu += time.process_time() - start
            self.depth -= 1


def _cached_impute(folder: Path, m: int, seed: int):
    function = _imputed.impute

    def impute(frame, variables, **kwargs):
        path = folder / f"imputation_m{m}_seed{seed}_{kwargs['seed']}.pkl"
        if path.exists():
            return pickle.loads(path.read_bytes())
        imputation = function(frame, variables, **kwargs)
        folder.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(imputation))
        return imputation

    return impute


# (module, attribute) timed when present: the parts of an imputed fit outside the engine
_PARTS = {
    "prepare": [("ipdma.analysis._imputed_fits", "prepare"),
                ("ipdma.analysis._imputed_fits", "prepare_imputations")],
    "key": [("ipdma.analysis._imputed_fits", "model_key"),
            ("ipdma.analysis._imputed_fits", "imputation_keys")],
    "pool": [("ipdma.analysis._imputed", "pool_records"),
             ("ipdma.analysis._imputed_fits", "pool_fits")],
    "fit record": [("ipdma.analysis._imputed_fits", "fit_imputed"),
                   ("ipdma.analysis._runner", "fit_prepared")],
    "separation check": [("ipdma.analysis._fit", "separated_trials")],
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/ipdma_bench_imputations"))
    parser.add_argument("--dump", type=Path, default=None)
    parser.add_argument("--every", type=int, default=1, help="every k-th model of the grid")
    parser.add_argument("--compare", type=Path, nargs=2, default=None)
    args = parser.parse_args()
    if args.compare:
        sys.exit(compare(*args.compare))
    warnings.simplefilter("ignore")
    print(f"load average: {os.getloadavg()}; jobs = {args.jobs}")
    plan = AnalysisPlan.model_validate({"imputation": {"m": args.m, "iterations": args.iterations}})
    source = resolve_source(consortium(args.seed))
    specs = build_grid(plan, windows=tuple(source.frames))[:: args.every]
    _imputed.impute = _cached_impute(args.cache, args.m, args.seed)
    _imputed.imputed_grid(source.frames, specs[:1], plan, ResultsStore(None), jobs=1)  # warm up
    engine = ipdma.models.mixed = _Clock(ipdma.models.mixed)
    engine.calls, engine.cpu = 0, 0.0
    clocks = {}
    for part, places in _PARTS.items():
        for module_name, attribute in places:
            module = sys.modules[module_name]
            if hasattr(module, attribute):
                clock = _Clock(getattr(module, attribute))
                setattr(module, attribute, clock)
                clocks[f"{part} ({attribute})"] = clock
    start, cpu, own = time.perf_counter(), _cpu(), time.process_time()
    grid = _imputed.imputed_grid(source.frames, specs, plan, ResultsStore(None), jobs=args.jobs)
    wall, cpu, own = time.perf_counter() - start, _cpu() - cpu, time.process_time() - own
    print(f"{len(grid.records)} pooled records; {len(grid.times)} fits timed; engine calls "
          f"(this process) {engine.calls}")  # fmt: skip
    print(f"imputed fits and pooling: {wall:.1f} s wall, {cpu:.1f} s CPU all processes, "
          f"{own:.1f} s CPU this process")  # fmt: skip
    if args.jobs == 1 and engine.calls:
        outside = own - engine.cpu
        print(f"  engine (mixed): {engine.cpu:.1f} s CPU = {1000 * engine.cpu / engine.calls:.2f} "
              f"ms per fit; outside the engine: {outside:.1f} s CPU = "
              f"{1000 * outside / engine.calls:.2f} ms per fit")  # fmt: skip
    elif engine.calls == 0:
        print(
            f"  per fit of the m x models ({len(grid.records) * args.m}): "
            f"{1000 * cpu / (len(grid.records) * args.m):.2f} ms CPU (engine included)"
        )
    for name, clock in clocks.items():
        per = 1000 * clock.cpu / max(1, len(grid.records) * args.m)
        print(f"  {name}: {clock.calls} calls, {clock.cpu:.2f} s CPU ({per:.3f} ms per fit)")
    print("  (fit record: the fit, engine included; the engine's CPU is in the line above)")
    print(f"load average after: {os.getloadavg()}")
    if args.dump:
        args.dump.write_text(json.dumps({r.model_id: r.to_json() for r in grid.records}))


def compare(first: Path, second: Path, rtol: float = 1e-12) -> int:
    """Compare two ``--dump`` files record by record: strings and statuses exactly, numbers
    to ``rtol`` relative (NaN equals NaN). Prints each difference; returns 1 if any."""
    a, b = json.loads(first.read_text()), json.loads(second.read_text())
    problems: list[str] = []
    if a.keys() != b.keys():
        problems.append(f"different models: {sorted(set(a) ^ set(b))[:5]}")
    worst = 0.0
    for model_id in sorted(set(a) & set(b)):
        worst = max(worst, _diff(json.loads(a[model_id]), json.loads(b[model_id]), model_id,
                                 rtol, problems))  # fmt: skip
    for problem in problems[:40]:
        print(problem)
    print(f"{len(a)} records compared; {len(problems)} differences; largest relative "
          f"difference of a number {worst:.3g}")  # fmt: skip
    return 1 if problems else 0


def _diff(x, y, where: str, rtol: float, problems: list[str]) -> float:
    if isinstance(x, dict) and isinstance(y, dict):
        if x.keys() != y.keys():
            problems.append(f"{where}: keys {sorted(set(x) ^ set(y))}")
        return max([_diff(x[k], y[k], f"{where}.{k}", rtol, problems)
                    for k in set(x) & set(y)] or [0.0])  # fmt: skip
    if isinstance(x, list) and isinstance(y, list):
        if len(x) != len(y):
            problems.append(f"{where}: lengths {len(x)} != {len(y)}")
            return 0.0
        return max([_diff(u, v, f"{where}[{i}]", rtol, problems)
                    for i, (u, v) in enumerate(zip(x, y, strict=True))] or [0.0])  # fmt: skip
    numbers = (int, float)
    if isinstance(x, numbers) and isinstance(y, numbers) and not isinstance(x, bool):
        if (math.isnan(x) and math.isnan(y)) or x == y:
            return 0.0
        relative = abs(x - y) / max(abs(x), abs(y))
        if not relative <= rtol:
            problems.append(f"{where}: {x!r} != {y!r} (relative {relative:.3g})")
        return relative
    if x != y:
        problems.append(f"{where}: {x!r} != {y!r}")
    return 0.0


if __name__ == "__main__":
    main()
