"""Fresh datasets for the independent cross-checks of ipdma.mixed against R (VERIFY helper).

Unlike the LINEAR/LOGISTIC fixtures these have unbalanced trials (5..400 participants),
3..60 trials, missing values, trial ids with spaces and non-ASCII letters, a 3-level string
factor, correlated random slopes, three independent random terms, near- and exactly-singular
fits, and outcomes on very large (~1e4) and very small (~1e-3) scales.

Writes ``xcheck_<name>.csv`` next to this script (UTF-8, missing values as ``NA``); the R
fits are made by ``xcheck_fit.R``. Run: ``.venv/bin/python tests/reference/xcheck_make.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
NAMES = ["Ünal 2011", "van der Berg", "O'Neil-7", "Søren A", "trial 10", "trial 2", "Zhào"]


def _ids(k: int, rng: np.random.Generator) -> list[str]:
    base = [f"{NAMES[i % len(NAMES)]} {i // len(NAMES)}" for i in range(k)]
    return list(rng.permutation(base))


def _sizes(k: int, rng: np.random.Generator, low: int = 5, high: int = 400) -> np.ndarray:
    sizes = np.exp(rng.uniform(np.log(low), np.log(high), k)).round().astype(int)
    sizes[0], sizes[-1] = low, high
    return sizes


def _frame(k: int, sizes: np.ndarray, rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    ids = _ids(k, rng)
    index = np.repeat(np.arange(k), sizes)
    n = index.size
    treat = np.concatenate([rng.permutation(np.arange(m) % 2) for m in sizes]).astype(float)
    frame = pd.DataFrame(
        {
            "trial": np.array(ids, dtype=object)[index],
            "treat": treat,
            "x": rng.normal(rng.normal(0, 1, k)[index], 1.0),
            "f": rng.choice(["lo", "mid", "hi"], n, p=[0.5, 0.3, 0.2]),
            "base": rng.normal(rng.normal(55, 8, k)[index], 14),
        }
    )
    return frame, index


def _missing(frame: pd.DataFrame, rng: np.random.Generator, columns: list[str]) -> pd.DataFrame:
    frame = frame.copy()
    for column in columns:
        hit = rng.random(len(frame)) < 0.04
        frame[column] = frame[column].astype(object).where(~hit, None)
    return frame


def linear_corr(seed: int) -> pd.DataFrame:
    """40 trials, correlated random intercept and slope of x, 3-level factor, missing values."""
    rng = np.random.default_rng(seed)
    k = 40
    frame, index = _frame(k, _sizes(k, rng), rng)
    cov = np.array([[9.0, 1.2], [1.2, 0.64]])
    u = rng.multivariate_normal([0, 0], cov, k)
    effect_f = frame["f"].map({"lo": 0.0, "mid": 1.5, "hi": -2.0}).to_numpy()
    frame["y"] = (
        10
        + u[index, 0]
        + (1.0 + u[index, 1]) * frame["x"]
        - 3 * frame["treat"]
        + effect_f
        + rng.normal(0, 4, len(frame))
    )
    return _missing(frame, rng, ["y", "x", "f"])


def linear_three(seed: int) -> pd.DataFrame:
    """60 trials, stratified intercepts, three independent random slopes (a, b, c)."""
    rng = np.random.default_rng(seed)
    k = 60
    sizes = _sizes(k, rng, 8, 160)
    frame, index = _frame(k, sizes, rng)
    frame["a"] = frame["treat"]
    frame["b"] = (frame["base"] - 55) / 14
    frame["c"] = frame["x"]
    alpha = rng.normal(20, 5, k)
    sd = np.array([2.0, 0.8, 0.5])
    u = rng.normal(0, 1, (k, 3)) * sd
    sigma = rng.uniform(3, 9, k)  # heteroscedastic across trials (stratified residuals)
    frame["y"] = (
        alpha[index]
        + (-4 + u[index, 0]) * frame["a"]
        + (2 + u[index, 1]) * frame["b"]
        + (0.7 + u[index, 2]) * frame["c"]
        + rng.normal(0, 1, len(frame)) * sigma[index]
    )
    return _missing(frame, rng, ["y", "b"])


def linear_paper(seed: int, k: int, tau: float, scale: float, sizes=None) -> pd.DataFrame:
    """The paper's model y ~ 0 + C(trial) + base + treat + (0+treat|trial) + (0+base|trial)."""
    rng = np.random.default_rng(seed)
    sizes = _sizes(k, rng) if sizes is None else np.asarray(sizes)
    frame, index = _frame(k, sizes, rng)
    alpha = rng.normal(20, 6, k)
    slope = 0.5 + rng.normal(0, 0.1, k)
    effect = -6 + rng.normal(0, tau, k)
    sigma = rng.uniform(10, 22, k)
    frame["agec"] = rng.normal(45, 10, len(frame))
    frame["agec"] -= frame.groupby("trial")["agec"].transform("mean")
    y = (
        alpha[index]
        + slope[index] * frame["base"]
        + effect[index] * frame["treat"]
        + 0.2 * frame["treat"] * frame["agec"]
        + rng.normal(0, 1, len(frame)) * sigma[index]
    )
    frame["y"] = y * scale
    frame["base"] = frame["base"] * scale
    return frame


def binary_paper(seed: int, k: int, tau: float, two: bool) -> pd.DataFrame:
    """Recovery: rec ~ 0 + C(trial) + base + treat + (0 + treat | trial) [+ (0 + base | trial)]."""
    rng = np.random.default_rng(seed)
    sizes = _sizes(k, rng, 12, 400)
    frame, index = _frame(k, sizes, rng)
    frame["base"] = (frame["base"] - 55) / 14
    alpha = rng.normal(-0.5, 0.8, k)
    effect = 0.6 + rng.normal(0, tau, k)
    slope = -0.5 + rng.normal(0, 0.4 if two else 0.0, k)
    eta = alpha[index] + slope[index] * frame["base"] + effect[index] * frame["treat"]
    frame["rec"] = (rng.random(len(frame)) < 1 / (1 + np.exp(-eta))).astype(float)
    return _missing(frame, rng, ["rec"])


def binary_intercept(seed: int) -> pd.DataFrame:
    """Random-intercept logistic with a 3-level factor: rec ~ x + f + treat + (1 | trial)."""
    rng = np.random.default_rng(seed)
    k = 25
    frame, index = _frame(k, _sizes(k, rng, 5, 300), rng)
    u = rng.normal(0, 1.1, k)
    effect_f = frame["f"].map({"lo": 0.0, "mid": 0.7, "hi": -0.6}).to_numpy()
    eta = -0.3 + u[index] + 0.5 * frame["x"] + 0.8 * frame["treat"] + effect_f
    frame["rec"] = (rng.random(len(frame)) < 1 / (1 + np.exp(-eta))).astype(float)
    return _missing(frame, rng, ["x", "f"])


def datasets() -> dict[str, pd.DataFrame]:
    exact = linear_paper(404, 3, tau=0.0, scale=1.0, sizes=[30, 45, 60])
    return {
        "corr": linear_corr(11),
        "three": linear_three(12),
        "paper": linear_paper(13, 18, tau=3.0, scale=1.0),
        "nearsing": linear_paper(14, 12, tau=0.25, scale=1.0),
        "exactsing": exact,
        "large": linear_paper(15, 9, tau=3.0, scale=1e3),
        "tiny": linear_paper(16, 9, tau=3.0, scale=1e-4),
        "bin_paper": binary_paper(17, 30, tau=0.5, two=False),
        "bin_two": binary_paper(18, 22, tau=0.5, two=True),
        "bin_int": binary_intercept(19),
        "bin_aghq": binary_paper(23, 16, tau=1.0, two=True),
    }


def grid_frame() -> pd.DataFrame:
    """The simulated consortium (one window) that xcheck_grid.R analyses cell by cell."""
    import ipdma

    frame = ipdma.simulate.harmonized_ipd(seed=7)
    # a 3-level string modifier whose mix differs by trial (one trial lacks "west")
    rng = np.random.default_rng(77)
    trials = sorted(frame["trial"].unique())
    mix = {t: rng.dirichlet([2.0, 2.0, 2.0]) for t in trials}
    mix[trials[0]] = np.array([0.5, 0.5, 0.0])
    frame["region"] = [rng.choice(["north", "south", "west"], p=mix[t]) for t in frame["trial"]]
    return frame


def stress(count: int = 40) -> pd.DataFrame:
    """Many small paper-model datasets with little heterogeneity (boundary-prone), stacked
    with a ``dataset`` column; xcheck_stress.R fits each by lmer (REML, ML) and glmer."""
    parts = []
    for index in range(count):
        rng = np.random.default_rng(1000 + index)
        k = int(rng.integers(3, 9))
        frame = linear_paper(
            1000 + index,
            k,
            tau=float(rng.choice([0.0, 0.5, 2.0])),
            scale=1.0,
            sizes=rng.integers(5, 120, k),
        )
        eta = -0.3 + 0.02 * (frame["base"] - 55) + 0.5 * frame["treat"]
        frame["rec"] = (rng.random(len(frame)) < 1 / (1 + np.exp(-eta))).astype(float)
        parts.append(frame.assign(dataset=index))
    return pd.concat(parts, ignore_index=True)


def main() -> None:
    frames = {**datasets(), "grid": grid_frame(), "stress": stress()}
    for name, frame in frames.items():
        frame.to_csv(HERE / f"xcheck_{name}.csv", index=False, na_rep="NA", float_format="%.10g")
        print(name, len(frame), frame["trial"].nunique())


if __name__ == "__main__":
    main()
