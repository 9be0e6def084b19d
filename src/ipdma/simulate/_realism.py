"""What makes a simulated raw file look received rather than generated.

Some trials name their columns and label their values in their own language (Dutch,
Danish, Spanish, Portuguese, Italian, German, Chinese pinyin), number their visits
(``_t0 _t1 ...``, the times only in the variable labels) or name baseline ``_bl``/``_pre``,
label every outcome column with its instrument and time, and code missing values as SPSS
user-missing values (99 / 999, declared in the file) or as Stata ``-9`` (labelled
"missing", declared in the spec). None of this changes a harmonized value: the specs map
every name, label and code back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._encode import WEEKS_PER_MONTH

__all__ = [
    "LANGUAGE",
    "OutcomeNames",
    "code_missing",
    "native_name",
    "translate",
    "translate_encoded",
    "visit_tag",
]

#: country -> language of the trial team's files
LANGUAGE = {"Netherlands": "nl", "Denmark": "da", "Spain": "es", "Brazil": "pt", "Italy": "it",
            "Switzerland": "de", "Hong Kong": "zh"}  # fmt: skip

_NAMES = {
    "nl": {"id": "patnr", "arm": "groep", "age": "leeftijd", "female": "geslacht",
           "education": "opleiding", "smoker": "roken", "physically_active": "beweging_min",
           "lbp_history": "eerdere_episodes", "sick_leave": "verzuim_12mnd",
           "employed": "betaald_werk", "heavy_demands": "zwaar_werk",
           "general_health": "gezondheid", "mental_health": "mhi5",
           "fear_avoidance": "bewegingsangst", "social_support": "sociale_steun",
           "episode_months": "duur_klachten", "leg_pain": "uitstraling_been",
           "medication": "medicatie", "height": "lengte", "weight": "gewicht", "pain": "pijn"},
    "da": {"id": "lobenr", "arm": "gruppe", "age": "alder", "female": "kon",
           "education": "uddannelse", "smoker": "rygning", "physically_active": "fysisk_aktiv",
           "lbp_history": "tidligere_episoder", "sick_leave": "sygemelding_12mdr",
           "employed": "i_arbejde", "heavy_demands": "tungt_arbejde",
           "general_health": "helbred", "mental_health": "psykisk_helbred",
           "fear_avoidance": "frygt", "social_support": "social_stotte",
           "episode_months": "varighed", "leg_pain": "bensmerter", "medication": "medicin",
           "height": "hojde", "weight": "vaegt", "pain": "smerte"},
    "es": {"id": "paciente", "arm": "grupo", "age": "edad", "female": "sexo",
           "education": "estudios", "smoker": "fumador", "physically_active": "actividad_fisica",
           "lbp_history": "episodios_previos", "sick_leave": "baja_laboral",
           "employed": "trabajo", "heavy_demands": "trabajo_pesado",
           "general_health": "salud_general", "mental_health": "salud_mental",
           "fear_avoidance": "miedo_evitacion", "social_support": "apoyo_social",
           "episode_months": "duracion", "leg_pain": "dolor_irradiado",
           "medication": "medicacion", "height": "altura", "weight": "peso", "pain": "dolor"},
    "pt": {"id": "paciente", "arm": "grupo", "age": "idade", "female": "sexo",
           "education": "escolaridade", "smoker": "fumante", "physically_active": "atividade",
           "lbp_history": "episodios_previos", "sick_leave": "afastamento",
           "employed": "trabalho", "heavy_demands": "trabalho_pesado",
           "general_health": "saude_geral", "mental_health": "saude_mental",
           "fear_avoidance": "medo", "social_support": "apoio_social",
           "episode_months": "duracao", "leg_pain": "dor_irradiada", "medication": "medicacao",
           "height": "altura", "weight": "peso", "pain": "dor"},
    "it": {"id": "codice", "arm": "gruppo", "age": "eta", "female": "sesso",
           "education": "istruzione", "smoker": "fumatore", "physically_active": "attivita",
           "lbp_history": "episodi_precedenti", "sick_leave": "assenza_malattia",
           "employed": "lavoro", "heavy_demands": "lavoro_pesante",
           "general_health": "salute_generale", "mental_health": "salute_mentale",
           "fear_avoidance": "paura", "social_support": "sostegno_sociale",
           "episode_months": "durata", "leg_pain": "dolore_gamba", "medication": "farmaci",
           "height": "altezza", "weight": "peso", "pain": "dolore"},
    "de": {"id": "probandennr", "arm": "gruppe", "age": "alter", "female": "geschlecht",
           "education": "schulbildung", "smoker": "raucher", "physically_active": "sport_min",
           "lbp_history": "fruhere_episoden", "sick_leave": "krankmeldung",
           "employed": "berufstatig", "heavy_demands": "schwere_arbeit",
           "general_health": "gesundheit", "mental_health": "psychisch",
           "fear_avoidance": "angst", "social_support": "soziale_unterstutzung",
           "episode_months": "dauer", "leg_pain": "beinschmerz", "medication": "medikamente",
           "height": "grosse", "weight": "gewicht", "pain": "schmerz"},
    "zh": {"id": "bianhao", "arm": "zubie", "age": "nianling", "female": "xingbie",
           "education": "jiaoyu", "smoker": "xiyan", "physically_active": "yundong",
           "lbp_history": "bingshi", "sick_leave": "bingjia", "employed": "gongzuo",
           "heavy_demands": "zhongti_laodong", "general_health": "jiankang",
           "mental_health": "xinli", "fear_avoidance": "kongju", "social_support": "shehui_zhichi",
           "episode_months": "bingcheng", "leg_pain": "tuitong", "medication": "yaowu",
           "height": "shengao", "weight": "tizhong", "pain": "tengtong"},
}  # fmt: skip

_WORDS = {
    "nl": {"yes": "ja", "no": "nee", "male": "man", "female": "vrouw", "employed": "werkend",
           "unemployed": "niet werkend", "primary": "basisschool", "secondary": "middelbaar",
           "vocational or college": "hbo", "university": "universiteit", "heavy": "zwaar",
           "sedentary": "zittend", "light": "licht", "moderate": "matig", "retired":
           "gepensioneerd", "homemaker or student": "huisvrouw of student"},
    "da": {"yes": "ja", "no": "nej", "male": "mand", "female": "kvinde", "employed": "i arbejde",
           "unemployed": "arbejdslos", "primary": "grundskole", "secondary": "gymnasium",
           "vocational or college": "videregaende", "university": "universitet",
           "heavy": "tungt", "sedentary": "stillesiddende", "light": "let", "moderate": "moderat",
           "retired": "pensioneret", "homemaker or student": "hjemmegaende eller studerende"},
    "es": {"yes": "si", "no": "no", "male": "hombre", "female": "mujer", "employed": "empleado",
           "unemployed": "desempleado", "primary": "primaria", "secondary": "secundaria",
           "vocational or college": "superior", "university": "universidad", "heavy": "pesado",
           "sedentary": "sedentario", "light": "ligero", "moderate": "moderado",
           "retired": "jubilado", "homemaker or student": "ama de casa o estudiante"},
    "pt": {"yes": "sim", "no": "nao", "male": "masculino", "female": "feminino",
           "employed": "empregado", "unemployed": "desempregado", "primary": "fundamental",
           "secondary": "medio", "vocational or college": "superior",
           "university": "universitario", "heavy": "pesado", "sedentary": "sedentario",
           "light": "leve", "moderate": "moderado", "retired": "aposentado",
           "homemaker or student": "do lar ou estudante"},
    "it": {"yes": "si", "no": "no", "male": "maschio", "female": "femmina", "employed": "occupato",
           "unemployed": "disoccupato", "primary": "elementare", "secondary": "media",
           "vocational or college": "post diploma", "university": "laurea",
           "heavy": "pesante", "sedentary": "sedentario", "light": "leggero",
           "moderate": "moderato", "retired": "pensionato",
           "homemaker or student": "casalinga o studente"},
    "de": {"yes": "ja", "no": "nein", "male": "mannlich", "female": "weiblich",
           "employed": "berufstatig", "unemployed": "arbeitslos", "primary": "grundschule",
           "secondary": "realschule", "vocational or college": "fachhochschule",
           "university": "universitat", "heavy": "schwer", "sedentary": "sitzend",
           "light": "leicht", "moderate": "mittel", "retired": "rentner",
           "homemaker or student": "hausfrau oder student"},
}  # fmt: skip

_LABEL_TEMPLATE = {"nl": "{outcome} ({inst}) na {n:g} {unit_nl}", "da": "{outcome} ({inst}) {n:g} {unit_da}",
                   "es": "{outcome} ({inst}) {unit_es} {n:g}", "pt": "{outcome} ({inst}) {unit_es} {n:g}",
                   "it": "{outcome} ({inst}) {n:g} {unit_it}", "de": "{outcome} ({inst}) {n:g} {unit_de}",
                   "zh": "{outcome} ({inst}) {n:g} {unit}"}  # fmt: skip
_UNITS = {"weeks": {"unit_nl": "weken", "unit_da": "uger", "unit_es": "semana",
                    "unit_it": "settimane", "unit_de": "Wochen"},
          "months": {"unit_nl": "maanden", "unit_da": "maneder", "unit_es": "mes",
                     "unit_it": "mesi", "unit_de": "Monate"}}  # fmt: skip


def native_name(var: str, language: str | None, default: str) -> str:
    """The column name a trial team writing in ``language`` gives ``var``."""
    if language is None:
        return default
    return _NAMES[language].get(var, default)


def translate(word: str, language: str | None) -> str:
    """A value label or text value in the trial's language (unchanged when unknown)."""
    if language is None or not isinstance(word, str):
        return word
    return _WORDS.get(language, {}).get(word, word)


def translate_encoded(labels: dict, spec: dict, columns: dict, language: str | None) -> None:
    """Translate value labels, the spec's label codes and text values in place."""
    if language is None or language not in _WORDS:
        return
    for mapping in labels.values():
        for code in list(mapping):
            mapping[code] = translate(mapping[code], language)
    codes = spec.get("codes")
    if codes:
        spec["codes"] = {translate(k, language): v for k, v in codes.items()}
    for name, values in list(columns.items()):
        if isinstance(values, np.ndarray) and values.dtype == object:
            columns[name] = np.array([translate(v, language) for v in values], dtype=object)


def outcome_label(outcome: str, instrument: str, week: float, months: bool,
                  language: str | None) -> str:  # fmt: skip
    """A variable label such as 'Pain (vas_100mm) at 8 weeks' (or in the trial's language)."""
    unit = "months" if months else "weeks"
    number = round(week / (52.1775 / 12)) if months else week
    if week == 0:
        return f"{outcome.capitalize()} ({instrument}) baseline"
    if language is None or language not in _LABEL_TEMPLATE:
        return f"{outcome.capitalize()} ({instrument}) at {number:g} {unit}"
    word = _NAMES[language]["pain"] if outcome == "pain" else outcome
    return _LABEL_TEMPLATE[language].format(outcome=word.capitalize(), inst=instrument,
                                            n=number, unit=unit, **_UNITS[unit])  # fmt: skip


def visit_style(k: int, language: str | None, labelled: bool) -> str:
    """How trial ``k`` names its visits: ``suffix`` (units), ``numbered`` (t0, t1, ...)."""
    return "numbered" if k % 5 == 3 and (labelled or k == 8) else "suffix"


def baseline_tag(k: int) -> str:
    """The baseline suffix of trial ``k``: 0, bl, pre or base."""
    return ("0", "0", "bl", "0", "pre", "0", "base")[k % 7]


def missing_style(k: int, fmt: str) -> tuple[str | None, float | None]:
    """('user', None) SPSS user-missing 99/999; ('code', -9) Stata -9; (None, None) none."""
    if fmt == "sav" and k % 2 == 0:
        return "user", None
    if fmt == "dta" and k % 2 == 0:
        return "code", -9.0
    return None, None


def visit_tag(week: float, k: int, months: bool) -> str:
    """The default suffix of a follow-up visit: 3m, or w8 / 8w / fu8 by trial."""
    if months:
        return f"{round(week / WEEKS_PER_MONTH)}m"
    return (f"w{week:g}", f"{week:g}w", f"fu{week:g}")[k % 3]


@dataclass(frozen=True)
class OutcomeNames:
    """How a trial names and labels its outcome columns (see ``_realism``)."""

    k: int
    language: str | None
    labelled: bool
    labels: dict[str, str]

    def stem(self, outcome: str, base: str) -> str:
        if self.language is None or outcome != "pain":
            return base
        return f"{native_name('pain', self.language, 'pain')}_{base}"

    def tag(self, week: float, index: int, months: bool) -> str:
        if week == 0:
            return (
                "t0"
                if visit_style(self.k, self.language, self.labelled) == "numbered"
                else baseline_tag(self.k)
            )
        if visit_style(self.k, self.language, self.labelled) == "numbered":
            return f"t{index}"
        number = round(week / WEEKS_PER_MONTH) if months else week
        local = {"nl": ("{:g}wk", "{:g}mnd"), "da": ("uge{:g}", "{:g}mdr"),
                 "es": ("sem{:g}", "{:g}meses"), "pt": ("sem{:g}", "{:g}meses"),
                 "it": ("sett{:g}", "{:g}mesi"), "de": ("{:g}wo", "{:g}mo")}.get(self.language or "")  # fmt: skip
        if local is not None:
            return local[1 if months else 0].format(number)
        return visit_tag(week, self.k, months)

    def label(self, column: str, outcome: str, instrument_name: str, week: float,
              months: bool) -> None:  # fmt: skip
        self.labels[column] = outcome_label(outcome, instrument_name, week, months, self.language)


def code_missing(frame, source, labels, k, fmt, structural) -> dict[str, float]:
    """Missing values as codes: SPSS user-missing (returned), or Stata -9 (in the spec)."""
    style, code = missing_style(k, fmt)
    if style is None:
        return {}
    declared: dict[str, float] = {}
    for column in frame.columns:
        values = frame[column]
        if column in structural or not pd.api.types.is_float_dtype(values):
            continue
        if not values.isna().any():
            continue
        if style == "user":
            top = float(np.nanmax(values.to_numpy(float)))
            declared[column] = 99.0 if top <= 50 else 999.0 if top < 999 else 9999.0
            frame[column] = values.fillna(declared[column])
        else:
            frame[column] = values.fillna(code)
            if column in labels:
                labels[column] = {**labels[column], code: "missing"}
    if style == "code":
        source["missing"] = [int(code)]  # type: ignore[arg-type]
    return declared
