"""The paper's Table 1 (27 trials) and Table 2 (arm types), transcribed for the simulator.

Sizes, % female, mean age, country, population source, arms, comparison category and
instruments are Table 1's. Arm types, designs and deliveries are assigned so that their
counts equal Table 2 (46 exercise arms, 17 comparison arms). Follow-up visits (weeks) are
chosen so that the windows "closest to 13 / 26 / 52 weeks, at most 9 / 10 / 20 weeks away" give
Table 1's follow-up availability, often with a real choice (e.g. 8 vs 12 weeks). Which
trials measured which candidate modifier (``MEASURED_IN``) reproduces Table 3's missingness
and Tables 4-5's study counts.
"""

from __future__ import annotations

from ._config import ArmConfig, Category, TrialConfig

_DESIGN = {"I": "individualized", "P": "partially individualized", "S": "standardized",
           "N": "not specified"}  # fmt: skip
_DELIVERY = {"i": "independent", "f": "independent with follow-up", "g": "group",
             "o": "one-on-one", "n": "not specified"}  # fmt: skip


def _ex(name: str, kind: str, code: str) -> ArmConfig:
    """An exercise arm; ``code`` is design letter + delivery letter, e.g. "Pg"."""
    return ArmConfig(name, "exercise", "exercise", kind, _DESIGN[code[0]], _DELIVERY[code[1]])


def _cmp(name: str, category: Category, kind: str) -> ArmConfig:
    return ArmConfig(name, "comparison", category, kind)


#: candidate modifiers and the trials that measured them (Table 3, Tables 4-6 "studies")
MEASURED_IN: dict[str, tuple[str, ...]] = {
    "education": ("costa2009", "ferreira2007", "gudavalli2006", "helmhout2004", "long2004",
                  "macedo2012", "machado2007", "morone2011", "morone2012", "petersen2011",
                  "sjogren2006", "wajswelner2012"),
    "smoker": ("albaladejo2010", "dufour2010", "kool2007", "morone2012", "petersen2011",
               "ryan2010", "sjogren2006", "smeets2006", "sorensen2010"),
    "physically_active": ("costa2009", "dufour2010", "ferreira2007", "gudavalli2006",
                          "kuukkanen2000", "morone2012", "petersen2011", "sjogren2006",
                          "smeets2006", "sorensen2010", "staal2004", "wajswelner2012"),
    "bmi": ("albaladejo2010", "cecchi2010", "chan2011", "costa2009", "dufour2010",
            "ferreira2007", "hartvigsen2010", "helmhout2004", "koumantakis2005", "long2004",
            "morone2011", "petersen2011", "ryan2010", "sjogren2006", "sorensen2010",
            "unsgaardtondel2010", "wajswelner2012"),
    "lbp_history": ("costa2009", "hartvigsen2010", "kool2007", "kuukkanen2000", "macedo2012",
                    "morone2012", "rasmussenbarr2009", "wajswelner2012"),
    "sick_leave": ("albaladejo2010", "chan2011", "dufour2010", "hartvigsen2010",
                   "helmhout2004", "koumantakis2005", "kuukkanen2000", "macedo2012",
                   "morone2011", "petersen2011", "ryan2010", "smeets2006",
                   "unsgaardtondel2010", "wajswelner2012"),
    "employed": ("albaladejo2010", "cecchi2010", "costa2009", "dufour2010", "ferreira2007",
                 "gudavalli2006", "hartvigsen2010", "helmhout2004", "kool2007",
                 "kuukkanen2000", "long2004", "macedo2012", "morone2011", "morone2012",
                 "sjogren2006", "smeets2006", "sorensen2010", "staal2004"),
    "heavy_demands": ("albaladejo2010", "cecchi2010", "dufour2010", "ferreira2007",
                      "gudavalli2006", "kuukkanen2000", "macedo2012", "sjogren2006"),
    "general_health": ("costa2009", "dufour2010", "ferreira2007", "hartvigsen2010",
                       "koumantakis2005", "long2004", "morone2012", "petersen2011",
                       "rasmussenbarr2009", "smeets2006"),
    "mental_health": ("albaladejo2010", "dufour2010", "hartvigsen2010", "machado2007",
                      "ryan2010", "sorensen2010", "wajswelner2012"),
    "fear_avoidance": ("cecchi2010", "gudavalli2006", "kuukkanen2000", "long2004",
                       "macedo2012", "ryan2010", "sjogren2006", "sorensen2010",
                       "wajswelner2012"),
    "social_support": ("dufour2010", "ferreira2007", "helmhout2004", "kool2007", "macedo2012",
                       "morone2011", "petersen2011", "ryan2010", "smeets2006",
                       "unsgaardtondel2010"),
    "episode_months": ("costa2009", "dufour2010", "ferreira2007", "helmhout2004",
                       "koumantakis2005", "macedo2012", "machado2007", "morone2011",
                       "morone2012", "petersen2011", "sjogren2006", "smeets2006", "staal2004"),
    "leg_pain": ("albaladejo2010", "cecchi2010", "chan2011", "dufour2010", "hartvigsen2010",
                 "long2004", "macedo2012", "morone2011", "morone2012", "petersen2011",
                 "ryan2010", "smeets2006", "sorensen2010", "staal2004", "wajswelner2012"),
    "medication": ("albaladejo2010", "cecchi2010", "chan2011", "dufour2010", "ferreira2007",
                   "helmhout2004", "koumantakis2005", "long2004", "macedo2012", "morone2012",
                   "petersen2011", "sorensen2010", "staal2004"),
}  # fmt: skip


def _measured(trial: str) -> frozenset[str]:
    return frozenset(var for var, trials in MEASURED_IN.items() if trial in trials)


def _trial(trial, label, country, population, n, female, age, arms, category, pain, function,
           visits, file_format, **extra) -> TrialConfig:  # fmt: skip
    year = int(label[-4:])
    return TrialConfig(
        trial=trial, label=label, year=year, country=country, population=population, n=n,
        pct_female=female, mean_age=age, arms=tuple(arms), comparison_category=category,
        pain_instrument=pain, function_instrument=function, visits=tuple(visits),
        measured=_measured(trial), file_format=file_format, **extra,
    )  # fmt: skip


PC, SC, OC, GM = "primary care", "secondary care", "occupational", "general or mixed"
UC: Category = "usual care"
NT: Category = "no treatment"
OTHER: Category = "other conservative"

TRIALS: tuple[TrialConfig, ...] = (
    _trial("albaladejo2010", "Albaladejo, 2010", "Spain", PC, 264, 68.2, 50.9,
           [_ex("education + exercise", "mixed", "Pg"),
            _cmp("usual care + education", OTHER, "advice/education"),
            _cmp("education booklet", OTHER, "advice/education")],
           "Education", "vas_10cm", "rmdq_24_es", (2, 8, 26), "sav"),
    _trial("cecchi2010", "Cecchi, 2010", "Italy", PC, 210, 66.7, 58.8,
           [_ex("individual physiotherapy", "mixed", "Io"), _ex("back school", "other", "Sg"),
            _cmp("spinal manipulation", OTHER, "manual therapy")],
           "Manual therapy", "pain_rating_scale", "rmdq_24", (4, 12, 26, 52), "sav"),
    _trial("chan2011", "Chan, 2011", "Hong Kong", PC, 46, 78.3, 46.6,
           [_ex("aerobic + physiotherapy", "aerobic", "Sg"), _ex("physiotherapy", "mixed", "Pn")],
           "N/A", "vas_100mm", "aberdeen_zh", (4, 12, 52), "csv", long_file=True,
           pain_visits=(4, 12)),
    _trial("costa2009", "Costa, 2009", "Australia", PC, 154, 60.4, 53.7,
           [_ex("motor control exercise", "core strengthening", "Io"),
            _cmp("placebo (detuned ultrasound)", NT, "placebo")],
           "∅/Usual", "nrs_0_10", "rmdq_24", (8, 26, 52), "dta"),
    _trial("dufour2010", "Dufour, 2010", "Denmark", SC, 286, 55.9, 40.9,
           [_ex("multidisciplinary group", "mixed", "Pg"),
            _ex("therapist-assisted exercise", "mixed", "Io")],
           "N/A", "vas_100mm", "rmdq_24", (13, 26, 52, 104), "sav"),
    _trial("ferreira2007", "Ferreira, 2007", "Australia", PC, 240, 68.8, 53.7,
           [_ex("motor control exercise", "core strengthening", "Io"),
            _ex("general exercise", "mixed", "Sg"),
            _cmp("spinal manipulative therapy", OTHER, "manual therapy")],
           "Manual therapy", "vas_10cm", "rmdq_24", (8, 26, 52), "dta"),
    _trial("gudavalli2006", "Gudavalli, 2006", "United States", GM, 235, 37.5, 41.6,
           [_ex("active trunk exercise", "core strengthening", "Po"),
            _cmp("flexion-distraction", OTHER, "manual therapy")],
           "Manual therapy", "vas_100mm", "rmdq_24", (4, 12), "dta",
           identifiers=("birth_date",)),
    _trial("hartvigsen2010", "Hartvigsen, 2010", "Denmark", SC, 136, 71.4, 46.6,
           [_ex("supervised Nordic walking", "aerobic", "Sg"),
            _ex("unsupervised Nordic walking", "aerobic", "Si"),
            _cmp("advice", OTHER, "advice/education")],
           "Education", "lbprs_pain", "lbprs_function", (8, 26, 52), "sav"),
    _trial("helmhout2004", "Helmhout, 2004", "Netherlands", OC, 81, 0.0, 40.9,
           [_ex("high-intensity training", "strengthening", "Pg"),
            _ex("low-intensity training", "mixed", "Pi")],
           "N/A", None, "rmdq_24", (10, 26, 52), "csv-semicolon"),
    _trial("kool2007", "Kool, 2007", "Switzerland", OC, 151, 21.2, 42.3,
           [_ex("function-centred treatment", "functional restoration", "Ig"),
            _ex("pain-centred treatment", "mixed", "Po")],
           "N/A", "nrs_0_10", None, (4, 13), "sav"),
    _trial("koumantakis2005", "Koumantakis, 2005", "United Kingdom", PC, 52, 53.9, 37.0,
           [_ex("stabilization + general exercise", "core strengthening", "Io"),
            _ex("general exercise", "strengthening", "Po")],
           "N/A", "vas_100mm", "rmdq_24", (8, 12), "csv"),
    _trial("kuukkanen2000", "Kuukkanen, 2000", "Finland", OC, 60, 50.0, 40.5,
           [_ex("home exercise", "mixed", "Pf"), _cmp("no exercise", NT, "no treatment")],
           "∅/Usual", "borg_cr10", "odi_points", (12, 26, 52, 260), "xpt"),
    _trial("long2004", "Long, 2004", "Multisite", SC, 133, 51.1, 41.6,
           [_ex("directional preference", "McKenzie", "Io"),
            _ex("opposite directional", "mixed", "Po"),
            _ex("evidence-based care", "other", "Po")],
           "N/A", "vas_100mm", "rmdq_24", (2, 8), "dta"),
    _trial("macedo2012", "Macedo, 2012", "Australia", GM, 172, 59.3, 49.2,
           [_ex("motor control exercise", "core strengthening", "Io"),
            _ex("graded activity", "mixed", "Po")],
           "N/A", "nrs_0_10", "rmdq_24", (8, 26, 52), "sav", long_file=True),
    _trial("machado2007", "Machado, 2007", "Brazil", SC, 33, 69.7, 43.5,
           [_ex("McKenzie therapy", "McKenzie", "Io"),
            _cmp("first-line care", OTHER, "psychological therapy")],
           "Psychological therapy", "vas_10cm", "rmdq_24_pt", (4, 8, 26), "csv-semicolon"),
    _trial("mehling2005", "Mehling, 2005", "United States", GM, 28, 64.3, 49.3,
           [_ex("breath therapy", "other", "Pn"), _ex("physical therapy", "mixed", "Pg")],
           "N/A", "vas_100mm", "rmdq_16", (8, 26), "xlsx"),
    _trial("morone2011", "Morone, 2011", "Italy", SC, 70, 64.3, 60.1,
           [_ex("Back School Neuropsichiatria", "flexibility/mobilizing", "Sg"),
            _cmp("usual care", UC, "usual care")],
           "∅/Usual", "vas_100mm", "odi_percent", (4, 12, 26), "sav"),
    _trial("morone2012", "Morone, 2012", "Italy", SC, 75, 72.0, 55.3,
           [_ex("stretching programme", "stretching", "Sg"),
            _cmp("usual care", UC, "usual care"), _cmp("back school", OTHER, "back school")],
           "Multiple", "vas_100mm", "odi_percent", (4, 12, 26), "sav"),
    _trial("petersen2011", "Petersen, 2011", "Denmark", SC, 224, 56.3, 37.1,
           [_ex("strength training", "strengthening", "Pg"),
            _ex("McKenzie-based therapy", "mixed", "Io")],
           "N/A", "vas3_sum", "rmdq_24", (8, 52), "sav"),
    _trial("rasmussenbarr2009", "Rasmussen-Barr, 2009", "Sweden", GM, 71, 50.7, 38.1,
           [_ex("stabilising training", "core strengthening", "Io"),
            _ex("daily walks", "aerobic", "Si")],
           "N/A", "vas_100mm", "odi_percent", (8, 26, 52, 156), "xpt"),
    _trial("ryan2010", "Ryan, 2010", "United Kingdom", SC, 38, 65.8, 45.3,
           [_ex("education + exercise class", "mixed", "Pi"),
            _cmp("education", OTHER, "advice/education")],
           "Education", "nrs_0_10", "rmdq_24", (6, 12), "xlsx", identifiers=("initials",)),
    _trial("sjogren2006", "Sjögren, 2006", "Finland", OC, 90, 73.3, 45.7,
           [_ex("workplace physical exercise", "strengthening", "Pf"),
            _cmp("no intervention", NT, "no treatment")],
           "∅/Usual", "borg_cr10", None, (15, 26), "xpt"),
    _trial("smeets2006", "Smeets, 2006", "Netherlands", SC, 223, 47.1, 41.6,
           [_ex("active physical treatment", "mixed", "Ig"),
            _ex("graded activity + problem solving", "other", "Pg"),
            _ex("combined treatment", "mixed", "Pg"), _cmp("waiting list", UC, "usual care")],
           "∅/Usual", "vas_100mm", "rmdq_24", (10, 26, 52), "sav"),
    _trial("sorensen2010", "Sorensen, 2010", "Denmark", SC, 207, 52.2, 39.1,
           [_ex("symptom-based training", "core strengthening", "Pi"),
            _cmp("education", OTHER, "advice/education")],
           "Education", "nrs_0_10", "rmdq_24", (12, 26, 52), "sav"),
    _trial("staal2004", "Staal, 2004", "Netherlands", OC, 39, 7.7, 38.2,
           [_ex("graded activity", "mixed", "Io"), _cmp("usual care", UC, "usual care")],
           "∅/Usual", "nrs_0_10", "rmdq_24", (8, 13, 26, 52), "dta"),
    _trial("unsgaardtondel2010", "Unsgaard-Tøndel, 2010", "Norway", GM, 109, 69.7, 40.1,
           [_ex("low-load motor control", "core strengthening", "Ig"),
            _ex("high-load sling exercise", "core strengthening", "Ig"),
            _ex("general exercise", "mixed", "Nn")],
           "N/A", "nrs_0_10", "odi_percent", (8, 52), "csv-latin1", pain_visits=(8,)),
    _trial("wajswelner2012", "Wajswelner, 2012", "Australia", GM, 87, 55.2, 49.6,
           [_ex("clinical Pilates", "core strengthening", "Pg"),
            _ex("general exercise", "mixed", "Sn")],
           "N/A", "nrs_0_10", "psfs", (6, 12, 24), "xlsx"),
)  # fmt: skip
