"""Benchmark: the whole default analysis grid with multiple imputation (issue 17).

The simulated consortium (``ipdma.simulate.harmonized_ipd``, three windows, the paper's 19
candidate modifiers with Table 3's missingness), the default plan plus
``[analysis.imputation] m = 20`` (overall and interaction models pooled over 20 imputations
beside the complete-case grid). Target: <= 5 minutes on the 2-core machine.

    python benchmarks/bench_impute_grid.py [--m 20] [--iterations 10] [--jobs N] [--seed S] [--grid-only]
    python benchmarks/bench_impute_grid.py --m 20 --window-only    # the one-window imputation only

Prints the wall time of the imputation itself and of the whole run, the models fitted,
the availability of each modifier (trials measured / systematically missing) and the
largest R-hat of the chains; and the CPU seconds of all processes (this one and its
workers): on a shared, loaded machine the wall time says little, and CPU / 2 is what an
idle 2-core machine would take at best.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import warnings
from pathlib import Path

import pandas as pd

import ipdma
from ipdma.analysis import AnalysisPlan, _imputed
from ipdma.analysis._imputed import imputation_variables
from ipdma.analysis._runner import available_cores
from ipdma.impute import impute


def consortium(seed: int) -> pd.DataFrame:
    frames = [
        ipdma.simulate.harmonized_ipd(seed=seed, window=window).assign(window=window)
        for window in ("short", "moderate", "long")
    ]
    return pd.concat(frames, ignore_index=True)


def _cpu() -> float:
    """CPU seconds (user + system) of this process and all its descendants, dead or alive.

    ``RUSAGE_CHILDREN`` alone misses the worker processes: they are children of the
    multiprocessing forkserver (itself alive until this process exits), which reaps them,
    so their time sits in the forkserver's ``cutime``/``cstime`` in ``/proc``. Linux only
    (elsewhere: this process and its reaped children).
    """
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    return total + sum(_proc_times(pid) for pid in _descendants(os.getpid()))


def _proc_stat(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()  # fields from the 3rd (state) on


def _descendants(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents.setdefault(int(_proc_stat(int(entry.name))[1]), []).append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue  # the process ended meanwhile
    found, todo = [], [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _proc_times(pid: int) -> float:
    """utime + stime + cutime + cstime of a live process (its own and its reaped children)."""
    try:
        fields = _proc_stat(pid)
    except OSError:
        return 0.0
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


class _Timed:
    """Wraps the grid's call of ``impute`` to split the run: imputation vs the rest."""

    def __init__(self, function):
        self.function, self.wall, self.cpu, self.calls = function, 0.0, 0.0, 0

    def __call__(self, *args, **kwargs):
        start, cpu = time.perf_counter(), _cpu()
        try:
            return self.function(*args, **kwargs)
        finally:
            self.wall += time.perf_counter() - start
            self.cpu += _cpu() - cpu
            self.calls += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m", type=int, default=20)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=None, help="default: all cores")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--grid-only", action="store_true", help="skip the one-window run")
    parser.add_argument("--window-only", action="store_true",
                        help="stop after the one-window imputation (the engine's speed)")  # fmt: skip
    args = parser.parse_args()
    jobs = args.jobs or available_cores()
    warnings.simplefilter("ignore")
    print(f"load average: {os.getloadavg()}; {jobs} worker processes")
    data = consortium(args.seed)
    plan = AnalysisPlan.model_validate({"imputation": {"m": args.m, "iterations": args.iterations}})
    if not args.grid_only:
        short = data[data["window"] == "short"].drop(columns="window")
        start, cpu = time.perf_counter(), _cpu()
        imputation = impute(short, imputation_variables(plan, short), m=args.m, jobs=jobs,
                            iterations=args.iterations, seed=plan.imputation.seed)  # fmt: skip
        one_window = time.perf_counter() - start
        print(f"imputation of one window (m = {args.m}, {args.iterations} iterations, "
              f"{len(imputation.variables)} variables): {one_window:.1f} s wall, "
              f"{_cpu() - cpu:.1f} s CPU")  # fmt: skip
        print(imputation.availability[["variable", "trials_measured", "trials_systematic",
                                       "fraction_missing", "imputed", "reason"]].to_string())  # fmt: skip
        print(f"largest R-hat: {imputation.rhat.max():.3f}")
        if args.window_only:
            return
    timed = _imputed.impute = _Timed(_imputed.impute)
    start, cpu = time.perf_counter(), _cpu()
    results = ipdma.analysis.run(data, plan, jobs=jobs)
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu
    imputed = sum(r.spec.imputed for r in results.records)
    print(f"whole grid with imputation: {seconds:.1f} s wall, {cpu:.1f} s CPU (all processes; "
          f"CPU / {jobs} = {cpu / jobs:.1f} s); {len(results.records)} records ({imputed} pooled "
          f"over {args.m} imputations); {results.fitted} fits; {results.failed} failed")  # fmt: skip
    print(f"  of which the imputation of {timed.calls} windows: {timed.wall:.1f} s wall, "
          f"{timed.cpu:.1f} s CPU; the rest (complete-case grid, imputed fits, pooling): "
          f"{seconds - timed.wall:.1f} s wall, {cpu - timed.cpu:.1f} s CPU")  # fmt: skip
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
