"""The README's examples are real: its TOML validates and its Python runs."""

import re
import tomllib
from pathlib import Path

import pytest

from ipdma.analysis import plan_from_dict
from ipdma.spec import Project, TrialSpec

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_toml_examples_validate():
    project_text, trial_text = _blocks("toml")
    project = tomllib.loads(project_text)
    Project.model_validate(project)
    plan = plan_from_dict(project["analysis"])
    assert "heavy_demands" in [m if isinstance(m, str) else m.name for m in plan.modifiers]
    spec = TrialSpec.model_validate(tomllib.loads(trial_text))
    assert spec.trial.id == "costa2009"
    assert {arm.category for arm in spec.arms} == {"exercise", "placebo"}


@pytest.mark.filterwarnings("ignore::ipdma.errors.IpdmaWarning")
def test_readme_python_example_runs():
    (code,) = _blocks("python")
    code = code.replace(
        "ipdma.meta.pool(yi, vi,", "ipdma.meta.pool([-0.9, -1.6, -0.2], [0.3, 0.2, 0.05],"
    )
    code = code.split("# The harmonized master dataset")[0]  # needs a project on disk
    namespace: dict = {}
    exec(compile(code, str(README), "exec"), namespace)
    fit = namespace["fit"]
    assert fit.converged
    assert "treat" in fit.fixef.index
    assert -15 < fit.fixef["treat"] < -5  # the planted effect vs usual care is about -10
    assert namespace["rec"].tidy(exponentiate=True).set_index("term").loc["treat", "estimate"] > 1
