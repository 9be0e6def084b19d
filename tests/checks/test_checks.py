"""Missingness, ranges and replication of published aggregates."""

from __future__ import annotations

import numpy as np
import pytest
from tests.data.ingest.project import alpha_frame, make_project

from ipdma.checks import check, missingness, replicate
from ipdma.errors import DataFileError
from ipdma.spec import Check, load_trial_spec
from ipdma.store import ingest, load


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    project = make_project(tmp_path_factory.mktemp("consortium"))
    ingest(project)
    return project, load(project)


def test_missingness_and_ranges(built):
    _, master = built
    table = missingness(master).set_index(["trial", "variable"])
    raw = alpha_frame()
    smoker = table.loc[("alpha", "smoker")]
    assert smoker["missing"] == int((raw["smoke"] == 9).sum())
    assert smoker["pct_missing"] == pytest.approx(100 * (raw["smoke"] == 9).mean())
    age = table.loc[("alpha", "age")]
    assert (age["min"], age["max"]) == (raw["age"].min(), raw["age"].max())
    assert table.loc[("gamma", "bmi"), "pct_missing"] == 100.0
    assert table.loc[("beta", "pain0"), "missing"] == 0


def test_replication_matches_and_discrepancies(built):
    project, _ = built
    report = check(project)
    rep = report.replication
    assert list(rep["status"]) == ["match", "match", "discrepancy"]
    raw = alpha_frame()
    pain = rep.iloc[2]
    assert pain["computed"] == pytest.approx(raw.loc[raw["group"] == 2, "vas0"].mean())
    assert pain["difference"] == pytest.approx(pain["computed"] - 99.0)
    assert len(report.discrepancies) == 1
    assert "2 match, 1 discrepancy" in report.summary()


def test_each_statistic(built):
    project, master = built
    spec = load_trial_spec(project.parent / "trials" / "alpha.toml")
    raw = alpha_frame()
    ex = raw["group"] == 1
    checks = [
        Check(statistic="n", value=12),
        Check(statistic="n", variable="smoker", value=float((raw["smoke"] != 9).sum())),
        Check(statistic="sd", variable="age", arm=1, value=raw.loc[ex, "age"].std(), tolerance=1e-9),
        Check(statistic="median", variable="age", value=raw["age"].median()),
        Check(statistic="percent", variable="female", value=100 * (raw["sex"] == 2).mean()),
        Check(statistic="mean", outcome="function", time=13, value=100 * raw["rmdq13"].mean() / 24,
              tolerance=1e-9),
        Check(statistic="mean", outcome="function", time=13, scale="native",
              value=raw["rmdq13"].mean(), tolerance=1e-9),
        Check(statistic="mean", variable="education", value=1.0),
    ]  # fmt: skip
    spec2 = spec.model_copy(update={"published": spec.published.model_copy(
        update={"checks": tuple(checks)})})  # fmt: skip
    rep = replicate(master, [spec2])
    assert list(rep["status"][:-1]) == ["match"] * 7
    assert rep["status"].iloc[-1] == "not computable"
    assert np.isnan(rep["computed"].iloc[-1])


def test_check_without_master(tmp_path):
    project = make_project(tmp_path)
    with pytest.raises(DataFileError, match="run `ipdma ingest"):
        check(project)


def test_effect_estimates_match_t_test_and_lm() -> None:
    """Student / Welch t-tests and ANCOVA against R t.test and lm (checks_effects.R)."""
    import json
    from pathlib import Path

    import pandas as pd
    from tests.tolerances import META_RTOL

    from ipdma.checks._effects import effect_estimate

    ref_dir = Path(__file__).parents[1] / "reference"
    data = pd.read_csv(ref_dir / "checks_effects.csv")
    expected = json.loads((ref_dir / "checks_effects.json").read_text())
    treat, base = data.treat.to_numpy(float), data.base.to_numpy(float)
    for key, ref in expected.items():
        analysis, scale = key.split("_")
        md, se = effect_estimate(treat, data[scale].to_numpy(float), base, analysis)
        assert md == pytest.approx(ref["md"], rel=META_RTOL)
        assert se == pytest.approx(ref["se"], rel=META_RTOL)


def test_published_effects_are_replicated(built):
    from scipy import stats

    from ipdma.spec import Effect

    project, master = built
    spec = load_trial_spec(project.parent / "trials" / "alpha.toml")
    out = master.outcomes
    sel = out[(out.trial == "alpha") & (out.outcome == "function") & (out.time_weeks > 0)]
    weeks = float(sel.time_weeks.iloc[0])
    frame = master.participants.merge(sel[sel.time_weeks == weeks][["pid", "value"]], on="pid")
    frame = frame[frame.value.notna()]
    ex, co = frame.value[frame.treat == 1], frame.value[frame.treat == 0]
    welch = stats.ttest_ind(ex, co, equal_var=False)
    md = float(ex.mean() - co.mean())
    se = abs(md / float(welch.statistic))
    effects = (
        Effect(outcome="function", md=round(md, 1), se=round(se, 2), time_weeks=weeks,
               analysis="welch"),
        Effect(outcome="function", md=round(md, 1) + 3, se=round(se, 2), time_weeks=weeks,
               analysis="welch", tolerance=0.5),
        Effect(outcome="function", md=1.0, se=1.0, time_weeks=99.0, analysis="ttest"),
        Effect(outcome="function", md=1.0, se=1.0, time_weeks=weeks),  # no analysis declared
    )  # fmt: skip
    spec2 = spec.model_copy(update={"published": spec.published.model_copy(
        update={"checks": (), "effects": effects})})  # fmt: skip
    rep = replicate(master, [spec2])
    assert list(rep.statistic) == ["effect md", "effect se"] * 3
    assert list(rep.status) == ["match", "match", "discrepancy", "match"] + ["not computable"] * 2
    assert rep.difference.iloc[2] == pytest.approx(rep.computed.iloc[2] - (round(md, 1) + 3))
    assert rep.tolerance.iloc[2] == 0.5 and "(welch, followup)" in rep.target.iloc[0]
