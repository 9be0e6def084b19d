"""How each trial records a baseline variable: its column(s), codes, units and spec entry.

Every encoder takes the harmonized values (NaN = missing) and returns an :class:`Encoded`:
the native column(s), value labels (SPSS/Stata), the ``[variables.NAME]`` table of the
trial spec that maps them back, and the harmonized values ingest will compute from the
native ones (e.g. BMI from rounded height and weight). ``variant`` picks one of several
realistic recordings (0/1 or 1/2 codes, yes/no text, minutes per week with a cut-off, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

LB_PER_KG = 1.0 / 0.45359237
WEEKS_PER_MONTH = 52.1775 / 12.0


@dataclass(frozen=True)
class Encoded:
    columns: dict[str, np.ndarray]
    spec: dict
    harmonized: np.ndarray
    labels: dict[str, dict] = field(default_factory=dict)


def _binary(values: np.ndarray, column: str, variant: int, words=("no", "yes")) -> Encoded:
    """A 0/1 variable as 0/1, as 1 = yes / 2 = no (labelled), or as text."""
    missing = np.isnan(values)
    if variant == 0:
        return Encoded({column: values}, {"column": column}, values,
                       {column: {0: words[0], 1: words[1]}})  # fmt: skip
    if variant == 1:
        native = np.where(values == 1, 1.0, 2.0)
        native[missing] = np.nan
        return Encoded({column: native}, {"column": column, "codes": {"1": 1, "2": 0}}, values,
                       {column: {1: words[1], 2: words[0]}})  # fmt: skip
    if variant == 2:  # labelled 1/2 codes, mapped through their value labels
        native = np.where(values == 1, 1.0, 2.0)
        native[missing] = np.nan
        spec = {"column": column, "codes": {words[1]: 1, words[0]: 0}}
        return Encoded({column: native}, spec, values, {column: {1: words[1], 2: words[0]}})
    text = np.where(values == 1, words[1], words[0]).astype(object)
    text[missing] = ""
    return Encoded({column: text}, {"column": column, "codes": {words[1]: 1, words[0]: 0}},
                   values)  # fmt: skip


def _cutoff(values, column, low_draw, high_draw, threshold, rng, decimals=0) -> Encoded:
    """A 0/1 variable recorded as a number; 1 when the number is >= ``threshold``."""
    native = np.where(values == 1, high_draw(len(values)), low_draw(len(values)))
    native = np.round(native, decimals)
    native = np.where(values == 1, np.maximum(native, threshold), np.minimum(native, threshold - 1))
    native[np.isnan(values)] = np.nan
    return Encoded({column: native}, {"column": column, "cutoff": threshold}, values)


def encode(
    name: str, values: np.ndarray, column: str, variant: int, rng: np.random.Generator,
    *, labels_ok: bool, extra: dict | None = None,
) -> Encoded:  # fmt: skip
    """Encode harmonized ``values`` of variable ``name`` into native column(s)."""
    if name in SPECIAL:
        return SPECIAL[name](
            values, column, variant, rng, {**(extra or {}), "labels_ok": labels_ok}
        )
    if variant == 2 and not labels_ok:
        variant = 1
    words = WORDS.get(name, ("no", "yes"))
    return _binary(values, column, variant % 4, words)


def _age(values, column, variant, rng, extra) -> Encoded:
    native = np.floor(values) if variant % 2 == 0 else np.round(values, 1)
    return Encoded({column: native}, {"column": column}, native)


def _female(values, column, variant, rng, extra) -> Encoded:
    missing = np.isnan(values)
    variant %= 4
    if variant == 0:  # 1 = male, 2 = female, labelled
        native = np.where(values == 1, 2.0, 1.0)
        native[missing] = np.nan
        spec = {"column": column, "codes": {"male": 0, "female": 1}}
        if not extra.get("labels_ok", True):
            spec = {"column": column, "codes": {"1": 0, "2": 1}}
        return Encoded({column: native}, spec, values, {column: {1: "male", 2: "female"}})
    if variant == 1:
        text = np.where(values == 1, "F", "M").astype(object)
        text[missing] = ""
        return Encoded({column: text}, {"column": column, "codes": {"M": 0, "F": 1}}, values)
    if variant == 2:  # 0/1 female, labelled
        return Encoded({column: values}, {"column": column}, values,
                       {column: {0: "male", 1: "female"}})  # fmt: skip
    text = np.where(values == 1, "female", "male").astype(object)
    text[missing] = ""
    return Encoded({column: text}, {"column": column, "codes": {"male": 0, "female": 1}}, values)


def _bmi(values, column, variant, rng, extra) -> Encoded:
    """BMI recorded as height and weight (cm or m; kg or lb); ingest derives BMI again."""
    female = extra["female"]
    height_m = np.where(female == 1, 1.65, 1.78) + rng.normal(0.0, 0.07, len(values))
    height_m = np.clip(height_m, 1.40, 2.10)
    weight_kg = values * height_m**2
    names = extra["bmi_columns"]
    if variant % 2 == 0:
        height, h_unit = np.round(height_m * 100.0), "cm"
        h_m = height / 100.0
    else:
        height, h_unit = np.round(height_m, 2), "m"
        h_m = height
    if variant % 3 == 2:
        weight, w_unit = np.round(weight_kg * LB_PER_KG), "lb"
        w_kg = weight / LB_PER_KG
    else:
        weight, w_unit = np.round(weight_kg, 1), "kg"
        w_kg = weight
    missing = np.isnan(values)
    height[missing] = weight[missing] = np.nan
    harmonized = w_kg / h_m**2
    spec = {"derive": "bmi", "weight": {"column": names[1], "unit": w_unit},
            "height": {"column": names[0], "unit": h_unit}}  # fmt: skip
    return Encoded({names[0]: height, names[1]: weight}, spec, harmonized)


def _scale_0_100(values, column, variant, rng, extra, ranges) -> Encoded:
    """A 0-100 score recorded on a native questionnaire range (rescaled by ingest)."""
    low, high, step, reverse = ranges[variant % len(ranges)]
    share = values / 100.0
    native = low + (1.0 - share if reverse else share) * (high - low)
    native = np.clip(np.round(native / step) * step, low, high)
    if (low, high) == (0, 100) and not reverse:
        return Encoded({column: native}, {"column": column}, native)
    back = (native - low) / (high - low)
    harmonized = 100.0 * (1.0 - back if reverse else back)
    spec = {"column": column, "rescale": [low, high]}
    if reverse:
        spec["reverse"] = True
    return Encoded({column: native}, spec, harmonized)


def _general_health(values, column, variant, rng, extra) -> Encoded:
    # SF-36 general health (0-100, steps of 5); a 0-10 rating; EQ VAS (0-100)
    return _scale_0_100(values, column, variant, rng, extra,
                        [(0, 100, 5, False), (0, 10, 1, False), (0, 100, 1, False)])  # fmt: skip


def _mental_health(values, column, variant, rng, extra) -> Encoded:
    # MHI-5 (0-100, steps of 4); MHI-5 raw sum 5-30; SF-12 mental health (0-100)
    return _scale_0_100(values, column, variant, rng, extra,
                        [(0, 100, 4, False), (5, 30, 1, False), (0, 100, 1, False)])  # fmt: skip


def _fear_avoidance(values, column, variant, rng, extra) -> Encoded:
    # FABQ physical activity 0-24; Tampa scale 17-68; FABQ total 0-96
    return _scale_0_100(values, column, variant, rng, extra,
                        [(0, 24, 1, False), (17, 68, 1, False), (0, 96, 1, False)])  # fmt: skip


def _episode(values, column, variant, rng, extra) -> Encoded:
    variant %= 3
    if variant == 0:
        native = np.maximum(np.round(values), 3.0)
        return Encoded({column: native}, {"column": column}, native)
    if variant == 1:
        native = np.round(values * WEEKS_PER_MONTH)
        return Encoded({column: native}, {"column": column, "unit": "weeks"},
                       native / WEEKS_PER_MONTH)  # fmt: skip
    native = np.round(values / 12.0, 1)
    native = np.maximum(native, 0.3)
    return Encoded({column: native}, {"column": column, "unit": "years"}, native * 12.0)


def _education(values, column, variant, rng, extra) -> Encoded:
    variant %= 3
    if variant == 0:  # 1 primary, 2 secondary, 3 vocational / college, 4 university
        native = np.where(values == 1, rng.choice([3.0, 4.0], len(values)),
                          rng.choice([1.0, 2.0], len(values), p=[0.3, 0.7]))  # fmt: skip
        native[np.isnan(values)] = np.nan
        labels = {1: "primary", 2: "secondary", 3: "vocational or college", 4: "university"}
        spec = {"column": column, "codes": {"1": 0, "2": 0, "3": 1, "4": 1}}
        return Encoded({column: native}, spec, values, {column: labels})
    if variant == 1:  # years of schooling, beyond high school = 13 years or more
        return _cutoff(values, column, lambda k: rng.normal(10.5, 1.5, k),
                       lambda k: rng.normal(15.5, 2.0, k), 13, rng)  # fmt: skip
    return _binary(values, column, 0, ("high school or less", "beyond high school"))


def _physically_active(values, column, variant, rng, extra) -> Encoded:
    if variant % 2 == 0:  # minutes of activity per week, active = 150 or more
        return _cutoff(values, column, lambda k: rng.gamma(2.0, 35.0, k),
                       lambda k: 150 + rng.gamma(2.0, 60.0, k), 150, rng)  # fmt: skip
    return _binary(values, column, 1)


def _sick_leave(values, column, variant, rng, extra) -> Encoded:
    if variant % 2 == 0:  # days of sick leave in the past 12 months, any = 1 or more
        return _cutoff(values, column, lambda k: np.zeros(k),
                       lambda k: 1 + rng.gamma(0.8, 30.0, k), 1, rng)  # fmt: skip
    return _binary(values, column, 3)


def _employed(values, column, variant, rng, extra) -> Encoded:
    if variant % 2 == 0:  # 1 employed, 2 unemployed, 3 retired, 4 homemaker/student
        native = np.where(values == 1, 1.0, rng.choice([2.0, 3.0, 4.0], len(values)))
        native[np.isnan(values)] = np.nan
        labels = {1: "employed", 2: "unemployed", 3: "retired", 4: "homemaker or student"}
        spec = {"column": column, "codes": {"1": 1, "2": 0, "3": 0, "4": 0}}
        return Encoded({column: native}, spec, values, {column: labels})
    return _binary(values, column, 0, ("unemployed", "employed"))


def _heavy_demands(values, column, variant, rng, extra) -> Encoded:
    if variant % 2 == 0:  # physical work load 1 sedentary .. 4 heavy
        native = np.where(values == 1, 4.0, rng.choice([1.0, 2.0, 3.0], len(values)))
        native[np.isnan(values)] = np.nan
        labels = {1: "sedentary", 2: "light", 3: "moderate", 4: "heavy"}
        spec = {"column": column, "codes": {"1": 0, "2": 0, "3": 0, "4": 1}}
        return Encoded({column: native}, spec, values, {column: labels})
    return _binary(values, column, 1)


SPECIAL = {
    "age": _age,
    "female": _female,
    "bmi": _bmi,
    "general_health": _general_health,
    "mental_health": _mental_health,
    "fear_avoidance": _fear_avoidance,
    "episode_months": _episode,
    "education": _education,
    "physically_active": _physically_active,
    "sick_leave": _sick_leave,
    "employed": _employed,
    "heavy_demands": _heavy_demands,
}

WORDS = {"leg_pain": ("no", "yes"), "social_support": ("no", "yes")}
