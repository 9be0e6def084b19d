"""The paper's 19 candidate treatment-effect modifiers, with their types and subgroup categories.

Hayden et al. (2020), Methods "IPD Syntheses": age, sex, level of education, current smoker,
physical activity, body mass index, history of low back pain, work status, past 12-month sick
leave, heavy physical demands at work, general health, general mental health, fear avoidance
beliefs, social support, low back pain duration, baseline pain and functional limitations, leg
pain symptoms and medication use for low back pain. Order, labels and reference levels follow
Tables 4-6 (binary: absent/'no' is the reference and the row is the 'yes' level; sex: male is
the reference). Subgroup categories use clinical cut-points where the paper gives them (BMI
< 18.5 / 18.5-25 / 25-30 / >= 30; age < 35 / 35-65 / >= 65) and the observed median otherwise.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DEFAULT_MODIFIERS", "PAPER_MODIFIER_ORDER"]

# name -> settings of ModifierSpec (see ._plan); labels follow Tables 4-6.
DEFAULT_MODIFIERS: dict[str, dict[str, Any]] = {
    "age": {"type": "continuous", "label": "Age (years)", "cutpoints": (35.0, 65.0)},
    "female": {"type": "binary", "label": "Sex", "levels": ("Male", "Female")},
    "education": {
        "type": "binary",
        "label": "High school education",
        "levels": ("High school or less", "Beyond high school"),
    },
    "smoker": {"type": "binary", "label": "Current smoker"},
    "physically_active": {"type": "binary", "label": "Regular physical activity"},
    "bmi": {"type": "continuous", "label": "BMI", "cutpoints": (18.5, 25.0, 30.0)},
    "lbp_history": {"type": "binary", "label": "History of LBP"},
    "sick_leave": {"type": "binary", "label": "Sick leave (past 12 months)"},
    "employed": {
        "type": "binary",
        "label": "Work status",
        "levels": ("Unemployed", "Employed"),
    },
    "heavy_demands": {"type": "binary", "label": "Heavy physical demands"},
    "general_health": {"type": "continuous", "label": "General health (0-100)"},
    "mental_health": {"type": "continuous", "label": "Mental health (0-100)"},
    "fear_avoidance": {"type": "continuous", "label": "Fear avoidance beliefs (0-100)"},
    "social_support": {"type": "binary", "label": "Social support"},
    "episode_months": {"type": "continuous", "label": "Episode duration (months)"},
    "function0": {"type": "continuous", "label": "Functional limitations (0-100)"},
    "pain0": {"type": "continuous", "label": "Pain intensity (0-100)"},
    "leg_pain": {"type": "binary", "label": "Any leg pain"},
    "medication": {"type": "binary", "label": "Any LBP medication use"},
}

PAPER_MODIFIER_ORDER: tuple[str, ...] = tuple(DEFAULT_MODIFIERS)
