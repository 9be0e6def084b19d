"""Benchmark: warm starts of the engines on multiply imputed data (issue 17).

The benchmark consortium (``bench_impute_grid.consortium``), its short window imputed
``m`` times (``ipdma.impute.impute``), and the grid's interaction models of a few
modifiers (pain and function: linear REML; recovery: logistic AGHQ), prepared as the
grid prepares them (``ipdma.analysis._design.prepare`` on each completed dataset, the
plan's options). Each model is fitted on every completed dataset twice: cold (the
default start) and warm-started from the complete-case fit of the same model
(``StartValues.from_result``), alternately, so that the machine's load falls on both alike.

    python benchmarks/bench_warm.py [--m 5] [--seed 5] [--modifiers age,bmi,...] [--repeat 1]

A second warm arm starts the fits on completed datasets 2..m from the (cold) fit on
completed dataset 1 (the m fits of one model are one batch of one worker in the grid).

Prints per family and arm: CPU milliseconds per fit (process time), the ratio to the cold
fits of the same data, the Newton iterations (logistic) or deviance evaluations (linear)
per fit, and the largest differences between the cold and every warm fit: log-likelihood,
estimates and standard errors of the fixed effects, variance components, and whether the
convergence flags (converged, singular) agree.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
import warnings
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_impute_grid import consortium

import ipdma
from ipdma.analysis import AnalysisPlan
from ipdma.analysis._design import prepare
from ipdma.analysis._fit import options_of
from ipdma.analysis._imputed import imputation_variables
from ipdma.analysis._spec import ModelSpec
from ipdma.analysis._window import WindowArrays
from ipdma.errors import IpdmaError
from ipdma.impute import impute
from ipdma.models import StartValues, _logistic, _logistic_boundary, _logistic_reduced
from ipdma.models import _logistic_newton as newton

MODIFIERS = "age,bmi,fear_avoidance,heavy_demands,medication,episode_months"


class _Counter:
    """Newton iterations and likelihood evaluations of the logistic engine (wrapped)."""

    def __init__(self) -> None:
        self.iterations = self.evaluations = 0
        maximize, evaluate = newton.maximize, newton._Problem.evaluate

        def counted_maximize(*args, **kwargs):
            opt = maximize(*args, **kwargs)
            self.iterations += opt.iterations
            return opt

        def counted_evaluate(problem, *args, **kwargs):
            self.evaluations += 1
            return evaluate(problem, *args, **kwargs)

        for module in (_logistic, _logistic_reduced, _logistic_boundary):
            module.maximize = counted_maximize
        newton._Problem.evaluate = counted_evaluate

    def reset(self) -> tuple[int, int]:
        out = (self.iterations, self.evaluations)
        self.iterations = self.evaluations = 0
        return out


def _linear_evaluations(fit) -> int:
    found = re.search(r"(\d+) \+ (\d+) evaluations", fit.convergence)
    return int(found.group(1)) + int(found.group(2)) if found else 0


def _fit(prepared, plan, counter: _Counter, start=None):
    kwargs = options_of(prepared, plan).kwargs()
    counter.reset()
    cpu = time.process_time()
    fit = ipdma.mixed(prepared.formula, prepared.data, start=start, **kwargs)
    cpu = time.process_time() - cpu
    iterations, evaluations = counter.reset()
    if fit.family == "gaussian":
        iterations, evaluations = 0, _linear_evaluations(fit)
    return fit, cpu, iterations, evaluations


def _differences(cold, warm) -> dict[str, float]:
    se_c, se_w = cold.se.to_numpy(), warm.se.to_numpy()
    both = np.isfinite(se_c) & np.isfinite(se_w)
    vc_c, vc_w = cold.varcomp["variance"].to_numpy(), warm.varcomp["variance"].to_numpy()
    return {
        "loglik": abs(cold.loglik - warm.loglik),
        "estimate": float(np.nanmax(np.abs(cold.fixef.to_numpy() - warm.fixef.to_numpy()))),
        "se": float(np.max(np.abs(se_c[both] - se_w[both]), initial=0.0)),
        "variance": float(np.nanmax(np.abs(vc_c - vc_w))),
        "flags": float(cold.converged != warm.converged or cold.singular != warm.singular),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m", type=int, default=5)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=10, help="imputation iterations")
    parser.add_argument("--modifiers", default=MODIFIERS)
    parser.add_argument("--repeat", type=int, default=1, help="fits per dataset and start")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(f"load average before: {os.getloadavg()}")
    data = consortium(args.seed)
    plan = AnalysisPlan.model_validate({"imputation": {"m": args.m}}).model_copy(
        update={"two_stage": False}
    )
    short = data[data["window"] == "short"].drop(columns="window")
    cpu = time.process_time()
    imputation = impute(short, imputation_variables(plan, short), m=args.m, jobs=1,
                        iterations=args.iterations, seed=plan.imputation.seed)  # fmt: skip
    print(f"imputation (m = {args.m}): {time.process_time() - cpu:.1f} s CPU")
    completed = [WindowArrays(imputation.completed(i)) for i in range(args.m)]
    observed = WindowArrays(short)
    counter = _Counter()
    # per family and arm: (CPU ms, iterations, evaluations, cold CPU ms of the same data)
    rows: dict[str, dict[str, list[tuple[float, int, int, float]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    worst: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    where: dict[str, dict[str, str]] = defaultdict(dict)
    for modifier in args.modifiers.split(","):
        for outcome in ("pain", "function", "recovery"):
            for adjusted in (False, True):
                spec = ModelSpec("interaction", outcome, "short", "any", modifier, adjusted)
                try:
                    complete_case = prepare(spec, observed, plan)
                except IpdmaError as exc:
                    print(f"{spec.id}: not prepared ({exc})")
                    continue
                reference = _fit(complete_case, plan, counter)[0]
                starts = {"warm (complete case)": StartValues.from_result(reference)}
                family = reference.family
                for index, arrays in enumerate(completed):
                    prepared = prepare(replace(spec, imputed=True), arrays, plan)
                    for _ in range(args.repeat):
                        cold, c_cpu, c_it, c_ev = _fit(prepared, plan, counter)
                        rows[family]["cold"].append((1000 * c_cpu, c_it, c_ev, 1000 * c_cpu))
                        for arm, start in starts.items():
                            warm, w_cpu, w_it, w_ev = _fit(prepared, plan, counter, start)
                            rows[family][arm].append((1000 * w_cpu, w_it, w_ev, 1000 * c_cpu))
                            for key, value in _differences(cold, warm).items():
                                if value > worst[family][key]:
                                    worst[family][key] = value
                                    where[family][key] = f"{spec.id} [{arm}, dataset {index}]"
                    if index == 0:  # the fit on the first completed dataset starts the others
                        starts["warm (first completed)"] = StartValues.from_result(cold)
    for family, arms in rows.items():
        print(f"\n{family}:")
        for arm, values in arms.items():
            table = np.array(values)
            unit = "deviance evaluations" if family == "gaussian" else "Newton iterations"
            work = table[:, 2] if family == "gaussian" else table[:, 1]
            extra = (
                "" if family == "gaussian" else f", likelihood evaluations {table[:, 2].mean():.1f}"
            )
            print(f"  {arm:24s} {len(table):4d} fits: CPU per fit {table[:, 0].mean():6.2f} ms "
                  f"(median {np.median(table[:, 0]):6.2f}); / cold on the same data "
                  f"{table[:, 0].sum() / table[:, 3].sum():.3f}; {unit} per fit "
                  f"{work.mean():.1f}{extra}")  # fmt: skip
        for key in ("loglik", "estimate", "se", "variance", "flags"):
            print(f"  largest |cold - warm| {key}: {worst[family][key]:.2e}"
                  f"  ({where[family].get(key, '-')})")  # fmt: skip
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
