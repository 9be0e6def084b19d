"""Small tidy result frames shaped as in CONTRACTS.md, for unit tests of the renderer."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from ipdma.report import FigureView, ReportInputs

MODIFIERS = {
    "age": ("per unit", ""),
    "female": ("Female", "Male"),
    "bmi": ("per unit", ""),
    "medication": ("Yes", "No"),
}
LABELS = {
    "age": "Age (years)",
    "female": "Sex",
    "bmi": "BMI",
    "medication": "Any LBP medication use",
}


def interactions() -> pd.DataFrame:
    rows = []
    cells = [
        (outcome, window, comparison, adjusted)
        for outcome in ("pain", "function", "recovery")
        for window, comparison in (
            ("short", "any"),
            ("moderate", "any"),
            ("long", "any"),
            ("short", "usual"),
            ("short", "conservative"),
        )
        for adjusted in (False, True)
    ]
    for k, (outcome, window, comparison, adjusted) in enumerate(cells):
        for j, (modifier, (level, reference)) in enumerate(MODIFIERS.items()):
            estimate = 1.0 + 0.1 * j if outcome == "recovery" else -0.5 * j + 0.01 * k
            rows.append(
                {
                    "outcome": outcome,
                    "window": window,
                    "comparison": comparison,
                    "modifier": modifier,
                    "level": level,
                    "reference": reference,
                    "kind": "interaction",
                    "adjusted": adjusted,
                    "studies": 10 + j,
                    "participants": 1000 + 10 * j,
                    "estimate": estimate,
                    "ci_low": estimate - 1.0 if outcome != "recovery" else estimate / 2,
                    "ci_high": estimate + 1.0 if outcome != "recovery" else estimate * 2,
                    "p": 0.04 if modifier == "medication" else 0.5,
                    "p_fdr": 0.3,
                }
            )
            rows.append({**rows[-1], "kind": "across", "estimate": 99.0, "p": 0.9})
    return pd.DataFrame(rows)


def overall() -> pd.DataFrame:
    rows = []
    for outcome in ("recovery", "pain", "function"):
        for comparison in ("any", "usual", "conservative"):
            rows.append(
                {
                    "outcome": outcome,
                    "window": "short",
                    "comparison": comparison,
                    "studies": 20,
                    "participants": 2500,
                    "estimate": 1.5 if outcome == "recovery" else -3.2,
                    "ci_low": 1.1 if outcome == "recovery" else -5.0,
                    "ci_high": 2.0 if outcome == "recovery" else -1.4,
                    "p": 0.001,
                    "tau": 2.1,
                }
            )
    return pd.DataFrame(rows)


def models() -> pd.DataFrame:
    frame = interactions()
    frame = frame.loc[frame["kind"] == "interaction"]
    keys = frame[["outcome", "window", "comparison", "modifier", "adjusted"]].drop_duplicates()
    out = keys.reset_index(drop=True).assign(converged=True, singular=False, dropped=5, error=None)
    out.insert(0, "id", [f"m{i:03d}" for i in range(len(out))])
    first = (out["modifier"] == "bmi") & (out["outcome"] == "pain") & (out["window"] == "short")
    out.loc[first & (out["comparison"] == "any") & ~out["adjusted"], "singular"] = True
    out.loc[first & (out["comparison"] == "usual"), "converged"] = False
    return out


def important() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "outcome": "function",
                "window": "short",
                "comparison": "any",
                "modifier": "medication",
                "level": "Yes",
                "adjusted": True,
                "estimate": -4.8,
                "ci_low": -8.7,
                "ci_high": -0.9,
                "p": 0.016,
                "p_fdr": 0.2,
                "reason": "difference beyond the smallest worthwhile effect",
            }
        ]
    )


def figure(key: str, title: str) -> FigureView:
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.errorbar([-1.0, 0.5], [1, 0], xerr=[[1, 1], [1, 1]], fmt="s")
    ax.set_title(title)
    png, svg = io.BytesIO(), io.BytesIO()
    fig.savefig(png, format="png", metadata={"Software": None})
    fig.savefig(svg, format="svg", metadata={"Date": None})
    plt.close(fig)
    return FigureView(key=key, title=title, png=png.getvalue(), svg=svg.getvalue())


def inputs(**changes) -> ReportInputs:
    base = {
        "title": "Test IPD-MA",
        "version": "0.0-test",
        "plan": {
            "modifiers": list(MODIFIERS),
            "adjust_for": ["age", "female"],
            "comparisons": ["any", "usual", "conservative"],
            "level": 0.95,
            "model": {
                "random": ["treatment", "baseline"],
                "random_binomial": ["treatment"],
                "correlated": False,
                "residual": "common",
                "reml": True,
                "nagq": 1,
                "df_method": "satterthwaite",
                "treatment_coding": "01",
                "across_trial": True,
            },
            "importance": {"alpha": 0.05, "swe_fraction": 0.2, "odds_ratio": 2.0},
        },
        "settings": {
            "windows": {
                "short": {"target": 13, "max_distance": 9},
                "moderate": {"target": 26, "max_distance": 10},
                "long": {"target": 52, "max_distance": 20},
            },
            "ties": "later",
            "recovery": {"relative": 0.3, "pain_points": 20, "function_points": 10},
        },
        "labels": LABELS,
        "n_trials": 3,
        "n_participants": 300,
        "provenance": pd.DataFrame(
            {
                "kind": ["raw", "spec"],
                "trial": ["costa2009", "costa2009"],
                "path": ["data/costa2009.sav", "trials/costa2009.toml"],
                "sha256": ["a" * 64, "b" * 64],
                "size": [1234, 567],
            }
        ),
        "checks": {
            "replication": pd.DataFrame(
                {
                    "trial": ["costa2009"],
                    "check": ["n exercise"],
                    "published": [77],
                    "observed": [77.0],
                    "status": ["match"],
                }
            )
        },
        "table1": pd.DataFrame(
            {"Trial": ["Costa, 2009"], "Country": ["Australia"], "Participants": [154]}
        ),
        "overall": overall(),
        "interactions": interactions(),
        "important": important(),
        "models": models(),
        "figures": (
            figure("figure2", "Figure 2. Published results"),
            figure("figure3", "Figure 3. Subgroup effects, pain"),
        ),
    }
    base.update(changes)
    return ReportInputs(**base)
