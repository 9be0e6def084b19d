"""Trial specs and the project file for a simulated consortium (the docs/spec.md schema).

Each trial's spec says how to read its native file (format options, id, arm, layout), maps
every arm, variable and outcome, and lists the trial's "published" aggregates: n per arm,
mean age, % female and mean baseline pain per arm on the native scale (``[[published.
checks]]``), and the published short-term mean differences (``[[published.effects]]``,
each with the analysis its publication used: :data:`EFFECT_ANALYSES`). Four published
values (two aggregates, two effects) are deliberately wrong, as real data checking finds
(:data:`DISCREPANCIES`); ``ipdma check`` must flag exactly these.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomli_w
from scipy import stats

from ._config import ConsortiumConfig
from ._native import NativeTrial
from ._writers import atomic_write

#: deliberate errors in the "publications": (trial, check, what is wrong)
DISCREPANCIES: tuple[dict[str, Any], ...] = (
    {"trial": "morone2011", "statistic": "mean", "variable": "age", "shift": 1.5,
     "why": "the publication reports mean age 1.5 years too high (a typo in its Table 1)"},
    {"trial": "ferreira2007", "statistic": "n", "arm_index": 1, "shift": 2,
     "why": "two participants of the second arm withdrew consent for data sharing after "
            "publication, so the IPD have 2 fewer than the published n"},
    {"trial": "albaladejo2010", "statistic": "effect md", "outcome": "pain", "shift": -2.5,
     "why": "the publication analysed per-protocol completers: its pain difference is 2.5 "
            "points larger than the intention-to-treat IPD give"},
    {"trial": "costa2009", "statistic": "effect se", "outcome": "pain", "shift": 1.0,
     "why": "the publication's standard error is 1 point larger than the IPD give "
            "(a transcription error in its results table)"},
)  # fmt: skip
# how each simulated trial's publication analysed its short-term effects (by trial order):
# Welch t-test of the follow-up values, Student t-test of the change scores, ANCOVA
EFFECT_ANALYSES = (("welch", "followup"), ("ttest", "change"), ("ancova", "followup"))


def source_options(native: NativeTrial, config: ConsortiumConfig, k: int) -> dict:
    """Format options of a trial's raw file: encoding, delimiter, decimal, missing code."""
    fmt = native.file_format
    trial = next(t for t in config.trials if t.trial == native.trial)
    options: dict = {}
    if fmt == "csv-semicolon":
        options.update(delimiter=";", decimal=",")
        options["encoding"] = "latin-1" if trial.country == "Brazil" else "utf-8"
    elif fmt == "csv-latin1":
        options["encoding"] = "latin-1"
    elif fmt == "csv":
        options["encoding"] = "utf-8"
    if fmt.startswith("csv") and k % 2 == 0:
        options["missing"] = -9
    if fmt == "xlsx":
        options["sheet"] = "data"
    return options


def _published_checks(native: NativeTrial, config: ConsortiumConfig) -> list[dict]:
    trial = next(t for t in config.trials if t.trial == native.trial)
    frame = native.harmonized
    arm_codes = [arm["code"] for arm in native.spec["arms"]]
    checks = []
    for index, code in enumerate(arm_codes):
        n = int((frame["arm_index"] == index).sum())
        checks.append({"statistic": "n", "arm": code, "value": n, "source": "Figure 1"})
    age = frame["age"].mean()
    checks.append({"statistic": "mean", "variable": "age", "value": round(float(age), 1),
                   "tolerance": 0.051, "source": "Table 1"})  # fmt: skip
    female = frame["female"].mean() * 100
    checks.append({"statistic": "percent", "variable": "female",
                   "value": round(float(female), 1), "tolerance": 0.051, "source": "Table 1"})  # fmt: skip
    if trial.pain_instrument is not None:
        from ._instruments import instrument

        inst = instrument(trial.pain_instrument)
        native_pain = inst.to_native(frame["pain0"].to_numpy(float))
        for index, code in enumerate(arm_codes):
            values = native_pain[(frame["arm_index"] == index).to_numpy()]
            mean = float(np.nanmean(values))
            checks.append({"statistic": "mean", "outcome": "pain", "time": 0, "scale": "native",
                           "arm": code, "value": round(mean, 2), "tolerance": 0.0051,
                           "source": "Table 1"})  # fmt: skip
    for wrong in DISCREPANCIES:
        if wrong["trial"] != native.trial:
            continue
        for check in checks:
            same_arm = "arm_index" not in wrong or check.get("arm") == arm_codes[wrong["arm_index"]]
            if (check["statistic"] == wrong["statistic"] and same_arm
                    and check.get("variable") == wrong.get("variable")):  # fmt: skip
                check["value"] = round(check["value"] + wrong["shift"], 2)
                break
    return checks


def _effect(ex, co, ex0, co0, analysis: str) -> tuple[float, float]:
    """A publication's own analysis (scipy's t-tests; ANCOVA by least squares)."""
    if analysis == "ancova":
        y = np.r_[ex, co]
        X = np.column_stack(
            [np.ones(len(y)), np.r_[ex0, co0], np.r_[np.ones(len(ex)), np.zeros(len(co))]]
        )
        beta, rss, *_ = np.linalg.lstsq(X, y, rcond=None)
        cov = float(rss[0]) / (len(y) - 3) * np.linalg.inv(X.T @ X)
        return float(beta[2]), float(np.sqrt(cov[2, 2]))
    test = stats.ttest_ind(ex, co, equal_var=analysis == "ttest")
    md = float(ex.mean() - co.mean())
    return md, abs(md / float(test.statistic))


def _published_effects(
    native: NativeTrial, followup: pd.DataFrame, treat: np.ndarray, k: int
) -> list[dict[str, Any]]:
    """Exercise minus comparison at the short-term visit, 0-100, analysed as the trial's
    publication did (:data:`EFFECT_ANALYSES`), with the planted :data:`DISCREPANCIES`."""
    effects: list[dict[str, Any]] = []
    if treat.min() == treat.max():
        return effects
    analysis, scale = EFFECT_ANALYSES[k % len(EFFECT_ANALYSES)]
    for outcome in ("pain", "function"):
        values = followup[outcome].to_numpy(float)
        base = native.harmonized[f"{outcome}0"].to_numpy(float)
        y = values - base if scale == "change" else values
        ok = ~np.isnan(y) & (~np.isnan(base) if analysis == "ancova" else True)
        ex, co = y[(treat == 1) & ok], y[(treat == 0) & ok]
        if len(ex) < 2 or len(co) < 2:
            continue
        md, se = _effect(ex, co, base[(treat == 1) & ok], base[(treat == 0) & ok], analysis)
        for wrong in DISCREPANCIES:
            if wrong["trial"] == native.trial and wrong.get("outcome") == outcome:
                if wrong["statistic"] == "effect md":
                    md += wrong["shift"]
                elif wrong["statistic"] == "effect se":
                    se += wrong["shift"]
        weeks = followup[f"{outcome}_weeks"].iloc[0]
        effects.append({"outcome": outcome, "comparison": "any", "md": round(float(md), 1),
                        "se": round(float(se), 2), "time_weeks": round(float(weeks), 1),
                        "analysis": analysis, "scale": scale,
                        "source": "results table"})  # fmt: skip
    return effects


def trial_spec(
    native: NativeTrial, config: ConsortiumConfig, k: int, followup: pd.DataFrame,
    treat: np.ndarray,
) -> dict:  # fmt: skip
    """The complete trial spec (a dict ready for TOML) of one simulated trial."""
    spec = {key: value for key, value in native.spec.items()}
    source = {"file": f"../data/{native.file_name}", **native.spec["source"]}
    options = source_options(native, config, k)
    if "missing" in options:
        source["missing"] = [options.pop("missing")]
    source.update(options)
    spec["source"] = source
    spec["trial"] = {**spec["trial"], "notes": "simulated by ipdma.simulate (not real data)"}
    published = {"checks": _published_checks(native, config)}
    effects = _published_effects(native, followup, treat, k)
    if effects:
        published["effects"] = effects
    spec["published"] = published
    return spec


def project_dict(config: ConsortiumConfig, spec_files: list[str], not_included: list) -> dict:
    """The project file: trial specs, settings matching the config, not-included trials."""
    windows = {w: {"target": t, "max_distance": d} for w, (t, d) in config.windows.items()}
    return {
        "name": "Simulated consortium: exercise therapy for persistent low back pain",
        "trials": spec_files,
        "output": "output",
        "settings": {
            "ties": config.ties,
            "windows": windows,
            "recovery": {
                "relative": config.recovery_relative,
                "pain_points": config.recovery_points["pain"],
                "function_points": config.recovery_points["function"],
            },
        },
        "not_included": not_included,
    }


def write_toml(path: Path, data: dict, header: str = "") -> None:
    """Write ``data`` as TOML (atomically), with an optional comment header."""
    text = header + tomli_w.dumps(_clean(data))
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _clean(value):
    """numpy scalars -> Python; drop None values (TOML has no null)."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
