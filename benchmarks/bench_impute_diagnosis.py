"""Diagnosis of the attenuation of imputed interactions (docs/imputation.md, validity study).

Cheaper, targeted versions of ``bench_impute.py`` (same data-generating model):

``slopes``
    The binary modifier's imputation model fitted to complete consortia of 8 small trials
    (60-160 participants) and of 40 large ones (2,000): the mean of its common slopes
    (standardized) by the two-stage method (each trial's logistic fit, then the
    inverse-variance weighted mean) and by the one-stage fit over the trials that ipdma uses
    (``ipdma.impute._pooled``). With large trials both estimate the same slopes; the gap in
    small trials is the small-sample bias of a method.
``split``
    Consortia of 100 trials in which a modifier is missing in whole trials only (or
    sporadically only), imputed m times; the within-trial interaction estimated by least
    squares (trial-by-arm intercepts, modifier centred within trial) in the trials that never
    measured the modifier and in those that did, against the truth and the full data.
    ``--two-stage-binary`` imputes the binary modifier with the earlier two-stage fit of its
    common slopes (for the comparison).

    python benchmarks/bench_impute_diagnosis.py slopes --replicates 300
    python benchmarks/bench_impute_diagnosis.py split --replicates 40 --m 10 --jobs 2
    python benchmarks/bench_impute_diagnosis.py split --two-stage-binary
    python benchmarks/bench_impute_diagnosis.py split --sporadic-only
"""

from __future__ import annotations

import argparse
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
from bench_impute import TRUE, simulate

COLUMNS = ("1", "T", "pain", "zcont", "pain0", "T*pain", "T*zcont", "T*pain0")


def _binary_model_inputs(full: pd.DataFrame):
    from ipdma.impute import _conditional as cd
    from ipdma.impute import _twostage as ts

    codes, trial = np.unique(full["trial"].to_numpy(), return_inverse=True)
    treat = full["treat"].to_numpy()
    data = {name: full[name].to_numpy(float) for name in ("zbin", "zcont", "pain0", "pain")}
    nothing = np.zeros(len(treat), dtype=bool)
    setup = cd.ChainSetup(data, treat, (treat > 0).astype(np.intp), trial,
                          ts.TrialLayout.of(trial, len(codes)), ("zbin", "zcont"), ("pain",),
                          ("pain0",), ("pain0",), ["zbin", "zcont"],
                          {"zbin": "binary", "zcont": "continuous"},
                          {"zbin": nothing, "zcont": nothing}, False)  # fmt: skip
    return cd._predictors("zbin", data, setup), data["zbin"], setup


def _slopes(seed: int, trials: int, sizes: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    from ipdma.impute import _twostage as ts

    full, _ = simulate(seed, "mar", trials=trials, sizes=sizes, systematic=False, sporadic=False)
    x, z, setup = _binary_model_inputs(full)
    p = x.shape[1]
    random = np.arange(p) < 2
    # two stages: each trial's own logistic fit, then the inverse-variance weighted mean
    models = ts.fit_trials(x, z, setup.layout, "binary", p + 3, setup.arm)
    b, cov = models.estimates[models.observed], models.covariances[models.observed]
    tau2, _ = ts._paule_mandel(b, np.einsum("kjj->kj", cov))
    precision = np.linalg.inv(cov + np.diag(np.where(random, tau2, 0.0)))
    two = np.linalg.solve(precision.sum(axis=0), np.einsum("kij,kj->i", precision, b))
    # one stage over the trials (ipdma)
    one = ts.fit_trials(x, z, setup.layout, "binary", p + 3, setup.arm, random).estimates[0]
    return two, one


def slopes(replicates: int) -> None:
    for label, trials, sizes, reps in (("40 trials of 2,000", 40, (2000, 2001), 5),
                                       ("8 trials of 60-160", 8, (60, 160), replicates)):  # fmt: skip
        pairs = [_slopes(seed, trials, sizes) for seed in range(1, reps + 1)]
        two, one = (np.array([pair[i] for pair in pairs])[:, 2:] for i in (0, 1))
        print(f"{label} ({reps} consortia): mean common slope (MC SE)")
        for j, name in enumerate(COLUMNS[2:]):
            print(f"  {name:8s} two-stage {two[:, j].mean():+.4f} ({two[:, j].std() / np.sqrt(reps):.4f})"
                  f"   one-stage {one[:, j].mean():+.4f} ({one[:, j].std() / np.sqrt(reps):.4f})")  # fmt: skip


def within_trial(frame: pd.DataFrame, name: str, trials: list[str]) -> float:
    """Least-squares within-trial interaction: trial-by-arm intercepts, x0, z centred within
    trial, and T x z, in the given trials."""
    d = frame.loc[frame["trial"].isin(trials), ["trial", "treat", "pain0", name, "pain"]].dropna()
    _, trial = np.unique(d["trial"].to_numpy(), return_inverse=True)
    treat = d["treat"].to_numpy()
    cell = trial * 2 + treat.astype(np.intp)

    def centred(v: np.ndarray, group: np.ndarray) -> np.ndarray:
        return v - (np.bincount(group, v) / np.bincount(group))[group]

    zc = centred(d[name].to_numpy(), trial)
    x = np.column_stack([centred(c, cell) for c in (d["pain0"].to_numpy(), zc, treat * zc)])
    return float(np.linalg.lstsq(x, centred(d["pain"].to_numpy(), cell), rcond=None)[0][2])


def _split(task: tuple[int, int, bool, bool]) -> list[dict]:
    seed, m, two_stage_binary, sporadic_only = task
    import ipdma.impute as mi
    from ipdma.impute import _conditional as cd

    warnings.simplefilter("ignore")
    if two_stage_binary:  # the earlier fit: every trial's own logistic model, then pooled
        original = cd.fit_trials

        def fit_trials(x, z, layout, kind, min_rows, arm, random=None):
            return original(x, z, layout, kind, min_rows, arm, None if kind == "binary" else random)

        cd.fit_trials = fit_trials
    full, data = simulate(seed, "mar", trials=100, systematic=not sporadic_only,
                          sporadic=sporadic_only)  # fmt: skip
    imputation = mi.impute(data, ["zbin", "zcont"], m=m, seed=seed, iterations=10,
                           outcomes=("pain",), baselines=("pain0",))  # fmt: skip
    completed = [imputation.completed(i) for i in range(m)]
    rows = []
    for name in ("zbin", "zcont"):
        never = data.groupby("trial")[name].apply(lambda s: s.isna().all())
        for part, trials in (("never measured", never.index[never]),
                             ("measured", never.index[~never])):  # fmt: skip
            if len(trials) < 2:
                continue
            trials = list(trials)
            rows.append({"seed": seed, "modifier": name, "trials": part,
                         "full": within_trial(full, name, trials),
                         "imputed": np.mean([within_trial(c, name, trials) for c in completed])})  # fmt: skip
    return rows


def split(replicates: int, m: int, jobs: int, two_stage_binary: bool, sporadic_only: bool) -> None:
    tasks = [(seed, m, two_stage_binary, sporadic_only) for seed in range(1, replicates + 1)]
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        results = pd.DataFrame([r for part in pool.map(_split, tasks) for r in part])
    print(f"{replicates} consortia of 100 trials, m = {m}, "
          f"{'sporadic' if sporadic_only else 'systematic'} missingness only"
          f"{', two-stage binary slopes' if two_stage_binary else ''}: "
          f"{time.perf_counter() - start:.0f} s")  # fmt: skip
    print("attenuation, % of the true interaction (MC SE): imputed vs truth, imputed vs full data")
    for (name, part), rows in results.groupby(["modifier", "trials"]):
        truth = abs(TRUE[name])
        vs_truth = (rows["imputed"] - TRUE[name]) / truth * 100
        vs_full = (rows["imputed"] - rows["full"]) / truth * 100
        print(f"  {name:6s} {part:15s} {vs_truth.mean():+5.1f} ({vs_truth.std() / np.sqrt(len(rows)):.1f})"
              f"   {vs_full.mean():+5.1f} ({vs_full.std() / np.sqrt(len(rows)):.1f})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", choices=("slopes", "split"))
    parser.add_argument("--replicates", type=int, default=None)
    parser.add_argument("--m", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--two-stage-binary", action="store_true")
    parser.add_argument("--sporadic-only", action="store_true")
    args = parser.parse_args()
    if args.experiment == "slopes":
        slopes(args.replicates or 300)
    else:
        split(args.replicates or 40, args.m, args.jobs, args.two_stage_binary, args.sporadic_only)


if __name__ == "__main__":
    main()
