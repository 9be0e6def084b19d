"""Appendix 1: equations per model kind and the R / Stata code of one model of each kind."""

import pandas as pd

from ipdma.report._appendix1 import appendix1_items

FORMULA = "y ~ 0 + C(trial) + baseline + treat + (0 + treat | trial) + (0 + baseline | trial)"
MODELS = pd.DataFrame(
    {
        "id": ["overall/pain/long/any", "overall/pain/short/any", "overall/recovery/short/any",
               "interaction/pain/short/any/bmi/adjusted"],
        "kind": ["overall", "overall", "overall", "interaction"],
        "outcome": ["pain", "pain", "recovery", "pain"],
        "window": ["long", "short", "short", "short"],
        "comparison": ["any"] * 4,
        "adjusted": [False, False, False, True],
        "formula": [FORMULA, FORMULA, "y ~ 0 + C(trial) + baseline + treat + (0 + treat | trial)",
                    FORMULA.replace("treat +", "treat + modifier + treat_x_modifier +")],
    }
)  # fmt: skip
PLAN = {"primary_window": "short", "primary_comparison": "any",
        "model": {"random": ["treatment", "baseline"], "random_binomial": ["treatment"],
                  "reml": True, "nagq": 7, "residual": "common", "df_method": "satterthwaite"}}  # fmt: skip


def test_appendix1_states_each_kind_and_its_code():
    items = appendix1_items(MODELS, PLAN)
    texts = [i.text for i in items]
    code = [i.text for i in items if i.css == "code"]
    assert len(code) == 3  # overall linear, overall logistic, interaction linear
    assert any(t.startswith("Overall effect, pain and function") and "REML" in t for t in texts)
    assert "overall/pain/short/any" in " ".join(texts)  # the primary window's model
    assert "fit <- lmer(y ~ 0 + factor(trial) + baseline + treat" in code[0]
    assert "mixed y ibn.trial_id baseline treat, noconstant || trial_id: treat baseline" in code[0]
    assert "nAGQ = 7" in code[1] and "melogit y" in code[1] and "intpoints(7)" in code[1]
    assert "treat_x_modifier" in code[2]
    assert any("adaptive Gauss-Hermite quadrature (7 nodes)" in t for t in texts)
    assert appendix1_items(MODELS.drop(columns="formula"), PLAN) == []
