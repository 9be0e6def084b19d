"""``[[arms]]``: one entry per code found in the arm column, named by its value label.

The category is proposed only when the arm's name says it (exercise words; usual care;
waiting list / no treatment; placebo / sham; named conservative treatments); the exercise
type, design and delivery come from the publication and are left ``TODO``.
"""

from __future__ import annotations

from ._profile import FileProfile
from ._record import TODO, Field
from ._structure import codes_of
from ._vocabulary import tokens

__all__ = ["draft_arms"]

_EXERCISE = ("exercise", "exercises", "training", "oefen", "oefentherapie", "traening",
             "traning", "trening", "harjoit", "ubung", "uebung", "bewegungstherapie",
             "esercizi", "ejercicio", "exercicio", "yoga", "pilates", "mckenzie",
             "motor control", "stabiliz", "stabilis", "strengthening", "graded activity",
             "fitness", "aerobic", "walking", "hydrotherapy", "aquatic", "tai chi",
             "functional restoration", "back school exercise", "duanlian", "yundong")  # fmt: skip
_EXERCISE_CODES = ("ex", "exe", "exer", "exerc", "training", "train")
_CATEGORY = (
    (("placebo", "sham", "detuned", "schijn", "simul"), "placebo", "placebo"),
    (("usual care", "usual", "gp care", "standard care", "gebruikelijke", "sedvanlig",
      "vanlig", "tavanomainen", "ubliche", "habitual", "cuidados usuais", "routine care"),
     "usual care", "usual care"),
    (("waiting", "wait list", "waitlist", "wachtlijst", "venteliste", "vantelista", "jono",
      "warteliste", "attesa", "espera", "no treatment", "no intervention", "geen behandeling"),
     "no treatment", "no treatment"),
    (("manual therapy", "manipulation", "massage", "advice", "education", "back school",
      "physiotherapy", "acupuncture", "cognitive", "behavioural", "behavioral",
      "electrotherapy", "tens", "nsaid", "analgesic", "relaxation", "chiropract"),
     "other conservative", None),
)  # fmt: skip


def _category(name: str) -> tuple[str | None, str | None, str]:
    text = " ".join(tokens(name))
    toks = set(text.split())
    for word in _EXERCISE:
        if (" " in word and word in text) or any(t.startswith(word) for t in toks):
            return "exercise", None, f"the name contains {word!r}"
    if toks & set(_EXERCISE_CODES):
        return "exercise", None, f"the code {name!r} abbreviates exercise"
    found = []
    for words, category, kind in _CATEGORY:
        hit = next((w for w in words if w in text), None)
        if hit is not None:
            found.append((category, kind, hit))
    if len(found) == 1:
        category, kind, word = found[0]
        return category, kind, f"the name contains {word!r}"
    if found:  # e.g. 'usual care + education': the publication decides
        return None, None, "the name mixes " + " and ".join(f"{w!r} ({c})" for c, _, w in found)
    return None, None, ""


def draft_arms(profile: FileProfile, arm: str | None) -> list[Field]:
    """One ``[[arms]]`` entry per code in ``arm`` (TODO when no arm column was found)."""
    if arm is None:
        return [Field(("arms", 0, "code"), TODO, None, "find the arm column first"),
                Field(("arms", 0, "name"), TODO, None, "the arm's name"),
                Field(("arms", 0, "category"), TODO, None, "exercise | no treatment | "
                      "usual care | placebo | other conservative"),
                Field(("arms", 0, "type"), TODO, None, "from the publication")]  # fmt: skip
    column = profile.column(arm)
    fields = []
    for i, code in enumerate(codes_of(profile.data, arm)):
        label = column.value_labels.get(str(code))
        n = int((profile.data[arm].astype(str).str.strip() == str(code)).sum()) if isinstance(
            code, str) else int((profile.data[arm] == code).sum())  # fmt: skip
        fields.append(Field(("arms", i, "code"), code, "high",
                            f"a value of {arm!r} ({n} rows)"))  # fmt: skip
        name = label or str(code)
        fields.append(Field(("arms", i, "name"), name, "high" if label else "low",
                            "its value label" if label else "no value label: the code itself; "
                            "write the arm's name"))  # fmt: skip
        category, kind, why = _category(name)
        if category is None:
            fields.append(Field(("arms", i, "category"), TODO, None,
                                f"{why or f'the name {name!r} does not say'}; exercise | "
                                "no treatment | usual care | placebo | other conservative"))  # fmt: skip
        else:
            fields.append(Field(("arms", i, "category"), category, "medium", why))
        if category == "exercise" or category is None:
            fields.append(Field(("arms", i, "type"), TODO, None, "from the publication"))
            for key in ("design", "delivery"):
                fields.append(
                    Field(
                        ("arms", i, key),
                        TODO,
                        None,
                        "from the publication"
                        + (
                            "" if category else " (exercise arms only: delete for a comparison arm)"
                        ),
                    )
                )
        else:
            fields.append(Field(("arms", i, "type"), kind or TODO, "medium" if kind else None,
                                why if kind else "from the publication"))  # fmt: skip
    return fields
