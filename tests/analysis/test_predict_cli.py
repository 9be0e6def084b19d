"""ipdma predict PROJECT patients.csv on a simulated, ingested consortium."""

from pathlib import Path

import pandas as pd
import pytest

import ipdma
from ipdma.analysis import fit_effect_model, predict_effect
from ipdma.cli import main
from ipdma.store import analysis_frame, ingest, load

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::ipdma.errors.IpdmaWarning"),
]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("consortium")
    ipdma.simulate.consortium(folder, seed=11)
    path = folder / "project.toml"
    ingest(path)
    return path


def test_predict_writes_the_library_predictions(project, tmp_path, capsys):
    patients = tmp_path / "patients.csv"
    pd.DataFrame({"age": [30, 60], "medication": [0, 1]}).to_csv(patients, index=False)
    target = tmp_path / "predictions.csv"
    args = ["predict", str(project), str(patients), "-m", "age", "-m", "medication"]
    assert main([*args, "-o", str(target)]) == 0
    assert "pi_low" in capsys.readouterr().out
    written = pd.read_csv(target)
    frame = analysis_frame(load(project), window="short")
    model = fit_effect_model(frame, ["age", "medication"], outcome="pain", baseline="pain0")
    expected = predict_effect(model, pd.DataFrame({"age": [30, 60], "medication": [0, 1]}))
    pd.testing.assert_series_equal(written["estimate"], expected["estimate"].round(2),
                                   check_names=False)  # fmt: skip
    assert (written["pi_high"] - written["pi_low"] >= written["ci_high"] - written["ci_low"]).all()


def test_predict_user_errors_exit_1(project, tmp_path, capsys):
    patients = tmp_path / "patients.csv"
    pd.DataFrame({"age": [30]}).to_csv(patients, index=False)
    assert main(["predict", str(project), str(patients), "-m", "age", "-m", "medication"]) == 1
    assert "medication" in capsys.readouterr().err
    assert main(["predict", str(project), str(patients), "-m", "agee"]) == 1
    assert main(["predict", str(project), str(tmp_path / "none.csv"), "-m", "age"]) == 1
    assert (
        main(["predict", str(project), str(patients), "-m", "age", "--outcome", "stiffness"]) == 1
    )


def test_predict_recovery_gives_odds_ratios_and_risk_differences(project, tmp_path, capsys):
    """Global recovery: the logistic effect model's odds ratio and, with the baseline
    function0 in the profiles, the risks and risk difference (the library's values)."""
    patients = tmp_path / "recovery.csv"
    profiles = pd.DataFrame({"age": [30, 60], "function0": [40, 60]})
    profiles.to_csv(patients, index=False)
    target = tmp_path / "recovery_predictions.csv"
    args = ["predict", str(project), str(patients), "-m", "age", "--outcome", "recovery"]
    assert main([*args, "-o", str(target)]) == 0
    assert "odds_ratio" in capsys.readouterr().out
    written = pd.read_csv(target)
    frame = analysis_frame(load(project), window="short")
    model = fit_effect_model(frame, ["age"], outcome="recovery", baseline="function0",
                             family="binomial")  # fmt: skip
    expected = predict_effect(model, profiles)
    pd.testing.assert_series_equal(written["odds_ratio"], expected["odds_ratio"].round(3),
                                   check_names=False)  # fmt: skip
    pd.testing.assert_series_equal(written["risk_difference"],
                                   expected["risk_difference"].round(3), check_names=False)  # fmt: skip
    assert (written["or_pi_low"] <= written["or_ci_low"]).all()


def test_predict_non_numeric_profile_value_exit_1(project, tmp_path, capsys):
    patients = tmp_path / "bad.csv"
    pd.DataFrame({"age": ["30", "old"]}).to_csv(patients, index=False)
    assert main(["predict", str(project), str(patients), "-m", "age"]) == 1
    assert "'old' is not a number" in capsys.readouterr().err
