"""Drafting on hand-made raw files whose names are not the simulator's."""

from __future__ import annotations

import tomllib

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from ipdma.draft import draft_toml, draft_trial, is_todo
from ipdma.draft._visits import parse_visit, unit_of_numbers, visit_from_label
from ipdma.draft._vocabulary import match, tokens

N = 60


def _frame(rng) -> pd.DataFrame:
    arm = np.repeat([1.0, 2.0], N // 2)
    return pd.DataFrame({
        "deelnemer_nr": np.arange(101, 101 + N),
        "randomisatie": arm,
        "leeftijd": rng.integers(20, 70, N).astype(float),
        "geslacht": rng.choice([1.0, 2.0], N),
        "roker": rng.choice([0.0, 1.0], N),
        "ziekteverzuim_dagen": np.where(rng.random(N) < 0.5, 0.0, rng.integers(1, 90, N)),
        "email": [f"p{i}@example.nl" for i in range(N)],
        "pijn_nrs_bl": rng.integers(0, 11, N).astype(float),
        "pijn_nrs_6wk": rng.integers(0, 11, N).astype(float),
        "pijn_nrs_3mnd": rng.integers(0, 11, N).astype(float),
        "rdq_bl": rng.integers(0, 25, N).astype(float),
        "rdq_6wk": rng.integers(0, 25, N).astype(float),
        "rdq_3mnd": rng.integers(0, 25, N).astype(float),
    })  # fmt: skip


@pytest.fixture
def dutch_sav(tmp_path):
    rng = np.random.default_rng(1)
    frame = _frame(rng)
    frame.loc[3, "roker"] = 9.0  # labelled 'onbekend': a missing code
    path = tmp_path / "data" / "jansen2015.sav"
    path.parent.mkdir()
    labels = {"randomisatie": {1.0: "oefentherapie", 2.0: "gebruikelijke zorg"},
              "geslacht": {1.0: "man", 2.0: "vrouw"},
              "roker": {0.0: "nee", 1.0: "ja", 9.0: "onbekend"}}  # fmt: skip
    pyreadstat.write_sav(frame, path, variable_value_labels=labels,
                         column_labels={"ziekteverzuim_dagen": "Ziekteverzuim (dagen)"})  # fmt: skip
    return path


def test_dutch_spss_file(dutch_sav, tmp_path):
    draft = draft_trial(dutch_sav, spec_dir=tmp_path / "trials")
    spec = draft.to_dict()
    assert spec["source"]["id"] == "deelnemer_nr" and spec["source"]["arm"] == "randomisatie"
    assert spec["source"]["layout"] == "wide"
    assert [a["code"] for a in spec["arms"]] == [1, 2]
    assert spec["arms"][0]["name"] == "oefentherapie" and spec["arms"][0]["category"] == "exercise"
    assert spec["arms"][1]["category"] == "usual care"
    variables = spec["variables"]
    assert variables["age"] == {"column": "leeftijd"}
    assert variables["female"] == {"column": "geslacht", "codes": {"man": 0, "vrouw": 1}}
    assert variables["smoker"]["codes"] == {"nee": 0, "ja": 1}
    assert variables["smoker"]["missing"] == [9]
    assert variables["sick_leave"] == {"column": "ziekteverzuim_dagen", "cutoff": 1}
    pain = spec["outcomes"]["pain"]
    assert pain["instrument"] == "nrs_0_10"
    assert pain["columns"] == {"0": "pijn_nrs_bl", "6": "pijn_nrs_6wk", "13.04": "pijn_nrs_3mnd"}
    assert spec["outcomes"]["function"]["instrument"].startswith("rmdq_24")
    # the first name is an identifier: never the id, never kept
    assert "email" in draft.identifiers and "email" not in spec["source"]["keep"]
    # the text is valid TOML with a comment on every setting
    text = draft_toml(draft)
    parsed = tomllib.loads(text)
    assert parsed["source"]["id"] == "deelnemer_nr"
    assert "# high:" in text and "TODO" in text


def test_every_guess_has_evidence_and_confidence(dutch_sav, tmp_path):
    draft = draft_trial(dutch_sav, spec_dir=tmp_path)
    for field in draft.fields:
        assert field.evidence, field.key
        assert (field.confidence is None) == field.todo, field.key
    assert {f.key for f in draft.todos} >= {"trial.country", "trial.population"}


def test_semicolon_csv_with_decimal_comma_and_sentinels(tmp_path):
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({
        "ID": np.arange(1, N + 1),
        "Gruppe": rng.choice(["Training", "Warteliste"], N),
        "Alter": rng.integers(25, 65, N),
        "Geschlecht": rng.choice(["m", "w"], N),
        "Gewicht": rng.normal(80, 10, N).round(1),
        "Groesse": rng.normal(1.74, 0.08, N).round(2),
        "Schmerz_T0": rng.normal(50, 15, N).clip(0, 100).round(1),
        "Schmerz_T1": rng.normal(40, 15, N).clip(0, 100).round(1),
    })  # fmt: skip
    frame.loc[[2, 5], "Alter"] = -9
    frame.loc[[4], "Gewicht"] = -9
    path = tmp_path / "mueller2010.csv"
    frame.to_csv(path, sep=";", decimal=",", index=False)
    draft = draft_trial(path, spec_dir=tmp_path)
    spec = draft.to_dict()
    assert spec["source"]["delimiter"] == ";" and spec["source"]["decimal"] == ","
    assert spec["source"]["missing"] == [-9]
    assert spec["variables"]["age"] == {"column": "Alter"}
    assert spec["variables"]["female"]["codes"] == {"m": 0, "w": 1}
    assert spec["variables"]["bmi"]["height"] == {"column": "Groesse", "unit": "m"}
    categories = {a["code"]: a["category"] for a in spec["arms"]}
    assert categories == {"Training": "exercise", "Warteliste": "no treatment"}
    pain = draft.get("outcomes", "pain", "columns")
    assert pain is not None and pain.todo  # T1: a visit number, its time is not in the file
    assert pain.value["0"] == "Schmerz_T0"


def test_long_file(tmp_path):
    rng = np.random.default_rng(3)
    rows = []
    for pid in range(1, 41):
        for month in (0, 3, 6, 12):
            rows.append({"patient_id": f"P{pid:03d}", "arm": "A" if pid % 2 else "B",
                         "maand": month, "odi": float(rng.integers(0, 80)),
                         "age": 40.0 + pid % 20})  # fmt: skip
    path = tmp_path / "long2001.parquet"
    pd.DataFrame(rows).to_parquet(path)
    spec = draft_trial(path, spec_dir=tmp_path).to_dict()
    assert spec["source"]["layout"] == "long"
    assert spec["source"]["id"] == "patient_id" and spec["source"]["time"] == "maand"
    assert spec["source"]["time_unit"] == "months"
    assert spec["outcomes"]["function"] == {"instrument": "odi_percent", "column": "odi"}


def test_undecidable_file_is_todo_not_a_guess(tmp_path):
    frame = pd.DataFrame({"a": np.arange(20.0), "b": np.tile([1.0, 2.0], 10),
                          "c": np.linspace(0, 1, 20)})  # fmt: skip
    path = tmp_path / "x.csv"
    frame.to_csv(path, index=False)
    draft = draft_trial(path, spec_dir=tmp_path)
    assert is_todo(draft.to_dict()["source"]["id"]) and is_todo(draft.to_dict()["source"]["arm"])
    assert "variables" not in draft.to_dict() and "outcomes" not in draft.to_dict()
    tomllib.loads(draft_toml(draft))


@pytest.mark.parametrize(
    ("name", "stem", "number", "unit", "baseline"),
    [("vas_0", "vas", 0, None, True), ("pain_w6", "pain", 6, "weeks", False),
     ("smerte_12mdr", "smerte", 12, "months", False), ("dolor_sem6", "dolor", 6, "weeks", False),
     ("kipu_6vk", "kipu", 6, "weeks", False), ("odi_baseline", "odi", 0, None, True),
     ("VAS26", "vas", 26, None, False), ("rmdq_t2", "rmdq", 2, "visit", False),
     ("schmerz_1y", "schmerz", 1, "years", False)],
)  # fmt: skip
def test_visit_suffixes(name, stem, number, unit, baseline):
    visit = parse_visit(name)
    assert visit is not None
    assert (visit.stem, visit.number, visit.unit, visit.baseline) == (stem, number, unit, baseline)


def test_no_visit_in_plain_names():
    for name in ("age", "sex", "sf36_gh", "kjønn", "bmi"):
        visit = parse_visit(name)
        assert visit is None or visit.stem in ("sf36",), name


def test_bare_numbers_and_labels():
    assert unit_of_numbers([0, 13, 26, 52])[:2] == ("weeks", "medium")
    assert unit_of_numbers([0, 3, 6, 12]) == ("months", "low", unit_of_numbers([0, 3, 6, 12])[2])
    assert visit_from_label("Roland-Morris na 26 weken") == (26.0, "weeks")
    assert visit_from_label("Smärta 6 månader") == (6.0, "months")


def test_multilingual_vocabulary():
    assert tokens("Kjønn_2") == ["kjonn", "2"]
    for concept, name in [("female", "kjønn"), ("female", "sukupuoli"), ("age", "età"),
                          ("smoker", "tupakointi"), ("pain", "rugpijn"), ("pain", "tengtong"),
                          ("function", "Oswestry"), ("arm", "zubie"), ("id", "bianhao"),
                          ("education", "escolaridade"), ("sick_leave", "sjukskrivning")]:  # fmt: skip
        assert match(concept, name) is not None, (concept, name)
    assert match("age", "page") is None  # short words match whole tokens only


@pytest.mark.parametrize("dtype", [object, "string"])
def test_blank_text_cells_are_missing_whatever_the_dtype(tmp_path, dtype):
    sex = pd.Series(["F", "M", "", "F", " "] * 8, dtype=dtype)
    frame = pd.DataFrame({"id": range(40), "group": ["A", "B"] * 20, "sex": sex})
    path = tmp_path / "t2000.parquet"
    frame.to_parquet(path)
    variables = draft_trial(path, spec_dir=tmp_path).to_dict()["variables"]
    assert variables["female"] == {"column": "sex", "codes": {"F": 1, "M": 0}}
