"""Validity study of multilevel multiple imputation for systematically missing modifiers.

Simulated consortia (K trials) with a binary and a continuous modifier, each never measured
in 50-70% of the trials, and missing sporadically within the other trials; planted
within-trial treatment-modifier interactions. For every replicate the one-stage interaction
model (stratified intercepts, centred baseline and modifier, random treatment effect, the
within-trial interaction T x (z - mean_i z) and the across-trial one T x mean_i z, REML,
Satterthwaite df) is fitted to the complete cases and to each of m imputed datasets
(``ipdma.impute.impute``), the latter pooled by Rubin's rules (``rubin_pool``, complete-data
df = mean Satterthwaite df). Reported per scenario and modifier: mean estimate and bias (with
its Monte Carlo SE), empirical SD, mean model SE, 95% CI coverage, and the precision gain of
MI over complete cases (ratio of empirical variances).

Scenarios:
  mar   trials miss a modifier with a probability depending on their mean baseline (observed);
        sporadic missingness depends on the observed outcome (MAR given the observed data).
  mnar  trials miss a modifier more often when its true trial mean is high, and participants
        with z = 1 (or a high z) are more often missing (not at random).

    python benchmarks/bench_impute.py --replicates 500 --m 5 --jobs 2 --scenarios mar
    python benchmarks/bench_impute.py --replicates 500 --m 5 --jobs 2 --scenarios mnar --out mnar.csv
    python benchmarks/bench_impute.py --summarize impute_validity.csv,mnar.csv --markdown
"""

from __future__ import annotations

import argparse
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

TRUE = {"zbin": -5.0, "zcont": -0.3}  # within-trial interactions (points; points per unit)


def simulate(
    seed: int,
    scenario: str,
    trials: int = 20,
    sizes: tuple[int, int] = (60, 160),
    systematic: bool = True,
    sporadic: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Full data and the data with missing modifiers (same rows). ``sizes``: the range of
    trial sizes; ``systematic`` / ``sporadic`` switch the two kinds of missingness (the same
    random numbers are drawn either way, so a switched-off kind leaves the other unchanged)."""
    rng = np.random.default_rng(seed)
    parts = []
    for k in range(trials):
        n = int(rng.integers(*sizes))
        treat = rng.permutation(np.arange(n) % 2).astype(float)
        prevalence = rng.uniform(0.2, 0.7)
        zbin = (rng.random(n) < prevalence).astype(float)
        zcont = rng.normal(rng.normal(45, 5), 10, n)
        x0 = np.clip(rng.normal(rng.normal(55, 6), 15, n), 0, 100)
        t_k = -8.0 + 2.0 * rng.normal()
        a_k = 10 + 5 * rng.normal()
        y = (
            a_k
            + 0.5 * x0
            + t_k * treat
            + 3.0 * zbin
            + 0.1 * zcont
            + TRUE["zbin"] * treat * zbin
            + TRUE["zcont"] * treat * (zcont - 45)
            + rng.normal(0, 12, n)
        )
        parts.append(pd.DataFrame({"trial": f"t{k:02d}", "treat": treat, "pain0": x0,
                                   "zbin": zbin, "zcont": zcont, "pain": y}))  # fmt: skip
    full = pd.concat(parts, ignore_index=True)
    data = full.copy()
    for name in ("zbin", "zcont"):
        by_trial = full.groupby("trial")
        if scenario == "mar":
            score = by_trial["pain0"].mean()
            score = (score - 55) / 6
        else:
            score = by_trial[name].mean()
            score = (score - score.mean()) / score.std()
        p_sys = 1 / (1 + np.exp(-(0.4 + 1.5 * score)))  # about 60% of trials on average
        never = score.index[rng.random(len(score)) < p_sys.to_numpy()]
        if systematic:
            data.loc[data["trial"].isin(never), name] = np.nan
        if scenario == "mar":
            lin = -2.2 + 0.04 * (full["pain"].to_numpy() - full["pain"].mean())
        else:
            z = full[name].to_numpy()
            lin = -2.2 + (1.5 * z if name == "zbin" else 0.08 * (z - 45))
        chosen = rng.random(len(data)) < 1 / (1 + np.exp(-lin))
        if sporadic:
            data.loc[chosen, name] = np.nan
    return full, data


def fit_interaction(frame: pd.DataFrame, name: str) -> tuple[float, float, float]:
    """Within-trial interaction of the one-stage model: estimate, SE, Satterthwaite df."""
    import ipdma

    d = frame[["trial", "treat", "pain0", name, "pain"]].dropna().copy()
    by = d.groupby("trial")
    keep = by[name].transform("std").fillna(0) > 0
    d = d[keep.to_numpy()]
    by = d.groupby("trial")
    d["x0c"] = d["pain0"] - by["pain0"].transform("mean")
    mean_z = by[name].transform("mean")
    d["zc"] = d[name] - mean_z
    d["tz"] = d["treat"] * d["zc"]
    d["tzbar"] = d["treat"] * (mean_z - mean_z.mean())
    fit = ipdma.mixed(
        "pain ~ 0 + C(trial) + x0c + zc + treat + tz + tzbar + (0 + treat | trial)",
        data=d,
        reml=True,
    )
    return float(fit.fixef["tz"]), float(fit.se["tz"]), float(fit.df["tz"])


def replicate(args: tuple[int, str, int, bool]) -> list[dict]:
    seed, scenario, m, slopes = args
    import ipdma.impute as mi
    from ipdma.errors import IpdmaError

    warnings.simplefilter("ignore")
    full, data = simulate(seed, scenario)
    rows = []
    try:
        imputation = mi.impute(data, ["zbin", "zcont"], m=m, seed=seed, iterations=10,
                               outcomes=("pain",), baselines=("pain0",),
                               random_slopes=slopes)  # fmt: skip
    except IpdmaError as exc:  # a failed imputation is a result of the study, not a crash
        completed = None
        print(f"replicate {seed} ({scenario}): imputation failed: {exc.message}", flush=True)
    else:
        completed = [imputation.completed(i) for i in range(m)]
    for name in ("zbin", "zcont"):
        # an analysis that cannot be fitted (e.g. the complete cases of a modifier measured
        # in one trial only) is a result of the study (a missing estimate), not a crash
        rows.append(_row(seed, scenario, name, "complete cases", *_fitted(data, name, seed)))
        rows.append(_row(seed, scenario, name, "no missing data", *_fitted(full, name, seed)))
        if completed is None:
            rows.append(_row(seed, scenario, name, "multiple imputation", np.nan, np.nan, np.nan))
            continue
        fits = np.array([_fitted(c, name, seed) for c in completed])
        if not np.isfinite(fits).all():
            rows.append(_row(seed, scenario, name, "multiple imputation", np.nan, np.nan, np.nan))
            continue
        pooled = mi.rubin_pool(fits[:, 0], fits[:, 1] ** 2, dfcom=fits[:, 2].mean()).table
        rows.append(_row(seed, scenario, name, "multiple imputation",
                         float(pooled["estimate"][0]), float(pooled["se"][0]),
                         float(pooled["df"][0]), fmi=float(pooled["fmi"][0])))  # fmt: skip
    return rows


def _fitted(frame: pd.DataFrame, name: str, seed: int) -> tuple[float, float, float]:
    from ipdma.errors import IpdmaError

    try:
        return fit_interaction(frame, name)
    except IpdmaError as exc:
        print(f"replicate {seed}, {name}: analysis failed: {exc.message}", flush=True)
        return np.nan, np.nan, np.nan


def _row(seed, scenario, name, method, est, se, df, fmi=np.nan) -> dict:
    from scipy import stats

    crit = stats.t.ppf(0.975, df) if np.isfinite(df) else 1.959964
    truth = TRUE[name]
    return {"seed": seed, "scenario": scenario, "modifier": name, "method": method,
            "estimate": est, "se": se, "df": df, "fmi": fmi,
            "covered": abs(est - truth) <= crit * se if np.isfinite(se) else np.nan}  # fmt: skip


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    out = []
    for (scenario, name, method), rows in results.groupby(["scenario", "modifier", "method"]):
        failed = int(rows["estimate"].isna().sum())
        rows = rows[rows["estimate"].notna()]  # the replicates that ran
        n = len(rows)
        est = rows["estimate"]
        out.append({"scenario": scenario, "modifier": name, "method": method, "replicates": n,
                    "truth": TRUE[name], "mean": est.mean(), "bias": est.mean() - TRUE[name],
                    "mc_se_bias": est.std() / np.sqrt(n), "empirical_sd": est.std(),
                    "mean_se": rows["se"].mean(), "coverage": rows["covered"].mean(),
                    "mean_fmi": rows["fmi"].mean(),
                    "failed": failed})  # fmt: skip
    table = pd.DataFrame(out)
    # paired with the same replicate's analysis without missing data: the bias the missing
    # data add, with a Monte Carlo SE free of the sampling noise shared by both analyses
    wide = results.pivot_table(index=["scenario", "modifier", "seed"], columns="method",
                               values="estimate")  # fmt: skip
    paired = []
    for method in ("complete cases", "multiple imputation"):
        if method in wide and "no missing data" in wide:
            diff = (wide[method] - wide["no missing data"]).groupby(level=[0, 1])
            paired.append(pd.DataFrame({"method": method, "vs_full": diff.mean(),
                                        "mc_se_vs_full": diff.std() / np.sqrt(diff.size())}))  # fmt: skip
    if paired:
        table = table.merge(pd.concat(paired).reset_index(), how="left",
                            on=["scenario", "modifier", "method"])  # fmt: skip
    cc = table[table["method"] == "complete cases"].set_index(["scenario", "modifier"])
    mi = table[table["method"] == "multiple imputation"].set_index(["scenario", "modifier"])
    gain = (cc["empirical_sd"] ** 2 / mi["empirical_sd"] ** 2).rename("variance_ratio_cc_mi")
    return table.merge(gain.reset_index(), on=["scenario", "modifier"], how="left")


def markdown(table: pd.DataFrame) -> str:
    """The summary as the table of docs/imputation.md."""
    names = {"zbin": "binary", "zcont": "continuous", "multiple imputation": "imputation"}
    lines = ["| scenario | modifier | method | replicates | mean (truth) | bias (MC SE) "
             "| vs no missing data (MC SE) | emp. SD | mean SE | coverage | FMI "
             "| precision vs complete cases |", "|" + "---|" * 12]  # fmt: skip
    for row in table.itertuples():
        digits = 3
        vs_full = (f"{row.vs_full:.{digits}f} ({row.mc_se_vs_full:.{digits}f})"
                   if np.isfinite(row.vs_full) else "")  # fmt: skip
        ratio = (f"{row.variance_ratio_cc_mi:.2f}"
                 if row.method == "multiple imputation" else "")  # fmt: skip
        fmi = f"{row.mean_fmi:.2f}" if np.isfinite(row.mean_fmi) else ""
        lines.append(f"| {row.scenario} | {names[row.modifier]} "
                     f"| {names.get(row.method, row.method)} | {row.replicates} "
                     f"| {row.mean:.3f} ({row.truth:g}) "
                     f"| {row.bias:.3f} ({row.mc_se_bias:.3f}) | {vs_full} "
                     f"| {row.empirical_sd:.3f} | {row.mean_se:.3f} | {row.coverage:.3f} "
                     f"| {fmi} | {ratio} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=500)
    parser.add_argument("--first", type=int, default=1, help="seed of the first replicate")
    parser.add_argument("--m", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--scenarios", default="mar,mnar")
    parser.add_argument("--out", default="impute_validity.csv")
    parser.add_argument("--every", type=int, default=10, help="write results every N replicates")
    parser.add_argument("--random-slopes", action="store_true",
                        help="every coefficient trial-specific (method 2stage-random-slopes)")  # fmt: skip
    parser.add_argument(
        "--summarize", default=None, help="print the table of results files (comma-separated)"
    )
    parser.add_argument("--markdown", action="store_true", help="--summarize as docs' table")  # fmt: skip
    args = parser.parse_args()
    if args.summarize:
        pd.set_option("display.width", 200)
        frames = [pd.read_csv(path) for path in args.summarize.split(",")]
        table = summarize(pd.concat(frames, ignore_index=True))
        print(markdown(table) if args.markdown else table.round(4).to_string(index=False))
        return
    tasks = [(seed, scenario, args.m, args.random_slopes) for scenario in args.scenarios.split(",")
             for seed in range(args.first, args.first + args.replicates)]  # fmt: skip
    start = time.perf_counter()
    rows: list[dict] = []
    pd.set_option("display.width", 200)
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for done, part in enumerate(pool.map(replicate, tasks, chunksize=1), start=1):
            rows.extend(part)
            if done % args.every == 0 or done == len(tasks):
                # partial results on disk as the study goes (a killed run keeps them)
                _write(pd.DataFrame(rows), args.out)
                print(f"{done}/{len(tasks)} replicates, {time.perf_counter() - start:.0f} s",
                      flush=True)  # fmt: skip
    table = summarize(pd.DataFrame(rows))
    print(table.round(3).to_string(index=False))
    print(f"{len(tasks)} replicates, m = {args.m}: {time.perf_counter() - start:.1f} s wall")


def _write(results: pd.DataFrame, out: str) -> None:
    partial = Path(out).with_suffix(".tmp")
    results.to_csv(partial, index=False)
    partial.replace(out)


if __name__ == "__main__":
    main()
