"""Specs, project files, long files, follow-up schedules and trials that cannot contribute."""

from __future__ import annotations

import os

from ._catalogue import Env, case

LONG = ("trial lng", "lng.csv")


@case("long", 1, *LONG, "participant L03 changes arm", "variable arm", "row 8", "value 'UC'")
def participant_changes_arm(env):
    frame = env.csv("lng")
    frame.loc[7, "arm"] = "UC"
    env.write_csv(frame, "lng")


@case("long", 1, *LONG, "duplicate participant id and time", "row")
def duplicate_visit(env):
    frame = env.csv("lng")
    frame.loc[1, "week"] = 0
    env.write_csv(frame, "lng")


@case("long", 1, *LONG, "visit time is missing", "variable week", "row 5")
def missing_visit_time(env):
    frame = env.csv("lng")
    frame["week"] = frame["week"].astype(float)
    frame.loc[4, "week"] = None
    env.write_csv(frame, "lng")


@case("long", 1, *LONG, "non-numeric value", "variable week", "value '13w'")
def text_visit_time(env):
    frame = env.csv("lng")
    frame["week"] = frame["week"].astype(object)
    frame.loc[1, "week"] = "13w"
    env.write_csv(frame, "lng")


def _notice(*parts: str):
    return ("notice:", *parts)


@case("schedule", 0, *_notice("trial csvt", "3, 6, 12 weeks looks like a schedule in months",
                              "time_unit = 'months'"))  # fmt: skip
def month_schedule_written_as_weeks(env):
    env.spec(
        "csvt",
        'columns = { 0 = "pain0", 13 = "pain13", 26 = "pain26" }',
        'columns = { 0 = "pain0", 3 = "pain13", 6 = "pain26", 12 = "site2" }',
    )
    frame = env.csv()
    frame["site2"] = frame["pain26"]
    env.write_csv(frame)


@case("schedule", 0, *_notice("trial csvt", "the column names say months"))
def month_column_names_with_weeks(env):
    frame = env.csv().rename(columns={"pain13": "pain_3m", "pain26": "pain_6m"})
    env.write_csv(frame)
    env.spec("csvt", '13 = "pain13", 26 = "pain26"', '13 = "pain_3m", 26 = "pain_6m"')


@case("schedule", 0, *_notice("trial lng", "13, 26 months looks like a schedule in weeks",
                              "time_unit = 'weeks'"))  # fmt: skip
def week_schedule_written_as_months(env):
    env.spec("lng", 'time_unit = "weeks"', 'time_unit = "months"')
    env.project("[analysis]", "[settings.windows]\nshort = { target = 13, max_distance = 9 }\n"
                "moderate = { target = 26, max_distance = 10 }\n"
                "long = { target = 52, max_distance = 2000 }\n\n[analysis]")  # fmt: skip


@case("schedule", 0, *_notice("trial csvt", "over 5 years"))
def follow_up_beyond_five_years(env):
    env.spec("csvt", '26 = "pain26"', '520 = "pain26"')


@case("contribute", 0, *_notice("trial csvt", "every outcome value is missing",
                                "cannot contribute"))  # fmt: skip
def all_outcomes_missing(env):
    frame = env.csv()
    for column in ("pain0", "pain13", "pain26"):
        frame[column] = None
    env.write_csv(frame)


def _after_check_tables(env: Env, text: str) -> None:
    assert text.rindex("every outcome value is missing") > text.index("replication of published")


@case("contribute", 0, *_notice("trial csvt", "every outcome value is missing"),
      command=("check",), after=_after_check_tables)  # fmt: skip
def check_shows_missing_outcomes_without_all(env):
    all_outcomes_missing(env)
    from ipdma.cli import main

    assert main(["--quiet", "ingest", str(env.root)]) == 0


@case("contribute", 0, *_notice("trial csvt", "no follow-up outcome value"))
def only_baseline_outcomes(env):
    frame = env.csv()
    frame["pain13"] = None
    frame["pain26"] = None
    env.write_csv(frame)


@case("contribute", 0, *_notice("trial csvt", "no participant is in an exercise arm"))
def no_exercise_arm(env):
    env.spec("csvt", 'category = "exercise"\ntype = "core strengthening"\n'
             'design = "standardized"\ndelivery = "group"',
             'category = "other conservative"\ntype = "massage"')  # fmt: skip


@case("contribute", 0, *_notice("trial csvt", "only one arm has participants"))
def single_arm(env):
    frame = env.csv()
    frame["arm"] = 1
    env.write_csv(frame)


@case("contribute", 0, *_notice("trial csvt", "no participant is in a comparison arm"))
def exercise_versus_exercise(env):
    env.spec("csvt", 'category = "usual care"\ntype = "usual care"',
             'category = "exercise"\ntype = "aerobic"\ndesign = "standardized"\n'
             'delivery = "group"')  # fmt: skip


@case("spec", 1, "listed twice", "entries 1 and 3", "project.toml", "remove the repeated")
def spec_listed_twice(env):
    env.project('"trials/lng.toml"]', '"trials/csvt.toml"]')


@case("spec", 1, "trial id 'csvt' is used twice", "also in", "unique")
def two_specs_same_trial_id(env):
    env.spec("xlst", 'id = "xlst"', 'id = "csvt"')


@case("spec", 1, "not UTF-8", "line 4, column", "csvt.toml", "save the file as UTF-8")
def spec_not_utf8(env):
    path = env.root / "trials" / "csvt.toml"
    path.write_bytes(path.read_bytes().replace(b"Csv trial", "Csv tr\xefal".encode("latin-1")))


@case("spec", 0)
def spec_with_utf8_bom(env):
    path = env.root / "trials" / "csvt.toml"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())


@case("spec", 1, "not valid TOML", "csvt.toml", "line")
def spec_toml_syntax_error(env):
    env.spec("csvt", 'id = "pid"', 'id = "pid')


@case("spec", 1, "csvt.toml", "kep", "keep")
def spec_unknown_key(env):
    env.spec("csvt", 'keep = ["site"]', 'kep = ["site"]')


@case("spec", 1, "spec file does not exist", "lng.toml")
def spec_file_missing(env):
    (env.root / "trials" / "lng.toml").unlink()


@case("spec", 1, "spec path is a folder", "lng.toml")
def spec_path_is_folder(env):
    (env.root / "trials" / "lng.toml").unlink()
    (env.root / "trials" / "lng.toml").mkdir()


@case("spec", 1, "csvt.toml")
def spec_empty_file(env):
    (env.root / "trials" / "csvt.toml").write_text("", encoding="utf-8")


@case("spec", 1, "column 'agee' named in variables.age is not in the data file",
      "file ", "csvt.csv", "spec ", "csvt.toml", "did you mean 'age'")  # fmt: skip
def spec_column_names_both_files(env):
    env.spec("csvt", 'column = "age"', 'column = "agee"')


@case("spec", 1, "unknown variable 'agee'", "csvt.toml", "did you mean 'age'")
def spec_unknown_variable(env):
    env.spec("csvt", "[variables.age]", "[variables.agee]")


@case("spec", 1, "trial csvt", "vas_100", "instrument")
def spec_unknown_instrument(env):
    env.spec("csvt", 'instrument = "vas_100mm"', 'instrument = "vas_100"')


@case("spec", 1, "project file does not exist", "project.toml")
def project_file_missing(env):
    (env.root / "project.toml").unlink()


@case("spec", 0, command=("ingest", "{root}"))
def ingest_accepts_a_folder(env):
    env.spec("csvt", 'label = "Csv trial, 2010"', 'label = "Csv trial, 2011"')


@case("spec", 0, command=("ingest", "{root}/project.toml"))
def ingest_accepts_the_file(env):
    env.spec("csvt", 'label = "Csv trial, 2010"', 'label = "Csv trial, 2011"')


@case("spec", 1, "trials", "project.toml")
def project_without_trials(env):
    env.project('trials = ["trials/csvt.toml", "trials/xlst.toml", "trials/lng.toml"]',
                "trials = []")  # fmt: skip


@case("analysis", 1, "analysis.modifiers names 'agee'", "did you mean 'age'",
      "project.toml", command=("analyze", "--jobs", "1"))  # fmt: skip
def unknown_modifier_is_an_upfront_error(env):
    env.project('modifiers = ["age"]', 'modifiers = ["agee"]')


@case("analysis", 1, "analysis.adjust_for names 'sexx'", command=("analyze", "--jobs", "1"))
def unknown_adjuster_is_an_upfront_error(env):
    env.project('modifiers = ["age"]', 'modifiers = ["age"]\nadjust_for = ["sexx"]')


@case("analysis", 0, "notice:", "data/csvt.csv changed after the master dataset was written",
      "ipdma ingest", command=("analyze", "--jobs", "1"))  # fmt: skip
def stale_master_notice(env):
    frame = env.csv()
    frame.loc[0, "age"] = 44.4
    env.write_csv(frame)


@case("analysis", 1, "no master dataset found", "ipdma ingest", command=("analyze",),
      outputs_intact=False)  # fmt: skip
def analyze_before_ingest(env):
    os.remove(env.root / "output" / "master.duckdb")


@case("spec", 1, "project.toml", "not UTF-8", "line 2")
def project_file_not_utf8(env):
    path = env.root / "project.toml"
    path.write_bytes(path.read_bytes().replace(b'"hostile"', '"h\xf6stile"'.encode("latin-1")))


@case("spec", 1, "project.toml", "not valid TOML")
def project_file_syntax_error(env):
    env.project('name = "hostile"', "name = hostile")


@case("spec", 1, "csvt.toml", "a trial spec, not a project file",
      command=("ingest", "{root}/trials/csvt.toml"))  # fmt: skip
def trial_spec_given_as_project(env):
    pass


@case("spec", 1, "csvt.csv", "not valid TOML")
def project_lists_a_data_file_as_spec(env):
    env.project('"trials/csvt.toml"', '"data/csvt.csv"')


@case("analysis", 1, "no master dataset found", "ipdma ingest", command=("check",),
      outputs_intact=False)  # fmt: skip
def check_before_ingest(env):
    os.remove(env.root / "output" / "master.duckdb")


@case("analysis", 1, "not a readable master dataset", command=("analyze", "--jobs", "1"))
def analyze_on_a_corrupt_master(env):
    path = env.root / "output" / "master.duckdb"
    content = path.read_bytes()
    path.write_bytes(content[:4096] + b"\x00" * 100)


@case("analysis", 1, "master.duckdb", command=("analyze", "{root}/output/master.duckdb"))
def analyze_a_master_that_is_a_folder(env):
    os.remove(env.root / "output" / "master.duckdb")
    (env.root / "output" / "master.duckdb").mkdir()


@case("analysis", 0, "notice:", "trials/csvt.toml changed after the master dataset was written",
      command=("analyze", "--jobs", "1"))  # fmt: skip
def stale_master_notice_after_a_spec_edit(env):
    env.spec("csvt", 'instrument = "vas_100mm"', 'instrument = "nrs_0_10"')
