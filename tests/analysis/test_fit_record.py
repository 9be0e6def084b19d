"""One model's record: a term without information gets an estimate but no SE, CI or p."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ipdma.analysis import AnalysisPlan, ModelSpec
from ipdma.analysis._design import PreparedModel, Term
from ipdma.analysis._fit import fit_prepared

REF = Path(__file__).parents[1] / "reference"


def test_separated_term_has_no_standard_error_and_the_grid_goes_on():
    """Regression: a subgroup whose treated rows all recovered made the engine report SE 0
    and the record computation divide by it (the whole ``ipdma run`` stopped)."""
    data = pd.read_csv(REF / "glmm_ipd_small.csv").rename(columns={"rec": "y", "base": "baseline"})
    rows = data.index[(data.trial == "t02") & (data.treat == 1)][:6]
    data["rare"] = 0
    data.loc[rows, ["rare", "y"]] = 1
    prepared = PreparedModel(
        spec=ModelSpec("subgroup", "recovery", "short", "any", "rare", False),
        formula="y ~ 0 + C(trial) + baseline + treat + rare + (0 + treat | trial)",
        data=data[["y", "trial", "baseline", "treat", "rare"]],
        family="binomial",
        terms=(
            Term("treat", "subgroup", "no", 8, len(data) - 6),
            Term("rare", "subgroup", "yes", 1, 6),
        ),
        dropped=0,
        baseline_mean=0.0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        record = fit_prepared(prepared, AnalysisPlan()).record
    assert record.error is None and record.converged is False
    assert record.status == "not converged"
    assert any("separation" in w for w in record.warnings)
    assert record.convergence is not None and "rare" in record.convergence.separated_terms
    assert "separation" in record.message
    treat, rare = record.rows("subgroup")
    assert rare["estimate"] > 10
    assert math.isnan(rare["se"]) and math.isnan(rare["p"]) and math.isnan(rare["ci_low"])
    assert math.isfinite(treat["se"]) and treat["se"] > 0 and 0 < treat["p"] < 1


def test_remembered_separation_checks_answer_as_the_check_itself(monkeypatch) -> None:
    """The fit record's separated trials are remembered by the check's inputs (outcome,
    trials, trial-specific columns): other columns (a modifier) may differ, those may not."""
    from ipdma.analysis import _fit
    from ipdma.analysis._separation import separated_trials

    rng = np.random.default_rng(1)
    trial = np.repeat(["a", "b", "c"], 30)
    treat = np.tile([0.0, 1.0], 45)
    y = (rng.uniform(size=90) < 0.4).astype(float)
    y[(trial == "b") & (treat == 1)] = 1.0  # every exercise participant of b recovers

    def model(y: np.ndarray, baseline: np.ndarray, modifier: np.ndarray) -> PreparedModel:
        data = pd.DataFrame({"trial": trial, "y": y, "treat": treat, "baseline": baseline,
                             "modifier": modifier})  # fmt: skip
        return PreparedModel(
            spec=ModelSpec("interaction", "recovery", "short", "any", "m"),
            formula="y ~ 0 + C(trial) + baseline + treat + modifier + treat:modifier"
            " + (0 + treat + baseline | trial)",
            data=data, family="binomial", terms=(), dropped=0, baseline_mean=0.0,
        )  # fmt: skip

    calls: list[int] = []
    monkeypatch.setattr(_fit, "_SEPARATION_MEMO", {})
    monkeypatch.setattr(_fit, "separated_trials", lambda p: calls.append(1) or separated_trials(p))
    baseline = np.tile(np.linspace(-1, 1, 30), 3)
    first = model(y, baseline, rng.normal(size=90))
    assert _fit._separated(first) == separated_trials(first) == ("b",)
    assert _fit._separated(model(y, baseline, rng.normal(size=90))) == ("b",)  # remembered
    assert len(calls) == 1
    # a trial-specific column that differs (c follows its own baseline) is checked anew
    steep = y.copy()
    steep[trial == "c"] = (np.linspace(-1, 1, 30) > 0).astype(float)
    assert _fit._separated(model(steep, baseline, rng.normal(size=90))) == ("b", "c")
    assert len(calls) == 2
