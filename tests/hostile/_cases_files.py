"""Broken or surprising data files: encodings, delimiters, truncation, duplicates, Excel."""

from __future__ import annotations

import codecs
import errno
import os

import openpyxl

from ._catalogue import Env, case

CSV = ("trial csvt", "csvt.csv")
HEADER = "pid,arm,age,sex,pain0,pain13,pain26,site\n"
ROWS = [f"{i},{1 + i % 2},{30 + i}.5,{'mf'[i % 2]},{50 + i},{40 + i},{30 + i},north\n"
        for i in range(1, 11)]  # fmt: skip
GOOD = HEADER + "".join(ROWS)


def _encoded(env: Env, encoding: str, bom: bytes = b"") -> None:
    text = GOOD.replace("north", "Malmö")
    env.raw_csv(bom + text.encode(encoding))


@case("encoding", 0)
def utf16_le_with_bom(env):
    _encoded(env, "utf-16-le", codecs.BOM_UTF16_LE)


@case("encoding", 0)
def utf16_be_with_bom(env):
    _encoded(env, "utf-16-be", codecs.BOM_UTF16_BE)


@case("encoding", 0)
def utf16_le_without_bom(env):
    _encoded(env, "utf-16-le")


@case("encoding", 0)
def utf8_with_bom(env):
    _encoded(env, "utf-8", codecs.BOM_UTF8)


@case("encoding", 0)
def utf32_with_bom(env):
    _encoded(env, "utf-32-le", codecs.BOM_UTF32_LE)


@case("encoding", 0)
def latin1_without_declaration(env):
    _encoded(env, "latin-1")


@case("encoding", 1, *CSV, "cannot be decoded as 'utf-8'", "encoding")
def wrong_declared_encoding(env):
    _encoded(env, "latin-1")
    env.spec("csvt", 'id = "pid"', 'id = "pid"\nencoding = "utf-8"')


@case("encoding", 1, *CSV, "cannot be decoded as 'utf-8'", "utf-16")
def utf16_declared_as_utf8(env):
    _encoded(env, "utf-16-le", codecs.BOM_UTF16_LE)
    env.spec("csvt", 'id = "pid"', 'id = "pid"\nencoding = "utf-8"')


@case("encoding", 1, *CSV, "NUL bytes", "encoding")
def binary_garbage_as_csv(env):
    env.raw_csv(bytes(range(256)) * 20)


@case("delimiter", 1, *CSV, "separated by ';'", "delimiter = ';'")
def semicolon_file_without_delimiter(env):
    env.raw_csv(GOOD.replace(",", ";"))


@case("delimiter", 1, *CSV, "separated by '\\t'", "delimiter")
def tab_file_without_delimiter(env):
    env.raw_csv(GOOD.replace(",", "\t"))


@case("delimiter", 1, *CSV, "separated by '|'", "delimiter = '|'")
def pipe_file_without_delimiter(env):
    env.raw_csv(GOOD.replace(",", "|"))


@case("delimiter", 1, *CSV, "separated by ','", "delimiter = ','")
def comma_file_declared_semicolon(env):
    env.spec("csvt", 'id = "pid"', 'id = "pid"\ndelimiter = ";"')


@case("delimiter", 1, *CSV, "decimal and delimiter are both ','", "delimiter")
def decimal_comma_in_comma_file(env):
    env.spec("csvt", 'id = "pid"', 'id = "pid"\ndecimal = ","')


@case("delimiter", 1, *CSV, "variable age", "decimal = ','", "row 1", "value '31,5'")
def decimal_comma_values_not_declared(env):
    env.raw_csv(GOOD.replace(",", ";").replace(".5", ",5"))
    env.spec("csvt", 'id = "pid"', 'id = "pid"\ndelimiter = ";"')


def _age_read_right(env: Env, text: str) -> None:
    import duckdb

    with duckdb.connect(str(env.root / "output" / "master.duckdb"), read_only=True) as con:
        ages = [r[0] for r in con.execute(
            "SELECT age FROM participants WHERE trial='csvt' ORDER BY age").fetchall()]  # fmt: skip
    assert ages[0] == 31.5, ages


@case("delimiter", 0, after=_age_read_right)
def decimal_point_values_declared_comma(env):
    env.raw_csv(GOOD.replace(",", ";"))
    env.spec("csvt", 'id = "pid"', 'id = "pid"\ndelimiter = ";"\ndecimal = ","')


@case("delimiter", 0, after=_age_read_right)
def semicolon_decimal_comma_declared(env):
    env.raw_csv(GOOD.replace(",", ";").replace(".5", ",5"))
    env.spec("csvt", 'id = "pid"', 'id = "pid"\ndelimiter = ";"\ndecimal = ","')


@case("truncated", 1, *CSV, "line 11", "incomplete (a truncated file?)")
def truncated_mid_row(env):
    env.raw_csv(GOOD[: len(GOOD) - 12])


@case("truncated", 1, *CSV, "line 11", "incomplete")
def truncated_after_first_field(env):
    env.raw_csv(GOOD[: GOOD.rindex("\n", 0, len(GOOD) - 1) + 3])


@case("truncated", 1, *CSV, "line 4", "fields but the header has 8", "stray delimiter")
def row_with_an_extra_field(env):
    rows = list(ROWS)
    rows[2] = rows[2].replace("north", "north,extra")
    env.raw_csv(HEADER + "".join(rows))


@case("truncated", 1, *CSV, "line 6", "never closed", "quote")
def unclosed_quote(env):
    rows = list(ROWS)
    rows[4] = rows[4].replace("north", '"north')
    env.raw_csv(HEADER + "".join(rows))


@case("truncated", 1, *CSV, "has no rows")
def header_only(env):
    env.raw_csv(HEADER)


@case("truncated", 1, *CSV, "empty (0 bytes)", "re-export")
def empty_file(env):
    env.raw_csv(b"")


@case("truncated", 1, *CSV, "only blank lines")
def blank_lines_only(env):
    env.raw_csv("\n\n  \n")


@case("duplicate", 1, *CSV, "'age' appears twice", "columns 3 and 9", "rename one")
def duplicate_column_used(env):
    env.raw_csv(HEADER.strip() + ",age\n" + "".join(r.strip() + ",77\n" for r in ROWS))


@case("duplicate", 1, *CSV, "'note' appears twice", "rename one")
def duplicate_column_unused(env):
    env.raw_csv(HEADER.strip() + ",note,note\n" + "".join(r.strip() + ",a,b\n" for r in ROWS))


@case("duplicate", 1, "trial xlst", "xlst.xlsx", "'pain13' appears twice", "rename one")
def duplicate_column_excel(env):
    frame = env.xlsx()
    frame.insert(3, "pain13_copy", frame["pain13"])
    frame = frame.rename(columns={"pain13_copy": "pain13"})
    env.write_xlsx(frame)


def _excel_errors(env: Env, column: str, rows: list[int], value: str) -> None:
    book = openpyxl.load_workbook(env.data / "xlst.xlsx")
    sheet = book.active
    header = [c.value for c in sheet[1]]
    for row in rows:
        sheet.cell(row=row + 1, column=header.index(column) + 1, value=value)
    book.save(env.data / "xlst.xlsx")


EXCEL = ("trial xlst", "xlst.xlsx", "Excel error value", "fix the formula")


@case("excel", 1, *EXCEL, "variable age", "row 3", "value '#DIV/0!'")
def excel_div0_in_used_column(env):
    _excel_errors(env, "age", [3], "#DIV/0!")


@case("excel", 1, *EXCEL, "variable pain13", "row 1", "value '#REF!'", "(10 cell(s))")
def excel_ref_column(env):
    _excel_errors(env, "pain13", list(range(1, 11)), "#REF!")


@case("excel", 1, *EXCEL, "variable sex", "value '#N/A'")
def excel_na_error_in_coded_column(env):
    _excel_errors(env, "sex", [2], "#N/A")


@case("excel", 1, *EXCEL, "variable pid", "value '#VALUE!'")
def excel_error_in_id(env):
    _excel_errors(env, "pid", [5], "#VALUE!")


@case("excel", 0)
def excel_error_in_unused_column(env):
    frame = env.xlsx()
    frame["unused"] = 1.0
    env.write_xlsx(frame)
    _excel_errors(env, "unused", [1, 2], "#DIV/0!")


@case("excel", 1, "trial xlst", "xlst.xlsx", "sheet 'Results' is not in the workbook")
def excel_missing_sheet(env):
    env.spec("xlst", 'id = "pid"', 'id = "pid"\nsheet = "Results"')


@case("excel", 1, "trial xlst", "xlst.xlsx", "corrupt")
def excel_truncated(env):
    path = env.data / "xlst.xlsx"
    content = path.read_bytes()
    path.unlink()
    path.write_bytes(content[: len(content) // 2])


@case("excel", 1, "trial xlst", "xlst.xlsx", "corrupt")
def excel_is_text(env):
    path = env.data / "xlst.xlsx"
    path.unlink()
    path.write_text(GOOD, encoding="utf-8")


@case("value", 1, *CSV, "infinite value", "variable sc", "row 2", "value inf")
def inf_in_variable_without_range(env):
    frame = env.csv()
    frame["sc"] = [1.0, float("inf")] + [2.0] * 8
    env.write_csv(frame)
    env.spec("csvt", "[variables.age]", '[variables.score]\ncolumn = "sc"\n\n[variables.age]')


@case("value", 1, *CSV, "infinite value", "variable pain26", "value -inf")
def minus_inf_in_outcome(env):
    frame = env.csv()
    frame["pain26"] = frame["pain26"].astype(float)
    frame.loc[4, "pain26"] = float("-inf")
    env.write_csv(frame)


@case("value", 1, *CSV, "infinite value", "variable age")
def inf_text_in_age(env):
    frame = env.csv()
    frame["age"] = frame["age"].astype(object)
    frame.loc[0, "age"] = "Infinity"
    env.write_csv(frame)


@case("value", 1, *CSV, "non-numeric value", "variable age", "row 3", "value 'abc'")
def text_in_numeric_column(env):
    frame = env.csv()
    frame["age"] = frame["age"].astype(object)
    frame.loc[2, "age"] = "abc"
    env.write_csv(frame)


@case("value", 1, *CSV, "outside", "variable pain13", "value 250")
def value_outside_instrument_range(env):
    frame = env.csv()
    frame.loc[6, "pain13"] = 250
    env.write_csv(frame)


@case("value", 1, *CSV, "not mapped by `codes`", "variable sex", "value 'x'", "spec ")
def unmapped_code_names_spec_and_data(env):
    frame = env.csv()
    frame.loc[1, "sex"] = "x"
    env.write_csv(frame)


@case("value", 1, *CSV, "arm code not mapped", "variable arm", "row 4", "spec ", "csvt.toml")
def unmapped_arm_names_spec_and_data(env):
    frame = env.csv()
    frame.loc[3, "arm"] = 7
    env.write_csv(frame)


@case("value", 1, *CSV, "participant id is missing", "row 6")
def missing_participant_id(env):
    frame = env.csv()
    frame.loc[5, "pid"] = None
    env.write_csv(frame)


@case("value", 1, *CSV, "duplicate participant ids", "value '3'")
def duplicate_ids_wide(env):
    frame = env.csv()
    frame.loc[6, "pid"] = "3"
    env.write_csv(frame)


@case("value", 1, *CSV, "without an arm code", "row 2")
def missing_arm_code(env):
    frame = env.csv()
    frame["arm"] = frame["arm"].astype(float)
    frame.loc[1, "arm"] = None
    env.write_csv(frame)


@case("file", 1, *CSV, "is a folder, not a file", "fix:")
def data_file_is_a_directory(env):
    (env.data / "csvt.csv").unlink()
    (env.data / "csvt.csv").mkdir()


@case("file", 1, *CSV, "named pipe", "regular file")
def data_file_is_a_named_pipe(env):
    (env.data / "csvt.csv").unlink()
    os.mkfifo(env.data / "csvt.csv")


@case("file", 1, *CSV, "symbolic links form a loop")
def data_file_symlink_loop(env):
    (env.data / "csvt.csv").unlink()
    os.symlink(env.data / "csvt.csv", env.data / "csvt.csv")


@case("file", 1, *CSV, "does not exist")
def data_file_dangling_symlink(env):
    (env.data / "csvt.csv").unlink()
    os.symlink(env.data / "gone.csv", env.data / "csvt.csv")


@case("file", 1, *CSV, "does not exist", "[source].file")
def data_file_missing(env):
    (env.data / "csvt.csv").unlink()


@case("file", 1, "longer than the system allows")
def data_file_name_too_long(env):
    env.spec("csvt", "../data/csvt.csv", "../data/" + "x" * 300 + ".csv")


@case("file", 1, "unknown file format '.foo'")
def data_file_unknown_extension(env):
    os.rename(env.data / "csvt.csv", env.data / "csvt.foo")
    env.spec("csvt", "../data/csvt.csv", "../data/csvt.foo")


@case("file", 1, *CSV, "corrupt")
def csv_declared_as_stata(env):
    env.spec("csvt", 'id = "pid"', 'id = "pid"\nformat = "dta"')


def _unreadable(env: Env) -> None:
    """A file the user cannot read (simulated: the test may run as root, which reads all)."""
    target = str(env.data / "csvt.csv")
    real_access, real_open = os.access, open

    def access(path, mode, *args, **kwargs):
        return False if str(path) == target else real_access(path, mode, *args, **kwargs)

    def opener(file, *args, **kwargs):
        if str(file) == target:
            raise PermissionError(errno.EACCES, "Permission denied", target)
        return real_open(file, *args, **kwargs)

    env.monkeypatch.setattr(os, "access", access)
    env.monkeypatch.setattr("builtins.open", opener)


@case("file", 1, *CSV, "permission denied", "chmod")
def data_file_unreadable(env):
    _unreadable(env)


@case("file", 1, *CSV, "permission denied", "chmod", as_user=True)
def data_file_chmod_000(env):
    os.chmod(env.data / "csvt.csv", 0)
