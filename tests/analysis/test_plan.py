import json

import pytest

from ipdma.analysis import AnalysisPlan, build_grid, plan_from_dict
from ipdma.errors import SpecError

PAPER_19 = {
    "age", "female", "education", "smoker", "physically_active", "bmi", "lbp_history",
    "employed", "sick_leave", "heavy_demands", "general_health", "mental_health",
    "fear_avoidance", "social_support", "episode_months", "pain0", "function0", "leg_pain",
    "medication",
}  # fmt: skip


def test_defaults_are_the_papers_choices():
    plan = plan_from_dict({})
    assert set(plan.modifiers) == PAPER_19 and len(plan.modifiers) == 19
    assert plan.outcomes == ("pain", "function", "recovery")
    assert plan.windows == ("short", "moderate", "long") and plan.primary_window == "short"
    assert plan.comparisons == ("any", "usual", "conservative")
    assert plan.adjust_for == ("age", "female")
    assert plan.importance.swe_fraction == 0.20 and plan.importance.odds_ratio == 2.0
    assert plan.model.reml and plan.model.df_method == "satterthwaite"
    assert plan.model.random == ("treatment", "baseline")
    # global recovery: the paper's structure (random treatment and baseline effects), AGHQ(7)
    assert plan.model.random_binomial == ("treatment", "baseline") and plan.model.nagq == 7
    assert plan.model.treatment_coding == "01"
    assert plan.modifier_spec("bmi").cutpoints == (18.5, 25.0, 30.0)
    assert plan.modifier_spec("age").cutpoints == (35.0, 65.0)
    assert plan.modifier_spec("female").levels == ("Male", "Female")
    assert plan.modifier_spec("fear_avoidance").cutpoints is None  # median split


def test_unknown_key_names_the_nearest_one():
    with pytest.raises(SpecError, match=r"unknown key 'analysis\.modifers'") as info:
        plan_from_dict({"modifers": ["age"]})
    assert "did you mean 'modifiers'" in str(info.value)


def test_unknown_nested_key_names_the_nearest_one():
    with pytest.raises(SpecError, match=r"analysis\.model\.residul") as info:
        plan_from_dict({"model": {"residul": "stratified"}})
    assert "'residual'" in str(info.value)
    with pytest.raises(SpecError, match="cutpoint") as info:
        plan_from_dict({"modifier": {"bmi": {"cutpoint": [20]}}})
    assert "'cutpoints'" in str(info.value)


def test_invalid_values_are_spec_errors():
    with pytest.raises(SpecError, match=r"analysis\.model\.residual"):
        plan_from_dict({"model": {"residual": "per-trial"}})
    with pytest.raises(SpecError, match="primary_window"):
        plan_from_dict({"windows": ["long"]})
    with pytest.raises(SpecError, match="strictly increasing"):
        plan_from_dict({"modifier": {"bmi": {"cutpoints": [30, 25]}}})
    with pytest.raises(SpecError, match=r"not in analysis\.modifiers"):
        plan_from_dict({"modifiers": ["age"], "modifier": {"bmi": {"cutpoints": [25]}}})


def test_overrides_merge_over_defaults_and_are_recorded():
    plan = plan_from_dict({"modifier": {"bmi": {"cutpoints": [25]}}, "model": {"nagq": 9}})
    spec = plan.modifier_spec("bmi")
    assert spec.cutpoints == (25.0,) and spec.label == "BMI" and spec.type == "continuous"
    record = json.loads(plan.record())
    assert record["model"]["nagq"] == 9
    assert record["modifier"]["bmi"]["cutpoints"] == [25.0]
    assert AnalysisPlan.model_validate(record) == plan


def test_plan_is_frozen():
    plan = AnalysisPlan()
    with pytest.raises(Exception, match="frozen"):
        plan.level = 0.9


def test_grid_size():
    plan = AnalysisPlan()
    grid = build_grid(plan)
    per_cell = 1 + 19 * 2 + 19
    assert len(grid) == 3 * 3 * 3 * per_cell
    assert len({spec.id for spec in grid}) == len(grid)
    assert len(build_grid(plan, windows=("short",))) == 3 * 3 * per_cell
