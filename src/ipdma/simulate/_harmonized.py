"""The simulated consortium in the ``analysis_frame`` layout, without writing any file.

Follow-up windows and global recovery are derived exactly as the project settings tell
ingest to: per trial and outcome, the visit closest to the window's target week (ties:
``config.ties``) if no further than its maximum distance; recovery is an improvement of at
least ``recovery_relative`` x baseline and at least ``recovery_points`` (0-100) in pain OR
function, missing when neither can be computed (the paper's Methods).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._config import ArmConfig, ConsortiumConfig, TrialConfig, default_config
from ._generate import OUTCOMES, SimulatedTrial, simulate_trials
from ._native import NativeTrial, nativize
from ._validate import validate_config, validate_seed

BINARY = ("female", "education", "smoker", "physically_active", "lbp_history", "sick_leave",
          "employed", "heavy_demands", "social_support", "leg_pain", "medication")  # fmt: skip
CONTINUOUS = ("age", "bmi", "general_health", "mental_health", "fear_avoidance",
              "episode_months", "pain0", "function0")  # fmt: skip
PARTICIPANT_COLUMNS = ("trial", "pid", "arm_code", "treat", "comparison", *CONTINUOUS, *BINARY)


def choose_visit(weeks: np.ndarray, target: float, max_distance: float, ties: str) -> int | None:
    """Index of the visit closest to ``target`` within ``max_distance`` (None when none)."""
    if len(weeks) == 0:
        return None
    distance = np.abs(np.asarray(weeks, dtype=float) - target)
    best = distance.min()
    if best > max_distance + 1e-9:
        return None
    candidates = np.flatnonzero(np.isclose(distance, best))
    return int(candidates[-1] if ties == "later" else candidates[0])


def recovered(
    baseline: np.ndarray, followup: np.ndarray, relative: float, points: float
) -> np.ndarray:
    """1.0 if improvement >= max(relative x baseline, points), 0.0 if not, NaN if unknown."""
    improvement = baseline - followup
    # float slack: e.g. RMDQ 10 -> 7 is exactly 30 % (12.5 of 41.67 points on 0-100)
    result = (improvement >= np.maximum(relative * baseline, points) - 1e-9).astype(float)
    result[np.isnan(improvement)] = np.nan
    return result


def simulate_native(
    config: ConsortiumConfig, seed: int
) -> list[tuple[SimulatedTrial, NativeTrial]]:
    """Simulate every trial and put it in its native layout (no files written)."""
    sims = simulate_trials(config, seed)
    streams = np.random.SeedSequence([seed, 1]).spawn(len(sims))
    return [
        (sim, nativize(sim, k, np.random.default_rng(stream)))
        for k, (sim, stream) in enumerate(zip(sims, streams, strict=True))
    ]


def comparison_set(arm: ArmConfig) -> str | None:
    """The comparison set of an arm: None (exercise), "conservative" or "usual"."""
    if arm.role == "exercise":
        return None
    return "conservative" if arm.category == "other conservative" else "usual"


def window_visit(
    trial: TrialConfig, weeks: np.ndarray, outcome: str, config: ConsortiumConfig, window: str
) -> int | None:
    """Index of the visit ingest picks for ``outcome`` at ``window`` (None when none)."""
    target, max_distance = config.windows[window]
    measured = np.isin(trial.visits, trial.visits_for(outcome))
    return choose_visit(np.where(measured, weeks, np.inf), target, max_distance, config.ties)


def global_recovery(
    baseline: dict[str, np.ndarray], followup: dict[str, np.ndarray], config: ConsortiumConfig
) -> np.ndarray:
    """Recovered on pain OR function (1/0); NaN when neither can be computed."""
    stacked = np.column_stack([
        recovered(baseline[o], followup[o], config.recovery_relative, config.recovery_points[o])
        for o in OUTCOMES
    ])  # fmt: skip
    known = ~np.isnan(stacked).all(axis=1)
    best = np.where(np.isnan(stacked), -1.0, stacked).max(axis=1)
    return np.where(known, best, np.nan)


def window_frame(native: NativeTrial, config: ConsortiumConfig, window: str) -> pd.DataFrame:
    """pain, function, recovery (and the weeks used) of one trial at one window."""
    trial_cfg = next(t for t in config.trials if t.trial == native.trial)
    n = len(native.harmonized)
    out: dict[str, Any] = {}
    for outcome in OUTCOMES:
        values = native.outcomes.get(outcome)
        index = None if values is None else window_visit(
            trial_cfg, native.visit_weeks, outcome, config, window)  # fmt: skip
        out[outcome] = (
            values[:, index] if values is not None and index is not None else np.full(n, np.nan)
        )
        out[f"{outcome}_weeks"] = native.visit_weeks[index] if index is not None else np.nan
    baseline = {o: native.harmonized[f"{o}0"].to_numpy(float) for o in OUTCOMES}
    out["recovery"] = global_recovery(baseline, out, config)
    return pd.DataFrame(out)


def participants_frame(native: NativeTrial, config: ConsortiumConfig) -> pd.DataFrame:
    """The contract's ``participants`` columns for one trial."""
    trial_cfg = next(t for t in config.trials if t.trial == native.trial)
    frame = native.harmonized
    arm_index = frame["arm_index"].to_numpy()
    arms = trial_cfg.arms
    codes = [str(arm["code"]) for arm in native.spec["arms"]]
    treat = np.array([a.role == "exercise" for a in arms], dtype=float)[arm_index]
    comparison = [comparison_set(arms[i]) for i in arm_index]
    columns = {"trial": np.full(len(frame), native.trial, dtype=object),
               "pid": frame["pid"].astype(str).to_numpy(dtype=object),
               "arm_code": np.array(codes, dtype=object)[arm_index], "treat": treat,
               "comparison": np.array(comparison, dtype=object)}  # fmt: skip
    for column in (*CONTINUOUS, *BINARY):
        columns[column] = frame[column].to_numpy(float)
    return pd.DataFrame(columns)


def harmonized_ipd(
    seed: int = 2020, config: ConsortiumConfig | None = None, *, window: str = "short"
) -> pd.DataFrame:
    """The simulated consortium as one analysis frame (the ``analysis_frame`` layout).

    One row per participant: ``trial, pid, arm_code, treat`` (1 exercise, 0 comparison),
    ``comparison`` ("usual" | "conservative" | None for exercise arms), the harmonized
    baseline variables (0-100 outcomes, higher = worse; binary 0/1 with NaN) and ``pain``,
    ``function``, ``recovery`` at ``window`` ("short" | "moderate" | "long"). The values are
    those ingest computes from the native files written by :func:`consortium` with the same
    seed and config (native rounding included), so tests can skip the files.

    Examples
    --------
    >>> import ipdma
    >>> data = ipdma.simulate.harmonized_ipd(seed=1)
    >>> fit = ipdma.mixed("pain ~ 0 + C(trial) + pain0 + treat + (0 + treat | trial)", data)
    """
    if window not in ("short", "moderate", "long"):
        from ..errors import SpecError

        raise SpecError(f"window={window!r} is not an option",
                        hint="use 'short', 'moderate' or 'long'")  # fmt: skip
    config = validate_config(default_config() if config is None else config)
    seed = validate_seed(seed)
    frames = []
    for _, native in simulate_native(config, seed):
        part = participants_frame(native, config)
        followup = window_frame(native, config, window)
        frames.append(pd.concat([part, followup[["pain", "function", "recovery"]]], axis=1))
    return pd.concat(frames, ignore_index=True)
