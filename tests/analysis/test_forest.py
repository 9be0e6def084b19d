"""One-stage forest data: per-trial estimates (each trial's own ANCOVA) and prediction intervals."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ipdma.analysis._design import PreparedModel
from ipdma.analysis._forest import add_prediction_interval, prediction_interval, trial_effects
from ipdma.analysis._spec import ModelSpec


def test_prediction_interval_uses_t_with_k_minus_2_df():
    # Higgins et al. 2009: mu +- t_{K-2} sqrt(se^2 + tau^2); t_{8, 0.975} = 2.306004
    low, high = prediction_interval(-4.0, 1.0, 2.0, 10, 0.95)
    assert high - (-4.0) == pytest.approx(2.306004 * math.sqrt(5.0), abs=1e-6)
    assert low == pytest.approx(-8.0 - high)
    assert all(math.isnan(v) for v in prediction_interval(-4.0, 1.0, 2.0, 2, 0.95))
    assert prediction_interval(1.0, 0.5, math.nan, 5, 0.95)[1] == pytest.approx(
        1.0 + stats.t.ppf(0.975, 3) * 0.5
    )  # no random treatment effect: tau 0


def test_prediction_interval_columns_on_the_reporting_scale():
    overall = pd.DataFrame(
        {"outcome": ["pain", "recovery"], "scale": ["MD", "OR"], "studies": [10, 10],
         "estimate": [-4.0, math.exp(0.5)], "ci_low": [-6.0, 1.2], "ci_high": [-2.0, 2.2],
         "p": [0.01, 0.01], "se": [1.0, 0.2], "tau": [2.0, 0.3]}
    )  # fmt: skip
    out = add_prediction_interval(overall, 0.95)
    assert list(out.columns[5:8]) == ["ci_high", "pi_low", "pi_high"]
    half = stats.t.ppf(0.975, 8) * math.sqrt(0.2**2 + 0.3**2)
    assert out.pi_low[1] == pytest.approx(math.exp(0.5 - half))
    assert out.pi_high[1] == pytest.approx(math.exp(0.5 + half))
    assert out.pi_high[0] == pytest.approx(-4.0 + stats.t.ppf(0.975, 8) * math.sqrt(5.0))


def test_trial_effects_are_each_trials_own_ancova():
    rng = np.random.default_rng(3)
    rows = []
    for trial, effect in (("a", -5.0), ("b", 0.0), ("c", 5.0)):
        n = 60
        treat = np.repeat([0.0, 1.0], n // 2)
        base = rng.normal(50, 10, n)
        y = 10 + 0.5 * base + effect * treat + rng.normal(0, 5, n)
        rows.append(pd.DataFrame({"trial": trial, "y": y, "baseline": base, "treat": treat}))
    data = pd.concat(rows, ignore_index=True)
    data.loc[data.trial == "b", "treat"] = 0.0  # one arm only: not used, with its reason
    spec = ModelSpec(kind="overall", outcome="pain", window="short", comparison="any")
    prepared = PreparedModel(spec, "", data, "gaussian", (), 0, 50.0)
    effects = trial_effects(prepared, 0.95).set_index("trial")
    for trial in ("a", "c"):
        part = data[data.trial == trial]
        design = np.column_stack([np.ones(len(part)), part.baseline, part.treat])
        coef = np.linalg.lstsq(design, part.y.to_numpy(), rcond=None)[0]
        assert effects.loc[trial, "estimate"] == pytest.approx(coef[2], abs=1e-9)
        assert effects.loc[trial, "ci_low"] < coef[2] < effects.loc[trial, "ci_high"]
    assert not effects.loc["b", "used"] and effects.loc["b", "reason"] == "only one arm"
    # the record carries them; the forest table labels them with the model's cell and scale
    from ipdma.analysis._forest import forest_table
    from ipdma.analysis._records import ModelResult, empty_tidy

    record = ModelResult(spec=spec, status="fitted", level=0.95, df_method="satterthwaite",
                         terms=empty_tidy(), trials=trial_effects(prepared, 0.95))  # fmt: skip
    restored = ModelResult.from_json(record.to_json())
    forest = forest_table([restored]).set_index("trial")
    assert set(forest.outcome) == {"pain"} and set(forest.scale) == {"MD"}
    assert forest.loc["a", "estimate"] == pytest.approx(effects.loc["a", "estimate"], abs=1e-12)
    assert not forest.loc["b", "used"] and forest.loc["b", "reason"] == "only one arm"


def test_model_counts_use_every_trial_and_row_in_the_model():
    from ipdma.analysis._forest import model_counts

    frame = pd.DataFrame({"model_id": ["m1", "m2", "gone"], "studies": [15, 6, 3],
                          "participants": [1860, 700, 90]})  # fmt: skip
    models = pd.DataFrame({"id": ["m1", "m2"], "ngroups": [26, 9], "nobs": [3091, 1200]})
    out = model_counts(frame, models)
    assert out.studies.tolist() == [26, 9, 3] and out.participants.tolist() == [3091, 1200, 90]
    assert frame.studies.tolist() == [15, 6, 3]  # the input is not modified


def test_counts_option_in_the_plan():
    from ipdma.analysis import plan_from_dict
    from ipdma.errors import SpecError

    assert plan_from_dict({}).counts == "contributing"
    assert plan_from_dict({"counts": "model"}).counts == "model"
    with pytest.raises(SpecError, match="counts"):
        plan_from_dict({"counts": "all"})
