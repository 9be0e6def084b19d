"""Trial spec and project file schema: the documented example, and each kind of bad spec."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from ipdma.errors import SpecError
from ipdma.spec import Project, TrialSpec, load_project, load_trial_spec

DOC = Path(__file__).resolve().parents[2] / "docs" / "spec.md"

MINIMAL = """
[trial]
id = "t1"
label = "Trial, 2001"
year = 2001
country = "Canada"
population = "primary care"

[source]
file = "t1.csv"
id = "pid"
arm = "group"

[[arms]]
code = 1
name = "Exercise"
category = "exercise"
type = "aerobic"
design = "standardized"
delivery = "group"

[[arms]]
code = 2
name = "Usual care"
category = "usual care"
type = "usual care"
"""


def _doc_blocks() -> list[str]:
    return re.findall(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_documented_examples_are_valid():
    blocks = _doc_blocks()
    assert len(blocks) == 3
    wide = TrialSpec.model_validate(tomllib.loads(blocks[0]))
    assert wide.source.layout == "wide"
    assert wide.variables["bmi"].weight.unit == "lb"
    assert wide.outcomes["pain"].columns["13"] == "pain_3m"
    assert len(wide.published.checks) == 4
    long = TrialSpec.model_validate(tomllib.loads(blocks[1]))
    assert long.source.time == "visit_month"
    project = Project.model_validate(tomllib.loads(blocks[2]))
    assert project.settings.windows["short"].target == 13
    assert project.not_included[0].effects[0].md == -8.5


def _write(tmp_path: Path, text: str, name: str = "t1.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_spec_loads_and_resolves_paths(tmp_path):
    spec = load_trial_spec(_write(tmp_path, MINIMAL))
    assert spec.id == "t1"
    assert spec.data_path == (tmp_path / "t1.csv").resolve()
    assert spec.arm_for(1.0).name == "Exercise"
    assert spec.arm_for("2").category == "usual care"
    assert spec.arm_for(3) is None
    with pytest.raises(Exception, match="frozen"):
        spec.trial.year = 2002


def test_unknown_key_suggests_nearest(tmp_path):
    path = _write(tmp_path, MINIMAL.replace('country = "Canada"', 'countyr = "Canada"'))
    with pytest.raises(SpecError) as info:
        load_trial_spec(path)
    text = str(info.value)
    assert "unknown key 'trial.countyr'" in text
    assert "did you mean 'country'" in text
    assert str(path) in text


def test_unknown_key_in_list_item(tmp_path):
    path = _write(tmp_path, MINIMAL.replace('type = "usual care"', 'typ = "usual care"'))
    with pytest.raises(SpecError, match=r"(?s)arms\[1\]\.typ.*did you mean 'type'"):
        load_trial_spec(path)


def test_bad_category_names_key(tmp_path):
    path = _write(tmp_path, MINIMAL.replace('category = "usual care"', 'category = "usual"'))
    with pytest.raises(SpecError, match=r"(?s)arms\[1\]\.category"):
        load_trial_spec(path)


def test_exercise_arm_needs_design(tmp_path):
    path = _write(tmp_path, MINIMAL.replace('design = "standardized"\n', ""))
    with pytest.raises(SpecError, match="design"):
        load_trial_spec(path)


def test_missing_required_key(tmp_path):
    path = _write(tmp_path, MINIMAL.replace('id = "pid"\n', ""))
    with pytest.raises(SpecError, match=r"required key 'source\.id' is missing"):
        load_trial_spec(path)


def test_duplicate_arm_codes(tmp_path):
    path = _write(tmp_path, MINIMAL.replace("code = 2", 'code = "1"'))
    with pytest.raises(SpecError, match="more than once"):
        load_trial_spec(path)


def test_toml_syntax_error(tmp_path):
    path = _write(tmp_path, MINIMAL + "\n[variables.age\n")
    with pytest.raises(SpecError, match="not valid TOML"):
        load_trial_spec(path)


def test_missing_spec_file(tmp_path):
    with pytest.raises(SpecError, match="does not exist"):
        load_trial_spec(tmp_path / "nope.toml")


def test_variable_needs_one_source(tmp_path):
    text = MINIMAL + '\n[variables.age]\ncolumn = "age"\ncolumns = ["a", "b"]\ncombine = "sum"\n'
    with pytest.raises(SpecError, match="exactly one of"):
        load_trial_spec(_write(tmp_path, text))


def test_project_defaults_and_paths(tmp_path):
    text = 'trials = ["trials/a.toml"]\n[analysis]\nprimary_window = "long"\n'
    path = _write(tmp_path, text, "project.toml")
    project = load_project(path)
    assert project.settings.windows["long"].target == 52
    assert project.settings.recovery.relative == 0.30
    assert project.trial_paths == ((tmp_path / "trials" / "a.toml").resolve(),)
    assert project.analysis.primary_window == "long"
    assert project.analysis.outcomes == ("pain", "function", "recovery")  # the paper's default
    assert project.output_dir == (tmp_path / "output").resolve()


def test_project_unknown_settings_key(tmp_path):
    text = 'trials = ["a.toml"]\n[settings]\ntie = "later"\n'
    with pytest.raises(SpecError, match=r"(?s)settings\.tie.*did you mean 'ties'"):
        load_project(_write(tmp_path, text, "project.toml"))


def test_single_missing_code_is_a_list(tmp_path):
    text = MINIMAL.replace('arm = "group"', 'arm = "group"\nmissing = -9\nkeep = "centre"')
    spec = load_trial_spec(_write(tmp_path, text))
    assert spec.source.missing == (-9,)
    assert spec.source.keep == ("centre",)


def test_bad_option_value_suggests_nearest(tmp_path):
    path = _write(tmp_path, MINIMAL.replace('"primary care"', '"primary"'))
    with pytest.raises(SpecError) as info:
        load_trial_spec(path)
    text = str(info.value)
    assert "invalid value for 'trial.population'" in text
    assert "did you mean 'primary care'?" in text and "value 'primary'" in text


def test_bad_outcome_name_suggests_nearest(tmp_path):
    text = MINIMAL + '\n[outcomes.pian]\ninstrument = "nrs_0_10"\ncolumns = { 0 = "p0" }\n'
    with pytest.raises(SpecError, match=r"(?s)unknown name 'pian' under 'outcomes'.*'pain'\?"):
        load_trial_spec(_write(tmp_path, text))


def test_project_unknown_analysis_key_names_the_nearest(tmp_path):
    text = 'trials = ["a.toml"]\n[analysis]\nprimary_windw = "long"\n'
    with pytest.raises(SpecError, match=r"unknown key 'analysis\.primary_windw'") as info:
        load_project(_write(tmp_path, text, "project.toml"))
    assert "did you mean 'primary_window'" in str(info.value)
    assert info.value.file == str((tmp_path / "project.toml").resolve())


def test_project_unknown_nested_analysis_key(tmp_path):
    text = 'trials = ["a.toml"]\n[analysis.model]\nresidul = "stratified"\n'
    with pytest.raises(SpecError, match=r"(?s)analysis\.model\.residul.*did you mean 'residual'"):
        load_project(_write(tmp_path, text, "project.toml"))


def test_project_unknown_modifier_caught_at_load(tmp_path):
    text = 'trials = ["a.toml"]\n[analysis]\nmodifiers = ["age", "smoking"]\n'
    with pytest.raises(SpecError, match=r"(?s)'smoking'.*not a harmonized variable") as info:
        load_project(_write(tmp_path, text, "project.toml"))
    assert "did you mean 'smoker'" in str(info.value)
    text = 'trials = ["a.toml"]\n[analysis]\nadjust_for = ["age", "sex"]\n'
    with pytest.raises(SpecError, match=r"analysis\.adjust_for names 'sex'"):
        load_project(_write(tmp_path, text, "project.toml"))


def test_project_modifier_from_project_variables(tmp_path):
    text = (
        'trials = ["a.toml"]\n[variables.sleep]\nlabel = "Sleep quality"\nkind = "continuous"\n'
        '[analysis]\nmodifiers = ["age", "sleep"]\n'
    )
    project = load_project(_write(tmp_path, text, "project.toml"))
    assert project.analysis.modifiers == ("age", "sleep")
