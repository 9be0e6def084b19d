"""consortium(): native files, specs and truth on disk; ingest reproduces the simulation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

import ipdma
from ipdma.cli import main
from ipdma.simulate import consortium, harmonized_ipd
from ipdma.spec import load_project, load_trial_spec
from ipdma.store import analysis_frame, ingest

from .test_harmonized import LONG, MODERATE, TABLE1_SIZES, TABLE3_MISSING

SEED = 3


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sim")
    assert main(["--quiet", "simulate", str(root / "cli"), "--seed", str(SEED)]) == 0
    return root / "cli"


@pytest.fixture(scope="module")
def master(written):
    ingest(written / "project.toml")
    return ipdma.load(written / "project.toml")


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "output" not in p.parts
    }


def test_same_seed_writes_byte_identical_files(written, tmp_path):
    again = consortium(tmp_path / "api", seed=SEED)
    first, second = _files(written), _files(again.outdir)
    assert sorted(first) == sorted(second)
    assert len([f for f in first if f.startswith("data/")]) == 27
    different = [name for name in first if first[name] != second[name]]
    assert different == []


def test_every_native_format_is_there_and_readable(written):
    data = written / "data"
    suffixes = {p.suffix for p in data.iterdir()}
    assert suffixes == {".sav", ".dta", ".xpt", ".csv", ".xlsx"}
    frame, meta = pyreadstat.read_sav(data / "albaladejo2010.sav")
    assert len(frame) == 264
    assert meta.variable_value_labels  # arms and codes carry value labels
    frame, meta = pyreadstat.read_dta(data / "costa2009.dta")
    assert len(frame) == 154 and meta.variable_value_labels
    frame, _ = pyreadstat.read_xport(data / "kuukkanen2000.xpt")
    assert len(frame) == 60 and all(len(c) <= 8 for c in frame.columns)
    excel = pd.read_excel(data / "ryan2010.xlsx", sheet_name=None)
    assert set(excel) == {"data", "codebook"} and len(excel["data"]) == 38


def test_text_files_use_their_declared_dialects(written):
    data = written / "data"
    raw = (data / "unsgaardtondel2010.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert "kjønn" in raw.decode("latin-1")
    semicolon = pd.read_csv(data / "helmhout2004.csv", sep=";", decimal=",")
    assert len(semicolon) == 81
    assert (data / "helmhout2004.csv").read_text().count(";") > 81
    long = pd.read_csv(data / "chan2011.csv")
    assert long.groupby(long.columns[0]).size().max() > 1  # one row per participant-visit


def test_specs_and_project_validate(written):
    project = load_project(written / "project.toml")
    assert len(project.trials) == 27 and len(project.not_included) == 29
    assert project.settings.windows["short"].target == 13
    for path in project.trial_paths:
        spec = load_trial_spec(path)
        assert spec.data_path.is_file()


def test_ingest_reproduces_harmonized_ipd_exactly(master):
    for window in ("short", "moderate", "long"):
        ingested = analysis_frame(master, window=window).set_index(["trial", "pid"]).sort_index()
        direct = harmonized_ipd(seed=SEED, window=window).set_index(["trial", "pid"]).sort_index()
        assert ingested.index.equals(direct.index)
        for column in direct.columns:
            if column in ("arm_code", "comparison"):
                left = ingested[column].astype(object).where(ingested[column].notna(), "-")
                right = direct[column].astype(object).where(direct[column].notna(), "-")
                assert (left.astype(str) == right.astype(str)).all(), (window, column)
            else:
                np.testing.assert_allclose(
                    ingested[column].to_numpy(float), direct[column].to_numpy(float),
                    rtol=0, atol=1e-9, err_msg=f"{window} {column}",
                )  # fmt: skip


def test_master_reproduces_tables_1_and_3(master):
    trials = master.trials.set_index("trial")
    included = trials[trials["included"]]
    assert included["n_participants"].to_dict() == TABLE1_SIZES
    assert int((~trials["included"]).sum()) == 29
    windows = master.windows
    for window, present in (("moderate", MODERATE), ("long", LONG)):
        chosen = windows[(windows["window"] == window) & windows["time_weeks"].notna()]
        assert set(chosen["trial"]) == present, window
    participants = master.participants
    for variable, percent in TABLE3_MISSING.items():
        observed = participants[variable].isna().mean() * 100
        assert abs(observed - percent) < 3.0, variable


def test_check_finds_exactly_the_planted_discrepancies(written, master):
    from ipdma.checks import check

    report = check(written / "project.toml")
    flagged = report.replication[report.replication["status"] == "discrepancy"]
    truth = json.loads((written / "truth.json").read_text())
    assert sorted(flagged["trial"]) == sorted(d["trial"] for d in truth["discrepancies"])
    assert sorted(zip(flagged["trial"], flagged["statistic"], strict=True)) == sorted(
        (d["trial"], d["statistic"]) for d in truth["discrepancies"]
    )
    assert (report.replication["status"] == "match").sum() > 150
    # published between-arm effects are replicated as each publication analysed them
    effects = report.replication[report.replication["statistic"].str.startswith("effect")]
    assert len(effects) >= 40 and (effects["status"] != "not computable").all()
    for analysis in ("ttest", "welch", "ancova"):
        assert effects["target"].str.contains(f"({analysis},", regex=False).any()


def test_truth_records_the_planted_model(written):
    truth = json.loads((written / "truth.json").read_text())
    assert truth["planted"]["pain"]["effect_usual"] == -11.05
    assert truth["planted"]["pain"]["response_sd"] == {"other conservative": 13.0}
    assert truth["planted"]["function"]["interactions"] == {"heavy_demands": 6.0,
                                                             "medication": -4.8}  # fmt: skip
    implied = truth["implied"]
    # the paper: OR 3.8 and 0.9; pain -10.7 / +3.7, function -10.2 / +1.9
    assert 3.3 < implied["or_usual"] < 4.3
    assert 0.8 < implied["or_conservative"] < 1.0
    assert abs(implied["md_pain_usual"] + 10.7) < 0.3
    assert abs(implied["md_function_usual"] + 10.2) < 0.3
    assert abs(implied["md_pain_conservative"] - 3.7) < 0.3
    assert abs(implied["md_function_conservative"] - 1.9) < 0.3
    assert len(truth["trials"]) == 27
    assert {"intercept", "baseline", "treatment", "sigma"} <= set(
        truth["trials"][0]["effects"]["pain"]
    )


def test_identifiers_in_raw_files_are_left_out(written, master):
    excel = pd.read_excel(written / "data" / "ryan2010.xlsx", sheet_name="data")
    assert "initials" in excel.columns
    assert "initials" not in master.participants.columns
    assert "birth_date" not in master.participants.columns


def test_not_included_trials_follow_table2(written):
    from collections import Counter

    project = load_project(written / "project.toml")
    trials = project.not_included
    assert len(trials) == 29
    exercise = [a for t in trials for a in t.arms if a.category == "exercise"]
    comparison = [a for t in trials for a in t.arms if a.category != "exercise"]
    per_trial = Counter(sum(a.category == "exercise" for a in t.arms) for t in trials)
    assert per_trial == {1: 11, 2: 15, 3: 3}
    assert Counter(a.design for a in exercise) == {"individualized": 6,
        "partially individualized": 18, "standardized": 26}  # fmt: skip
    assert Counter(a.type for a in exercise)["yoga"] == 5
    assert len(comparison) == 17
    assert Counter(t.population for t in trials)["occupational"] == 2
    pain = [e.md for t in trials for e in t.effects if e.outcome == "pain"]
    assert len(pain) == 16 and -20 < np.mean(pain) < 0
