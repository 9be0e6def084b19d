"""Direct identifiers in id and ``keep`` columns, detected by their values."""

from __future__ import annotations

import duckdb

from ._catalogue import Env, case

UPPER = ["JANSEN, JAN", "DE VRIES, PIET", "BAKKER, ANNA", "SMIT, KEES", "VISSER, EMMA",
         "MULDER, LARS", "BOS, EVA", "DEKKER, IDA", "MEIJER, TOM", "VOS, SANNE"]  # fmt: skip
PARTICLES = ["Jan de Vries", "Maria van Dijk", "Piet van der Berg", "Anna ter Horst",
             "Carlos de la Cruz", "Eva van den Broek", "Ida de Boer", "Lars van Leeuwen",
             "Tom ten Brink", "Sanne op den Kamp"]  # fmt: skip
LOWER = ["jan jansen", "maria bakker", "piet smit", "anna visser", "kees mulder",
         "emma bos", "lars dekker", "eva meijer", "tom vos", "ida berg"]  # fmt: skip
GERMAN = ["Müller, Jürgen", "Schmidt, Ursula", "von Trapp, Maria", "Weber, Klaus",
          "Fischer, Petra", "Becker, Uwe", "Wagner, Sabine", "Schulz, Monika",
          "Hoffmann, Karl", "Meyer, Claudia"]  # fmt: skip
NORDIC = ["Søren Kierkegaard", "Astrid Lindgren", "Knut Hamsun", "Ingrid Bergman",
          "Liv Ullmann", "Mette Frederiksen", "Jens Stoltenberg", "Sigrid Undset",
          "Olav Duun", "Freja Beha"]  # fmt: skip
SPANISH = ["José García López", "María Fernández", "Juan Carlos Pérez", "Lucía Sánchez",
           "Miguel de Cervantes", "Carmen Ruiz", "Javier Martínez", "Ana Isabel Gómez",
           "Pedro Álvarez", "Isabel Moreno"]  # fmt: skip
SINGLE_SURNAMES = ["Jansen", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "Dekker",
                   "Janssen", "Hansen", "Nielsen"]  # fmt: skip


def _ten(values: list[object]) -> list[object]:
    assert len(values) == 10 and len(set(values)) == 10
    return list(values)


def _bsn(seed: int) -> str:
    digits = [int(d) for d in f"{12345670 + 97 * seed:08d}"]
    while True:
        check = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
        if check < 10:
            return "".join(map(str, digits)) + str(check)
        digits[-1] = (digits[-1] + 1) % 10


def _nhs(seed: int) -> str:
    digits = [int(d) for d in f"{400000000 + 7919 * seed:09d}"]
    while True:
        check = 11 - sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
        check = 0 if check == 11 else check
        if check < 10:
            text = "".join(map(str, digits)) + str(check)
            return f"{text[:3]} {text[3:6]} {text[6:]}"
        digits[-1] = (digits[-1] + 1) % 10


ID = ("trial csvt", "csvt.csv", "variable pid", "looks like a direct identifier",
      "pseudonymize")  # fmt: skip
KEEP = ("trial csvt", "csvt.csv", "variable extra", "looks like a direct identifier",
        "[source].keep", "allow_identifiers")  # fmt: skip


def _ids(env: Env, values: list[object]) -> None:
    frame = env.csv()
    frame["pid"] = _ten(values)
    env.write_csv(frame)


@case("identifier", 1, *ID, "person names")
def id_upper_case_names(env):
    _ids(env, UPPER)


@case("identifier", 1, *ID, "person names")
def id_names_with_particles(env):
    _ids(env, PARTICLES)


@case("identifier", 1, *ID, "person names")
def id_lower_case_names(env):
    _ids(env, LOWER)


@case("identifier", 1, *ID, "e-mail")
def id_emails(env):
    _ids(env, [f"p{i}@mail.nl" for i in range(10)])


@case("identifier", 1, *ID, "social security")
def id_us_ssn(env):
    _ids(env, [f"{100 + i}-{10 + i}-{1000 + 7 * i}" for i in range(10)])


@case("identifier", 1, *ID, "Nordic personal numbers")
def id_danish_cpr(env):
    _ids(env, [f"{10 + i:02d}0{(i % 9) + 1}{60 + i}-{1000 + 37 * i}" for i in range(10)])


@case("identifier", 1, *ID, "BSN")
def id_dutch_bsn_numbers(env):
    _ids(env, [_bsn(i) for i in range(10)])


def _no_raw_ids(env: Env, text: str) -> None:
    with duckdb.connect(str(env.root / "output" / "master.duckdb"), read_only=True) as con:
        pids = {r[0] for r in con.execute("SELECT pid FROM participants WHERE trial='csvt'")
                .fetchall()}  # fmt: skip
        outcome_pids = {r[0] for r in con.execute(
            "SELECT pid FROM outcomes WHERE trial='csvt'").fetchall()}  # fmt: skip
    assert len(pids) == 10 and not pids & set(_ten(UPPER)), pids
    assert outcome_pids <= pids


@case("identifier", 0, after=_no_raw_ids)
def id_pseudonymized_names_pass(env):
    _ids(env, UPPER)
    env.spec("csvt", 'keep = ["site"]', 'keep = ["site"]\npseudonymize = true')
    env.monkeypatch.setenv("IPDMA_PSEUDONYM_KEY", "a-secret-key-of-some-length")


@case("identifier", 1, "IPDMA_PSEUDONYM_KEY", "at least 16 characters")
def id_pseudonymize_without_key(env):
    env.spec("csvt", 'keep = ["site"]', 'keep = ["site"]\npseudonymize = true')
    env.monkeypatch.delenv("IPDMA_PSEUDONYM_KEY", raising=False)


@case("identifier", 1, "participant ids", "differ only in letter case", "variable pid",
      "trial lng", "lng.csv")  # fmt: skip
def id_differ_only_by_case(env):
    frame = env.csv("lng")
    frame.loc[frame["pid"] == "L02", "pid"] = "l01"
    frame.loc[frame["pid"] == "l01", "arm"] = "EX"
    env.write_csv(frame, "lng")


def _leading_zeros(env: Env, text: str) -> None:
    with duckdb.connect(str(env.root / "output" / "master.duckdb"), read_only=True) as con:
        pids = sorted(r[0] for r in con.execute(
            "SELECT pid FROM participants WHERE trial='csvt'").fetchall())  # fmt: skip
    assert pids[0] == "0001" and pids[-1] == "0010", pids


@case("identifier", 0, after=_leading_zeros)
def id_leading_zeros_stay_text(env):
    frame = env.csv()
    frame["pid"] = [f"{i:04d}" for i in range(1, 11)]
    env.write_csv(frame)


@case("identifier", 1, *KEEP, "person names")
def keep_upper_case_names(env):
    env.keep(_ten(UPPER))


@case("identifier", 1, *KEEP, "person names")
def keep_names_with_particles(env):
    env.keep(_ten(PARTICLES))


@case("identifier", 1, *KEEP, "person names")
def keep_lower_case_names(env):
    env.keep(_ten(LOWER))


@case("identifier", 1, *KEEP, "person names")
def keep_german_names(env):
    env.keep(_ten(GERMAN))


@case("identifier", 1, *KEEP, "person names")
def keep_nordic_names(env):
    env.keep(_ten(NORDIC))


@case("identifier", 1, *KEEP, "person names")
def keep_spanish_names(env):
    env.keep(_ten(SPANISH))


@case("identifier", 1, *KEEP, "person names")
def keep_single_surnames(env):
    env.keep(_ten(SINGLE_SURNAMES))


@case("identifier", 1, *KEEP, "postcodes")
def keep_dutch_postcodes(env):
    env.keep([f"{1000 + 37 * i} {'ABCDEFGHKL'[i]}{'MNPRSTVWXZ'[i]}" for i in range(10)])


@case("identifier", 1, *KEEP, "postcodes")
def keep_uk_postcodes(env):
    env.keep(["SW1A 1AA", "EC1A 1BB", "W1A 0AX", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT",
              "LS1 4AP", "G2 3AX", "EH1 1YZ"])  # fmt: skip


@case("identifier", 1, *KEEP, "dates of birth stored as numbers")
def keep_birth_dates_yyyymmdd(env):
    env.keep([19500101 + 30000 * i + 101 * (i % 9) for i in range(10)])


@case("identifier", 1, *KEEP, "dates of birth stored as numbers")
def keep_birth_dates_ddmmyyyy(env):
    env.keep([int(f"{(i % 27) + 1:02d}{(i % 12) + 1:02d}{1945 + 3 * i}") for i in range(10)])


@case("identifier", 1, *KEEP, "dates of birth")
def keep_birth_dates_dd_mm_yyyy_text(env):
    env.keep([f"{(i % 27) + 1:02d}/{(i % 12) + 1:02d}/{1945 + 3 * i}" for i in range(10)])


@case("identifier", 1, *KEEP, "dates of birth")
def keep_birth_dates_iso(env):
    env.keep([f"{1945 + 3 * i}-{(i % 12) + 1:02d}-{(i % 27) + 1:02d}" for i in range(10)])


@case("identifier", 1, *KEEP, "e-mail")
def keep_emails(env):
    env.keep([f"Name.{i}@Example.COM" for i in range(10)])


@case("identifier", 1, *KEEP, "phone")
def keep_phones(env):
    env.keep([f"+31 6 {1234567 + 111 * i}" for i in range(10)])


@case("identifier", 1, *KEEP, "street")
def keep_street_addresses(env):
    env.keep([f"Kerkstraat {i + 1}" for i in range(10)])


@case("identifier", 1, *KEEP, "NHS")
def keep_nhs_numbers(env):
    env.keep([_nhs(i) for i in range(10)])


@case("identifier", 1, *KEEP, "Spanish DNI")
def keep_spanish_dni(env):
    letters = "TRWAGMYFPDXBNJZSQVHLCKE"
    env.keep([f"{12345678 + 1001 * i}{letters[(12345678 + 1001 * i) % 23]}" for i in range(10)])


@case("identifier", 1, *KEEP, "codice fiscale")
def keep_italian_tax_codes(env):
    env.keep([f"RSSMRA{80 + i}A{10 + i}H501{'ABCDEFGHIJ'[i]}" for i in range(10)])


@case("identifier", 1, "variable surname", "column name contains 'surname'")
def keep_column_named_surname(env):
    env.keep(["a", "b"], column="surname")


@case("identifier", 1, "trial xlst", "xlst.xlsx", "variable extra", "person names")
def keep_names_in_excel(env):
    env.keep(_ten(UPPER), trial="xlst")


@case("identifier", 0)
def keep_names_allowed_by_spec(env):
    env.keep(_ten(UPPER))
    env.spec("csvt", 'keep = ["site", "extra"]',
             'keep = ["site", "extra"]\nallow_identifiers = ["extra"]')  # fmt: skip


@case("identifier", 0)
def keep_ordinary_categories_pass(env):
    env.keep(["manual therapy", "core strengthening", "graded activity", "walking program",
              "yoga class"])  # fmt: skip


@case("identifier", 0)
def keep_city_names_pass(env):
    env.keep(["Leiden", "Utrecht", "Malmö", "Aarhus", "Bergen"])


def _excel_leading_zeros(env: Env, text: str) -> None:
    with duckdb.connect(str(env.root / "output" / "master.duckdb"), read_only=True) as con:
        pids = sorted(r[0] for r in con.execute(
            "SELECT pid FROM participants WHERE trial='xlst'").fetchall())  # fmt: skip
    assert pids[0] == "0001" and pids[-1] == "0010", pids


@case("identifier", 0, after=_excel_leading_zeros)
def id_leading_zeros_stay_text_in_excel(env):
    frame = env.xlsx()
    frame["pid"] = [f"{i:04d}" for i in range(1, 11)]
    env.write_xlsx(frame)


@case("identifier", 1, "participant ids", "differ only in letter case", "variable pid",
      "trial csvt", "csvt.csv")  # fmt: skip
def id_differ_only_by_case_wide(env):
    frame = env.csv()
    frame["pid"] = [f"P{i:02d}" for i in range(1, 11)]
    frame.loc[9, "pid"] = "p01"
    env.write_csv(frame)
