"""The complete examples in docs/spec.md ingest as documented (the doc is a working spec)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from ipdma.checks import check
from ipdma.store import ingest, load

DOC = Path(__file__).resolve().parents[2] / "docs" / "spec.md"
N = 10


def _costa() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({
        "subject": np.arange(1, N + 1, dtype=float), "group": np.tile([1.0, 2.0], N // 2),
        "centre": ["Sydney"] * N, "age": np.linspace(30, 70, N), "sex": np.tile([1.0, 2.0], N // 2),
        "educ": rng.choice([1.0, 2.0, 3.0, 4.0, 9.0], N), "smoke": rng.choice([0.0, 1.0], N),
        "activity_min_week": np.linspace(0, 300, N), "weight_lb": np.full(N, 176.0),
        "height_cm": np.full(N, 180.0), "duration_weeks": np.full(N, 26.0),
        "fabq_pa": np.linspace(0, 24, N), "sickleave_days": [0.0, 3.0] * (N // 2),
        "height_m": np.full(N, 1.8),
        **{f"sf{i}": np.full(N, 3.0) for i in range(1, 6)},
        **{c: rng.integers(0, 11, N).astype(float) for c in ("pain_b", "pain_6w", "pain_3m",
                                                              "pain_12m")},
        **{c: rng.integers(0, 25, N).astype(float) for c in ("rmdq_b", "rmdq_6w", "rmdq_3m",
                                                              "rmdq_12m")},
    })  # fmt: skip
    frame.loc[2, "pain_3m"] = 99.0  # the outcome's missing code
    return frame


def _smeets() -> pd.DataFrame:
    rows = [{"pnr": f"S{i}", "arm": "APT" if i % 2 else "WL", "visit_month": m, "age": 40.5 + i,
             "vas": 50.5 - m, "rdq": 12} for i in range(6) for m in (0, 3, 6, 12)]  # fmt: skip
    return pd.DataFrame(rows)


@pytest.fixture
def documented_project(tmp_path):
    wide, long, project = re.findall(r"```toml\n(.*?)```", DOC.read_text("utf-8"), flags=re.S)
    (tmp_path / "trials").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "trials" / "costa2009.toml").write_text(wide, encoding="utf-8")
    (tmp_path / "trials" / "smeets2006.toml").write_text(long, encoding="utf-8")
    (tmp_path / "project.toml").write_text(project, encoding="utf-8")
    labels = {"sex": {1.0: "male", 2.0: "female"}, "smoke": {0.0: "no", 1.0: "yes"}}
    pyreadstat.write_sav(_costa(), tmp_path / "data" / "costa2009.sav",
                         variable_value_labels=labels)  # fmt: skip
    text = _smeets().to_csv(index=False, sep=";", decimal=",")
    (tmp_path / "data" / "smeets2006.csv").write_bytes(text.encode("latin-1"))
    return tmp_path / "project.toml"


def test_documented_project_ingests(documented_project):
    result = ingest(documented_project)
    assert result.status == "written"
    master = load(documented_project)
    raw = _costa()
    costa = master.participants.query("trial == 'costa2009'").reset_index(drop=True)
    np.testing.assert_allclose(costa["bmi"], 176 * 0.45359237 / 1.8**2)
    np.testing.assert_allclose(costa["fear_avoidance"], 100 * raw["fabq_pa"] / 24)
    np.testing.assert_allclose(costa["general_health"], 50.0)  # sum 15 on 5-25
    np.testing.assert_allclose(costa["physically_active"], (raw["activity_min_week"] >= 150) * 1.0)
    np.testing.assert_allclose(costa["height_cm"], 180.0)
    np.testing.assert_allclose(costa["episode_months"], 26 * 12 / 52.1775)
    expected_education = raw["educ"].map({1.0: 0.0, 2.0: 0.0, 3.0: 1.0, 4.0: 1.0})
    np.testing.assert_array_equal(costa["education"], expected_education)
    np.testing.assert_allclose(costa["smoker"], raw["smoke"])
    assert costa["centre"].eq("Sydney").all()
    smeets = master.participants.query("trial == 'smeets2006'")
    np.testing.assert_allclose(smeets["pain0"], 50.5)
    w = master.windows.set_index(["trial", "outcome", "window"])["time_weeks"]
    assert w[("smeets2006", "pain", "short")] == pytest.approx(13.0444, abs=1e-4)
    assert w[("costa2009", "pain", "short")] == 13
    trials = master.trials.set_index("trial")
    assert not trials.loc["smith2005", "included"]
    assert master.published.set_index("trial").loc["smith2005", "md"] == -8.5


def test_documented_checks_run(documented_project):
    ingest(documented_project)
    report = check(documented_project)
    # 4 published aggregates, then md and se of the published effect (its analysis declared)
    assert len(report.replication) == 6
    assert list(report.replication["statistic"].iloc[4:]) == ["effect md", "effect se"]
    assert set(report.replication["status"]) <= {"match", "discrepancy", "not computable"}
    n_row = report.replication.iloc[0]
    assert n_row["computed"] == N // 2  # arm 1
