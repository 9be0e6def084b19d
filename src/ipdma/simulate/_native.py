"""One simulated trial in its native layout: columns, codes, units, visits; and its spec.

:func:`nativize` turns a :class:`~ipdma.simulate._generate.SimulatedTrial` into a
:class:`NativeTrial`: the raw DataFrame as the trial team would have sent it (wide, or long
with one row per participant and visit), the SPSS/Stata value labels, the trial spec as a
dict (the ``docs/spec.md`` schema) and the harmonized values ingest will compute from it.
Styles (column names, codes, units) vary between trials deterministically by position.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._config import LATENT_ORDER, TrialConfig
from ._encode import WEEKS_PER_MONTH, encode
from ._generate import OUTCOMES, SimulatedTrial
from ._instruments import instrument, stem
from ._realism import LANGUAGE, OutcomeNames, code_missing, native_name, translate_encoded

SUFFIX = {"sav": "sav", "dta": "dta", "xpt": "xpt", "xlsx": "xlsx", "csv": "csv",
          "csv-semicolon": "csv", "csv-latin1": "csv"}  # fmt: skip

_ALIASES = {
    "age": ("age", "age_years", "alder"),
    "female": ("sex", "gender", "sexe"),
    "education": ("educ", "education", "school"),
    "smoker": ("smoke", "smoking", "smoker"),
    "physically_active": ("activity", "phys_active", "sport"),
    "lbp_history": ("prev_lbp", "history_lbp", "earlier_ep"),
    "sick_leave": ("sickleave", "sick_12m", "absence"),
    "employed": ("work", "work_status", "employment"),
    "heavy_demands": ("heavywork", "phys_demands", "workload"),
    "general_health": ("gh", "sf36_gh", "genhealth"),
    "mental_health": ("mh", "mhi5", "mental"),
    "fear_avoidance": ("fabq", "fear", "fearavoid"),
    "social_support": ("support", "social_supp", "socsup"),
    "episode_months": ("duration", "episode", "lbp_dur"),
    "leg_pain": ("legpain", "leg_pain", "radiating"),
    "medication": ("meds", "medication", "analgesics"),
}
_NORWEGIAN = {"female": "kjønn", "age": "alder", "sick_leave": "sykemelding_12mnd"}
_BMI_COLUMNS = (("height", "weight"), ("ht", "wt"), ("lengte", "gewicht"))
_ID_COLUMNS = ("id", "subject", "pnr", "patient", "record_id", "studyno")
_ARM_COLUMNS = ("group", "arm", "randomisation", "treatment", "grp")


@dataclass(frozen=True)
class NativeTrial:
    """A trial's raw table, value labels, spec dict and harmonized values.

    ``harmonized`` has one row per participant: ``pid``, ``arm_index`` and the harmonized
    baseline variables (NaN where the file has no value); ``outcomes`` maps each outcome to
    an (n x visits) array of harmonized follow-up values; ``visit_weeks`` the visit times in
    weeks as ingest computes them from the spec.
    """

    trial: str
    frame: pd.DataFrame
    labels: dict[str, dict]
    spec: dict
    harmonized: pd.DataFrame
    outcomes: dict[str, np.ndarray]
    visit_weeks: np.ndarray
    file_name: str
    file_format: str
    column_labels: dict[str, str]
    user_missing: dict[str, float] = field(default_factory=dict)


def _name(base: str, short: bool, used: set[str]) -> str:
    name = base.upper()[:8] if short else base
    while name in used:
        name = name[:7] + str(len(used) % 10)
    used.add(name)
    return name


def _arm_codes(
    sim: SimulatedTrial, k: int, labels_ok: bool
) -> tuple[list[str] | list[int], dict[int, str]]:
    """Arm codes (numbers 1.. or text) and their value labels."""
    arms = sim.config.arms
    if k % 3 == 1 or (not labels_ok and k % 2 == 1):
        words: list[str] = []
        seen: dict[str, int] = {}
        for arm in arms:
            word = "EX" if arm.role == "exercise" else "CTRL"
            seen[word] = seen.get(word, 0) + 1
            words.append(word)
        codes = [w + (str(seen_i) if seen[w] > 1 else "") for w, seen_i in _numbered(words)]
        return codes, {}
    numbers = list(range(1, len(arms) + 1))
    return numbers, {c: arm.name for c, arm in zip(numbers, arms, strict=True)}


def _numbered(words: list[str]) -> list[tuple[str, int]]:
    count: dict[str, int] = {}
    out = []
    for word in words:
        count[word] = count.get(word, 0) + 1
        out.append((word, count[word]))
    return out


def in_months(cfg: TrialConfig) -> bool:
    """Whether the trial's file records visits in months (3, 6, 12, ... months)."""
    return set(cfg.visits) <= {13, 26, 52, 104, 156, 260}


def visit_weeks(cfg: TrialConfig) -> np.ndarray:
    """The follow-up weeks ingest reads from the file (months x 52/12 when in months)."""
    months = in_months(cfg)
    return np.array([round(w / WEEKS_PER_MONTH) * WEEKS_PER_MONTH if months else w
                     for w in cfg.visits], dtype=float)  # fmt: skip


def nativize(sim: SimulatedTrial, k: int, rng: np.random.Generator) -> NativeTrial:
    """The native layout of trial number ``k`` (0-based position in the consortium)."""
    cfg = sim.config
    fmt = cfg.file_format
    short = fmt == "xpt"
    labels_ok = fmt in ("sav", "dta")
    used: set[str] = set()
    n = len(sim.baseline)
    columns: dict[str, object] = {}
    labels: dict[str, dict] = {}
    language = LANGUAGE.get(cfg.country) if k % 2 == 0 and not short else None
    id_col = _name(native_name("id", language, _ID_COLUMNS[k % len(_ID_COLUMNS)]), short, used)
    arm_col = _name(native_name("arm", language, _ARM_COLUMNS[k % len(_ARM_COLUMNS)]), short,
                    used)  # fmt: skip
    number = np.arange(1, n + 1) + 1000 * (k % 4)
    pids = [f"{cfg.trial[:3].upper()}-{i:04d}" for i in number] if k % 2 else number
    columns[id_col] = pids
    codes, arm_labels = _arm_codes(sim, k, labels_ok)
    numeric_codes = all(isinstance(c, int) for c in codes)
    columns[arm_col] = np.array(codes, dtype=float if numeric_codes else object)[
        sim.baseline["arm"].to_numpy()]  # fmt: skip
    if arm_labels and labels_ok:
        labels[arm_col] = arm_labels
    spec_vars: dict[str, dict] = {}
    harmonized = {"pid": [str(p) for p in pids], "arm_index": sim.baseline["arm"].to_numpy()}
    for offset, var in enumerate(("age", "female", *LATENT_ORDER)):
        if var in ("pain0", "function0"):
            continue
        observed = sim.observed[var]
        if not observed.any():
            harmonized[var] = np.full(n, np.nan)
            continue
        values = np.where(observed, sim.baseline[var].to_numpy(float), np.nan)
        variant = (k + offset) % 4
        if var == "bmi":
            bmi_names = tuple(native_name(v, language, c) for v, c in
                              zip(("height", "weight"), _BMI_COLUMNS[k % len(_BMI_COLUMNS)],
                                  strict=True))  # fmt: skip
            extra = {"female": sim.baseline["female"].to_numpy(),
                     "bmi_columns": tuple(_name(c, short, used) for c in bmi_names)}  # fmt: skip
            enc = encode(var, values, "", variant, rng, labels_ok=labels_ok, extra=extra)
        else:
            column = _name(native_name(var, language, _ALIASES.get(var, (var,))[k % 3]), short,
                           used)  # fmt: skip
            if fmt == "csv-latin1" and var in _NORWEGIAN:
                used.discard(column)
                column = _name(_NORWEGIAN[var], short, used)
            enc = encode(var, values, column, variant, rng, labels_ok=labels_ok)
        translate_encoded(enc.labels, enc.spec, enc.columns, language)
        columns.update(enc.columns)
        if labels_ok:
            labels.update({c: lab for c, lab in enc.labels.items() if c in enc.columns})
        spec_vars[var] = enc.spec
        harmonized[var] = enc.harmonized
    months = in_months(cfg)
    weeks = visit_weeks(cfg)
    outcome_spec: dict[str, dict] = {}
    outcome_values: dict[str, np.ndarray] = {}
    wide_outcomes: dict[str, dict[float, np.ndarray]] = {}
    for outcome in OUTCOMES:
        name = cfg.pain_instrument if outcome == "pain" else cfg.function_instrument
        if name is None:
            harmonized[f"{outcome}0"] = np.full(n, np.nan)
            continue
        inst = instrument(name)
        base = np.where(sim.observed[f"{outcome}0"], sim.baseline[f"{outcome}0"], np.nan)
        native = {0.0: inst.to_native(base)}
        for v, week in enumerate(cfg.visits):
            if week in cfg.visits_for(outcome):
                native[float(week)] = inst.to_native(sim.outcomes[outcome][:, v])
        harmonized[f"{outcome}0"] = inst.to_harmonized(native[0.0])
        outcome_values[outcome] = np.column_stack(
            [inst.to_harmonized(native[float(w)]) if float(w) in native else np.full(n, np.nan)
             for w in cfg.visits]
        )  # fmt: skip
        wide_outcomes[outcome] = native
        outcome_spec[outcome] = {"instrument": name}
    names = OutcomeNames(k, language, labels_ok, {})
    frame, source = _layout(cfg, k, columns, wide_outcomes, outcome_spec, id_col, arm_col,
                            short, months, used, names)  # fmt: skip
    user_missing = code_missing(frame, source, labels, k, fmt, {id_col, arm_col})
    spec = _spec_dict(sim, k, source, codes, spec_vars, outcome_spec, fmt)
    file_name = f"{cfg.trial}.{SUFFIX[fmt]}"
    column_labels = {id_col: "Participant number", arm_col: "Randomized group"}
    for var, entry in spec_vars.items():
        for column in _entry_columns(entry):
            column_labels[column] = _DESCRIPTIONS.get(var, var)
    column_labels.update(names.labels)
    for kind in cfg.identifiers:  # direct identifiers ingest must leave out
        frame.insert(1, kind, _identifier(kind, sim.baseline["age"].to_numpy(), cfg.year, rng))
    if fmt == "csv-latin1":  # a Norwegian file: a site column with non-ASCII text
        frame.insert(2, "sted", rng.choice(["Trondheim", "Tromsø", "Bodø", "Ålesund"], len(frame)))
    return NativeTrial(cfg.trial, frame, labels, spec, pd.DataFrame(harmonized),
                       outcome_values, weeks, file_name, fmt, column_labels,
                       user_missing)  # fmt: skip


def _identifier(kind: str, age: np.ndarray, year: int, rng: np.random.Generator) -> np.ndarray:
    """Fake initials or dates of birth (consistent with age at the trial's start)."""
    if kind == "initials":
        letters = rng.choice(list("ABCDEFGHIJKLMNOPRSTVW"), (len(age), 2))
        return np.array([f"{a}.{b}." for a, b in letters], dtype=object)
    days = np.floor((year - 2 - age - rng.random(len(age)) - 1970) * 365.25)
    born = pd.to_datetime(days, unit="D", origin="unix")
    return np.array(born.strftime("%Y-%m-%d"), dtype=object)


def _entry_columns(entry: dict) -> list[str]:
    if "column" in entry:
        return [entry["column"]]
    return [entry[k]["column"] for k in ("weight", "height") if k in entry]


_DESCRIPTIONS = {
    "age": "Age (years)", "female": "Sex", "education": "Education",
    "smoker": "Current smoker", "physically_active": "Physical activity",
    "lbp_history": "Previous episodes of low back pain", "sick_leave": "Sick leave, past 12 months",
    "employed": "Work status", "heavy_demands": "Physical demands at work",
    "general_health": "General health", "mental_health": "Mental health",
    "fear_avoidance": "Fear-avoidance beliefs", "social_support": "Social support",
    "episode_months": "Duration of current episode", "leg_pain": "Leg pain",
    "medication": "Medication for low back pain", "bmi": "Height / weight",
}  # fmt: skip


def _layout(cfg, k, columns, wide_outcomes, outcome_spec, id_col, arm_col, short, months, used,
            names):  # fmt: skip
    """Assemble the wide or long raw table and the [source] entries that describe it."""
    source = {"layout": "wide", "id": id_col, "arm": arm_col,
              "time_unit": "months" if months else "weeks"}  # fmt: skip
    if not cfg.long_file:
        for outcome, native in wide_outcomes.items():
            base = stem(outcome_spec[outcome]["instrument"])
            keys = {}
            for index, (week, values) in enumerate(native.items()):
                if short:
                    column = _name(f"{base[:4]}{week:g}", short, used)
                else:
                    tag = names.tag(week, index, months)
                    column = _name(f"{names.stem(outcome, base)}_{tag}", short, used)
                names.label(column, outcome, outcome_spec[outcome]["instrument"], week, months)
                columns[column] = values
                key = round(week / WEEKS_PER_MONTH) if months and week else week
                keys[f"{key:g}"] = column
            outcome_spec[outcome]["columns"] = keys
        return pd.DataFrame(columns), source
    times = sorted({0.0} | {w for native in wide_outcomes.values() for w in native})
    wide = pd.DataFrame(columns)
    n = len(wide)
    rows = []
    time_col = _name("suifang" if names.language == "zh" else "visit_week", short, used)
    for t in times:
        part = wide[[id_col, arm_col]].copy() if t else wide.copy()
        part.insert(2, time_col, t)
        for outcome, native in wide_outcomes.items():
            column = names.stem(outcome, stem(outcome_spec[outcome]["instrument"]))
            part[column] = native.get(t, np.full(n, np.nan))
        rows.append(part)
    for outcome in wide_outcomes:
        outcome_spec[outcome]["column"] = names.stem(
            outcome, stem(outcome_spec[outcome]["instrument"])
        )
    frame = pd.concat(rows, ignore_index=True)
    frame = frame.sort_values([id_col, time_col], kind="stable", ignore_index=True)
    source.update(layout="long", time=time_col, time_unit="weeks")
    return frame, source


def _spec_dict(sim, k, source, codes, variables, outcomes, fmt) -> dict:
    cfg = sim.config
    trial = {"id": cfg.trial, "label": cfg.label, "year": cfg.year, "country": cfg.country,
             "population": cfg.population, "comparison_category": cfg.comparison_category}  # fmt: skip
    arms = []
    for code, arm in zip(codes, cfg.arms, strict=True):
        entry = {"code": code, "name": arm.name, "category": arm.category, "type": arm.type}
        if arm.role == "exercise":
            entry.update(design=arm.design, delivery=arm.delivery)
        arms.append(entry)
    return {"trial": trial, "source": source, "arms": arms, "variables": variables,
            "outcomes": outcomes}  # fmt: skip
