"""Words that name each concept in column names and labels, in the paper's trials' languages.

English, Dutch, Danish, Swedish, Norwegian, Finnish, German, Italian, Spanish, Portuguese
and common pinyin transliterations (Chinese). Text is normalized (lower case, accents and
the Nordic letters folded: ø -> o, æ -> ae, å -> a, ß -> ss) and split into tokens at
non-letters and at letter/digit boundaries. A word of four or more letters also matches
inside a token (compounds: Dutch ``rugpijn`` contains ``pijn``); shorter words must be a
whole token (``id``, ``bmi``, ``sex``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["CONCEPTS", "LANGUAGE_WORDS", "Match", "match", "normalize", "tokens"]

_FOLD = str.maketrans({"ø": "o", "æ": "ae", "å": "a", "ß": "ss", "œ": "oe", "ð": "d", "þ": "th"})


def normalize(text: str) -> str:
    """Lower case without accents; Nordic letters folded."""
    text = text.lower().translate(_FOLD)
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c))


def tokens(text: str) -> list[str]:
    """Tokens of a normalized name or label (letters and digits split apart)."""
    text = normalize(text)
    text = re.sub(r"([a-z])([0-9])|([0-9])([a-z])", r"\1\3 \2\4", text)
    text = re.sub(r"([a-z])([0-9])|([0-9])([a-z])", r"\1\3 \2\4", text)
    return [t for t in re.split(r"[^a-z0-9]+", text) if t]


#: concept -> words (normalized). Order inside a tuple does not matter.
CONCEPTS: dict[str, tuple[str, ...]] = {
    # structure
    "id": ("id", "pid", "subject", "subjid", "patient", "patid", "pnr", "patnr", "record",
           "studyno", "studienr", "studynr", "participant", "deelnemer", "respondent", "casenr",
           "case", "nummer", "number", "lopenr", "lobenr", "lopnr", "deltager", "deltagare",
           "henkilo", "tunnus", "probandennr", "proband", "paziente", "codice", "paciente",
           "sujeto", "participante", "bianhao", "code", "ident", "nr", "no", "num"),
    "arm": ("group", "groups", "arm", "grp", "grupp", "gruppe", "groep", "gruppo", "grupo",
            "ryhma", "treatment", "randomisation", "randomization", "randomised", "randomized",
            "rand", "allocation", "alloc", "intervention", "interventie", "behandling",
            "behandeling", "behandlung", "trattamento", "tratamiento", "tratamento", "hoito",
            "tx", "trt", "condition", "fenzu", "zubie"),
    "time": ("visit", "time", "week", "weeks", "month", "months", "followup", "fu", "tijd",
             "meting", "tidspunkt", "besok", "tid", "kaynti", "aika", "zeitpunkt", "visite",
             "tempo", "visita", "tiempo", "semana", "mes", "mese", "maand", "manad", "maned",
             "kuukausi", "monat", "woche", "week", "uge", "vecka", "uke", "viikko", "wave",
             "occasion", "timepoint", "suifang"),
    # outcomes
    "pain": ("pain", "pijn", "smerte", "smarta", "smerter", "kipu", "schmerz", "schmerzen",
             "dolore", "dolor", "dor", "vas", "nrs", "vrs", "borg", "prs", "lbprsp", "teng",
             "tengtong", "intensity", "intensiteit", "intensitet"),
    "function": ("rmdq", "rdq", "rmq", "roland", "morris", "odi", "oswestry", "quebec",
                 "qbpds", "aberdeen", "abd", "psfs", "snq", "lbprsf", "disability", "function",
                 "functioning", "funktion", "funktionsevne", "funktionsniveau", "beperking",
                 "beperkingen", "toimintakyky", "haitta", "funzione", "disabilita", "funcion",
                 "incapacidad", "funcao", "incapacidade", "gongneng", "canji", "ffbh",
                 "hannover", "activity limitation"),
    # baseline variables (names of the harmonized vocabulary)
    "age": ("age", "alder", "leeftijd", "lft", "alter", "eta", "edad", "idade", "ika",
            "nianling", "age years", "years old"),
    "female": ("sex", "gender", "sexe", "geslacht", "kon", "kjonn", "kjon", "sukupuoli",
               "geschlecht", "sesso", "sexo", "genero", "xingbie", "female", "kvinde", "kvinna",
               "kvinne", "vrouw", "nainen", "weiblich", "femmina", "mujer", "feminino"),
    "education": ("educ", "education", "school", "schooling", "opleiding", "uddannelse",
                  "utbildning", "utdanning", "koulutus", "bildung", "ausbildung", "schulbildung",
                  "istruzione", "educacion", "estudios", "escolaridade", "escolaridad",
                  "educacao", "jiaoyu", "xueli"),
    "smoker": ("smoke", "smoker", "smoking", "roken", "roker", "rygning", "ryger", "rokning",
               "rokare", "royking", "royker", "tupakointi", "tupakka", "rauchen", "raucher",
               "fumo", "fumatore", "fuma", "fumador", "tabaco", "tabagismo", "fumante",
               "xiyan", "tobacco", "cigarette"),
    "physically_active": ("activity", "active", "sport", "sports", "exercise habit",
                          "beweging", "bewegen", "motion", "fysisk", "aktivitet", "liikunta",
                          "aktiv", "attivita", "actividad", "atividade", "yundong", "leisure",
                          "minutes per week", "ipaq", "baecke"),
    "lbp_history": ("history", "previous", "prev", "earlier", "prior", "recurrent",
                    "eerdere", "vorige", "tidligere", "tidigare", "aiemmat", "fruhere",
                    "precedenti", "previos", "anteriores", "episodes", "episode history",
                    "bingshi"),
    "sick_leave": ("sick", "sickleave", "absence", "absent", "absenteeism", "verzuim",
                   "ziekteverzuim", "ziek", "sygemelding", "sygefravaer", "sjukskrivning",
                   "sjukfranvaro", "sykemelding", "sykefravaer", "sairausloma", "krankmeldung",
                   "arbeitsunfahigkeit", "au", "malattia", "assenza", "baja", "ausencia",
                   "afastamento", "bingjia"),
    "employed": ("work", "employed", "employment", "job", "occupation", "werk", "werkend",
                 "betaald", "arbejde", "beskaeftigelse", "arbete", "sysselsattning", "arbeid",
                 "tyo", "tyollinen", "arbeit", "beruf", "erwerbstatig", "lavoro", "occupazione",
                 "trabajo", "empleo", "trabalho", "emprego", "gongzuo", "jiuye", "status"),
    "heavy_demands": ("heavy", "demands", "workload", "physical work", "load", "zwaar",
                      "fysieke belasting", "tungt", "belastning", "tung", "raskas", "schwer",
                      "korperliche", "pesante", "pesado", "carga", "zhongti"),
    "general_health": ("gh", "general health", "genhealth", "health", "sf36", "sf12",
                       "eq", "eqvas", "gezondheid", "helbred", "halsa", "helse", "terveys",
                       "gesundheit", "salute", "salud", "saude", "jiankang"),
    "mental_health": ("mh", "mental", "mhi", "mhi5", "psychological", "distress", "anxiety",
                      "depression", "mentale", "psychisch", "psykisk", "mielenterveys",
                      "psychisch", "mentale", "salud mental", "saude mental", "xinli", "hads"),
    "fear_avoidance": ("fear", "fabq", "tsk", "tampa", "kinesiophobia", "avoidance",
                       "angst", "bewegingsangst", "frygt", "radsla", "frykt", "pelko",
                       "paura", "miedo", "medo", "kongju"),
    "social_support": ("support", "social", "socsup", "steun", "sociale", "stotte", "stod",
                       "tuki", "unterstutzung", "sostegno", "apoyo", "apoio", "zhichi"),
    "episode_months": ("duration", "episode", "dur", "length episode", "lbp dur", "duur",
                       "varighed", "varaktighet", "varighet", "kesto", "dauer", "durata",
                       "duracion", "duracao", "bingcheng", "chronicity", "months since",
                       "onset"),
    "leg_pain": ("leg", "legpain", "radiating", "radiation", "sciatica", "radicular",
                 "uitstraling", "beenpijn", "bensmerter", "bensmarta", "iskias", "ischias",
                 "sciatalgia", "ciatica", "irradiada", "ciatalgia", "irradiacao", "tuitong",
                 "bentong"),
    "medication": ("med", "meds", "medication", "analgesic", "analgesics", "painkiller",
                   "drugs", "medicatie", "medicijn", "medicin", "laegemiddel", "lakemedel",
                   "legemiddel", "medisin", "laake", "laakitys", "medikament", "medikamente",
                   "farmaci", "farmaco", "medicamento", "medicacao", "yaowu", "nsaid"),
    "height": ("height", "ht", "lengte", "laengde", "langd", "lengde", "hoyde", "pituus",
               "grosse", "groesse", "korpergrosse", "koerpergroesse", "altezza", "altura", "statura", "shengao", "length"),
    "weight": ("weight", "wt", "gewicht", "vaegt", "vikt", "vekt", "paino", "peso",
               "tizhong", "mass", "body weight"),
    "bmi": ("bmi", "quetelet", "body mass"),
    "site": ("centre", "center", "site", "sted", "clinic", "kliniek", "praktijk", "klinik",
             "centrum", "keskus", "zentrum", "centro", "ort", "plaats", "location", "hospital",
             "ziekenhuis", "sjukhus", "sykehus", "sairaala", "ospedale", "yiyuan"),
}  # fmt: skip

#: words that tell the language of a file (for the RMDQ language versions)
LANGUAGE_WORDS: dict[str, tuple[str, ...]] = {
    "nl": ("geslacht", "leeftijd", "lengte", "gewicht", "pijn", "opleiding", "roken",
           "groep", "verzuim", "werk", "deelnemer", "maand", "meting", "beperking"),
    "da": ("kon", "alder", "vaegt", "laengde", "smerte", "rygning", "uddannelse",
           "sygemelding", "arbejde", "gruppe", "uge", "maned", "kvinde"),
    "sv": ("kon", "alder", "vikt", "langd", "smarta", "rokning", "utbildning", "arbete",
           "sjukskrivning", "grupp", "vecka", "manad", "kvinna"),
    "no": ("kjonn", "alder", "vekt", "hoyde", "smerte", "royking", "utdanning",
           "sykemelding", "arbeid", "gruppe", "uke", "maned", "kvinne", "sted"),
    "fi": ("ika", "sukupuoli", "paino", "pituus", "kipu", "tupakointi", "koulutus",
           "sairausloma", "tyo", "ryhma", "viikko", "kuukausi", "nainen"),
    "de": ("geschlecht", "alter", "gewicht", "grosse", "schmerz", "rauchen", "bildung",
           "arbeit", "gruppe", "woche", "monat", "weiblich"),
    "it": ("sesso", "eta", "peso", "altezza", "dolore", "fumo", "istruzione", "lavoro",
           "gruppo", "settimana", "mese", "femmina"),
    "es": ("sexo", "edad", "peso", "altura", "dolor", "fumador", "estudios", "trabajo",
           "grupo", "semana", "mes", "mujer", "tratamiento"),
    "pt": ("sexo", "idade", "peso", "altura", "dor", "fumante", "escolaridade", "trabalho",
           "grupo", "semana", "mes", "feminino", "tratamento"),
    "zh": ("xingbie", "nianling", "tizhong", "shengao", "tengtong", "jiaoyu", "xiyan",
           "gongzuo", "zubie", "fenzu", "bianhao"),
}  # fmt: skip


@dataclass(frozen=True)
class Match:
    """A concept found in a text: which word matched and whether in the name or the label."""

    concept: str
    word: str
    where: str  # "name" | "label"
    whole: bool  # the word is a whole token (stronger) or inside a compound

    @property
    def evidence(self) -> str:
        return f"{self.where} contains {self.word!r}"


def _find(words: tuple[str, ...], text: str) -> tuple[str, bool] | None:
    toks = tokens(text)
    joined = " ".join(toks)
    best: tuple[str, bool] | None = None
    for word in words:
        if " " in word:
            if f" {word} " in f" {joined} ":
                return word, True
            continue
        if word in toks:
            return word, True
        if len(word) >= 4 and best is None and any(word in t for t in toks):
            best = (word, False)
    return best


def match(concept: str, name: str, label: str = "") -> Match | None:
    """Where ``concept`` is named in a column's ``name`` or ``label`` (name first), or None."""
    words = CONCEPTS[concept]
    for where, text in (("name", name), ("label", label)):
        if not text:
            continue
        hit = _find(words, text)
        if hit is not None:
            return Match(concept, hit[0], where, hit[1])
    return None
