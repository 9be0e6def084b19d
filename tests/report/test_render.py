"""The renderer on small tidy frames shaped as in CONTRACTS.md."""

from __future__ import annotations

import json
import re
import zipfile

import pandas as pd
import pytest
from openpyxl import load_workbook

from ipdma.analysis import AnalysisPlan
from ipdma.report import ReportInputs, compose, render_html, write_report
from ipdma.report._interactions import Block, interaction_table
from ipdma.report._methods import methods_paragraphs
from ipdma.report._view import format_ci, format_p

from . import _frames


def test_number_formats_follow_the_paper():
    assert format_ci(-0.98, -4.49, 2.53) == "\u22120.98 (\u22124.49, 2.53)"
    assert format_ci(float("nan"), 0, 1) == ""
    assert format_p(0.2213) == "0.22"
    assert format_p(0.0495) == "0.050"  # never rounds a significant p up to 0.05
    assert format_p(0.0004) == "<0.001"
    assert format_p(None) == ""


def test_interaction_table_has_the_papers_layout():
    table = interaction_table(
        _frames.interactions(),
        [
            Block("Unadjusted", "pain", "short", "any", adjusted=False),
            Block("Adjusted", "pain", "short", "any", adjusted=True),
        ],
        key="table4",
        title="Table 4",
        scale="MD",
        labels=_frames.LABELS,
        models=_frames.models(),
    )
    frame = table.frame
    assert list(frame.columns[:2]) == ["Variable", "Level"]
    assert frame.columns[2:6].tolist() == [
        "Unadjusted: Studies",
        "Unadjusted: Participants",
        "Unadjusted: Interaction MD (95% CI)",
        "Unadjusted: p",
    ]
    assert table.groups == (("", 2), ("Unadjusted", 4), ("Adjusted", 4))
    # continuous modifier: one row; binary: reference row ("--") then the level row
    assert frame["Variable"].tolist() == [
        "Age (years)",
        "Sex",
        "Sex",
        "BMI",
        "Any LBP medication use",
        "Any LBP medication use",
    ]
    sex = frame.loc[frame["Variable"] == "Sex"]
    assert sex["Level"].tolist() == ["Male", "Female"]
    assert sex["Adjusted: Interaction MD (95% CI)"].tolist()[0] == "--"
    assert sex["Adjusted: Studies"].tolist() == ["11", ""]
    assert sex["Adjusted: Participants"].tolist() == ["1010", ""]
    # the across-trial rows (estimate 99) are not mixed into the within-trial table
    assert not frame.apply(lambda col: col.str.contains("99.00")).any().any()
    # the singular unadjusted BMI model is flagged on its row
    bmi = frame.loc[frame["Variable"] == "BMI"].iloc[0]
    assert bmi["Unadjusted: Interaction MD (95% CI)"].endswith("\u00a7")
    assert not bmi["Adjusted: Interaction MD (95% CI)"].endswith("\u00a7")
    assert "warning" in table.row_classes[3]
    # the repeated variable name is blanked in the displayed rows
    shown = [cells[0] for _, cells in table.display_rows()]
    assert shown[:3] == ["Age (years)", "Sex", ""]


def test_important_modifiers_are_highlighted_where_they_were_found():
    _, tables = compose(_frames.inputs())
    by_key = {t.key: t for t in tables}
    function = by_key["table5"]
    rows = function.frame["Variable"] == "Any LBP medication use"
    assert all("important" in function.row_classes[i] for i in rows[rows].index)
    adjusted = function.frame.loc[rows, "Adjusted: Interaction MD (95% CI)"].iloc[1]
    assert "\u2020" in adjusted
    assert not any("important" in c for c in by_key["table4"].row_classes)
    # footnotes explain only the marks a table uses
    assert any(n.startswith("\u2020") for n in function.notes)
    assert not any(n.startswith("\u2020") for n in by_key["table4"].notes)
    assert any(n.startswith("\u00a7") for n in by_key["table4"].notes)


def test_compose_places_every_table_in_the_papers_order():
    document, tables = compose(_frames.inputs())
    keys = [t.key for t in tables]
    assert keys == [
        "key_results",
        "table1",
        "overall_effects",
        "table4",
        "table5",
        "table6",
        "appendix3",
        "appendix4",
        "appendix5",
        "appendix6",
        "appendix7",
        "appendix8",
        "appendix9",
        "diagnostics_did_not_converge",
        "diagnostics_singular_fit",
        "model_problems",
        "provenance",
        "checks_replication",
    ]
    assert [s.key for s in document.sections] == [
        "summary",
        "methods",
        "trials",
        "overall",
        "modifiers",
        "sensitivity",
        "important",
        "appendices",
    ]
    appendix3 = next(t for t in tables if t.key == "appendix3")
    assert [g for g, _ in appendix3.groups] == [
        "",
        "Moderate term (adjusted)",
        "Long term (adjusted)",
    ]
    # diagnostics: one line per kind with its count, the models folded away
    by_key = {t.key: t for t in tables}
    assert len(by_key["diagnostics_did_not_converge"].frame) == 2
    assert by_key["diagnostics_did_not_converge"].collapsed
    assert by_key["provenance"].collapsed and not by_key["table4"].collapsed
    lines = [i.text for i in document.sections[-1].items if i.kind == "text"]
    assert any(line.startswith("Did not converge: 2 of ") for line in lines)
    assert any(line.startswith("Singular fit: 1 of ") for line in lines)
    problems = by_key["model_problems"].frame
    assert problems.columns.tolist()[:3] == ["Outcome", "Window", "Models"]
    pain_short = problems.loc[(problems["Outcome"] == "pain") & (problems["Window"] == "short")]
    assert pain_short[["Models", "Not converged", "Singular fit"]].values.tolist() == [
        ["24", "2", "1"]
    ]
    assert document.alerts == ()  # no alert banner above the findings


def test_summary_of_findings_comes_first_and_states_the_results():
    document, tables = compose(_frames.inputs())
    summary = document.sections[0]
    assert summary.title == "Summary of findings"
    text = " ".join(i.text for i in summary.items if i.kind == "text")
    assert "Exercise vs any non-exercise comparison: pain MD \u22123.2 (\u22125.0 to" in text
    assert "\u03c4 2.10 points)" in text and "(95% CIs; PI: 95% prediction interval;" in text
    assert "medication (Yes): function MD \u22124.8 (p = 0.016, q = 0.20)" in text
    assert "p < 0.05 and a difference of at least 3.3 points" in text
    key = next(t for t in tables if t.key == "key_results").frame
    assert len(key) == 9 and "Planted truth" not in key.columns
    truth = {"md_pain_usual": -10.7, "or_usual": 3.8, "interaction_function_medication": -4.8}
    _, tables = compose(_frames.inputs(truth=truth))
    key = next(t for t in tables if t.key == "key_results").frame
    planted = dict(
        zip(
            key["Exercise vs"] + "/" + key["Outcome"],
            key["Planted truth"],
            strict=True,
        )
    )
    assert planted["no treatment / usual care/Pain (0-100)"] == "\u221210.70"
    assert planted["no treatment / usual care/Global recovery"] == "3.80"
    assert planted["any comparison/Pain (0-100)"] == ""
    appendix9 = next(t for t in tables if t.key == "appendix9").frame
    assert "\u22124.80" in appendix9["Planted truth"].tolist()


def test_methods_state_the_recorded_choices():
    inputs = _frames.inputs()
    text = " ".join(
        methods_paragraphs(inputs.plan, inputs.settings, version="9.9", labels=_frames.LABELS)
    )
    for expected in (
        "restricted maximum likelihood (REML)",
        "Satterthwaite",
        "Laplace approximation",
        "closest to 13 weeks",
        "at most 20 weeks away",
        "30% of the baseline value",
        "20 points in pain",
        "10 points in function",
        "centred at its trial-specific mean",
        "Age and Sex",
        "at least 3.3 points on the 0-100 scale",
        "difference in odds ratio of at least 0.7",
        "ipdma 9.9",
    ):
        assert expected in text, expected
    methods_rule = {**inputs.plan, "importance": {"rule": "methods", "swe_fraction": 0.2}}
    text = " ".join(methods_paragraphs(methods_rule, inputs.settings, version="9.9"))
    assert "20% of the mean baseline value" in text
    assert "interaction odds ratio of at least 2.0" in text
    plan = {**inputs.plan, "model": {**inputs.plan["model"], "nagq": 7, "reml": False}}
    text = " ".join(methods_paragraphs(plan, {}, version="9.9"))
    assert "quadrature with 7 nodes" in text
    assert "REML" not in text
    assert "closest to 13 weeks" not in text  # settings absent: nothing invented
    default = json.loads(AnalysisPlan().model_dump_json())
    text = " ".join(methods_paragraphs(default, {}, version="9.9"))
    assert (
        "Global recovery: logistic mixed models by maximum likelihood with adaptive "
        "Gauss-Hermite quadrature with 7 nodes per random effect (independent random effects "
        "across trials of the treatment effect and the baseline value)."
    ) in text
    one = {**default, "model": {**default["model"], "random_binomial": ["treatment"]}}
    text = " ".join(methods_paragraphs(one, {}, version="9.9"))
    assert "the effect of the baseline value common to all trials" in text


def test_report_is_one_self_contained_file(tmp_path):
    files = write_report(_frames.inputs(), tmp_path)
    html = files.html.read_text("utf-8")
    assert files.html == tmp_path / "report" / "index.html"
    assert not re.search(r"""(src|href)\s*=\s*["'](?!#|data:)""", html)
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html
    assert html.count('src="data:image/png;base64,') == 2
    for key in ("table4", "table5", "table6", "appendix9", "figure2", "figure3", "provenance"):
        assert f'id="{key}"' in html and f'href="#{key}"' in html
    assert 'class="important"' in html
    assert "a" * 64 in html  # provenance hashes are shown in full


def test_tables_and_figures_are_written(tmp_path):
    files = write_report(_frames.inputs(), tmp_path)
    tables = tmp_path / "tables"
    table4 = pd.read_csv(tables / "table4.csv", dtype=str, keep_default_na=False)
    assert table4.columns[2] == "Unadjusted: Studies"
    assert len(table4) == 6
    book = load_workbook(tables / "ipdma-tables.xlsx")
    csvs = [p.stem for p in files.tables if p.suffix == ".csv"]
    assert len(book.sheetnames) == len(csvs)
    assert book.sheetnames[0] == "key_results"
    assert [n for n in book.sheetnames if n.startswith(("table", "appendix"))] == [
        c for c in csvs if c.startswith(("table", "appendix"))
    ]
    sheet = book["table4"]
    assert sheet["A1"].value.startswith("Table 4.")
    assert sheet.cell(row=2, column=3).value == "Unadjusted"
    assert sheet.freeze_panes == "A4"  # title, header groups, column labels stay in view
    # numbers are numbers (with the displayed decimals), estimates with CIs stay text
    studies = sheet.cell(row=4, column=3)
    assert isinstance(studies.value, int) and studies.number_format == "0"
    assert str(table4.iloc[0, 2]) == str(studies.value)
    ci = sheet.cell(row=4, column=5).value
    assert isinstance(ci, str) and "(" in ci
    overall = book["overall_effects"]
    header = [c.value for c in overall[2]]
    p_column = header.index("p") + 1
    values = [overall.cell(row=r, column=p_column) for r in range(3, overall.max_row + 1)]
    numeric = [c for c in values if isinstance(c.value, float)]
    assert numeric and all(c.number_format in ("0.00", "0.000") for c in numeric)
    assert overall.column_dimensions["A"].width >= 8
    # display CSVs carry a BOM (Excel reads them as UTF-8); the minus sign is preserved
    raw = (tables / "overall_effects.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "\u2212".encode() in raw
    for key in ("figure2", "figure3"):
        assert (tmp_path / "figures" / f"{key}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert b"<svg" in (tmp_path / "figures" / f"{key}.svg").read_bytes()


def test_two_runs_write_identical_files(tmp_path):
    first = write_report(_frames.inputs(), tmp_path / "a")
    second = write_report(_frames.inputs(), tmp_path / "b")
    for a, b in zip((*first.tables, first.html), (*second.tables, second.html), strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    with zipfile.ZipFile(first.tables[-1]) as book:
        assert {i.date_time for i in book.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_missing_results_render_with_a_notice():
    inputs = ReportInputs(title="Empty", version="0", notices=("The analysis has not been run.",))
    document, tables = compose(inputs)
    html = render_html(document)
    assert "The analysis has not been run." in html
    assert "No model results were found" in html
    assert [t.key for t in tables] == []


def test_table_view_rejects_inconsistent_headers():
    from ipdma.report import TableView

    with pytest.raises(ValueError, match="header groups"):
        TableView("t", "T", pd.DataFrame({"a": [1], "b": [2]}), groups=(("x", 1),))


def test_ids_are_unique_and_tables_never_overwrite_the_analysis_csvs(tmp_path):
    from ipdma.analysis._results import TABLE_NAMES as RESULT_TABLES

    document, tables = compose(_frames.inputs())
    html = render_html(document)
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    assert not {t.key for t in tables} & set(RESULT_TABLES)


def test_cells_with_fewer_than_two_trials_are_not_estimable_not_failed():
    from ipdma.report._tables import model_problems, problems_summary, warnings_table

    models = pd.DataFrame(
        [
            {"id": "a", "kind": "interaction", "outcome": "pain", "window": "short",
             "error": "only one trial (t1) ...", "status": "not estimable", "converged": None},
            {"id": "b", "kind": "interaction", "outcome": "pain", "window": "short",
             "error": "ModelError: boom", "status": "failed", "converged": None},
            {"id": "c", "kind": "interaction", "outcome": "pain", "window": "short",
             "error": None, "status": "fitted", "converged": True, "singular": False},
        ]
    )  # fmt: skip
    assert model_problems(models) == (1, 0, 0)
    problems = warnings_table(models).frame["Problem"].tolist()
    assert problems == ["not estimable: only one trial (t1) ...", "failed: ModelError: boom"]
    row = problems_summary(models).frame.iloc[0]
    assert (row["Models"], row["Failed"], row["Not estimable"]) == ("3", "1", "1")


def test_unstable_rows_are_marked_and_per_unit_odds_ratios_keep_three_decimals():
    base = _frames.inputs()
    frame = base.interactions.copy()
    recovery = (
        (frame.outcome == "recovery") & (frame.window == "short") & (frame.comparison == "any")
    )
    per_unit = recovery & (frame.level == "per unit")
    frame["unstable"] = ""
    frame.loc[recovery & ~per_unit, "unstable"] = "CI upper/lower ratio 42 > 25"
    frame.loc[per_unit, ["estimate", "ci_low", "ci_high"]] = [1.004, 0.996, 1.012]
    _, tables = compose(_frames.inputs(interactions=frame))
    table6 = next(t for t in tables if t.key == "table6")
    cells = " ".join(table6.frame.to_numpy(str).ravel())
    assert "\u00b6" in cells and any(n.startswith("\u00b6 unstable") for n in table6.notes)
    assert "1.004 (0.996, 1.012)" in cells
    table5 = next(t for t in tables if t.key == "table5")
    assert any("fewer functional limitations (better)" in n for n in table5.notes)


def test_titles_follow_the_plans_primary_window_and_comparison():
    """Issue 12: with primary_window = "moderate", Tables 4-6 show the moderate-window rows
    and their titles name that window with its target, never the paper's 3 months."""
    base = _frames.inputs()
    plan = {**base.plan, "primary_window": "moderate", "primary_comparison": "any"}
    _, tables = compose(_frames.inputs(plan=plan))
    by_key = {t.key: t for t in tables}
    table4 = by_key["table4"]
    assert "closest to 26 weeks, 6 months" in table4.title
    assert "3 months" not in table4.title and "13 weeks" not in table4.title
    assert "any non-exercise comparison" in table4.title
    # the moderate rows of the fixture differ from the short ones by 0.01 per cell
    frames = _frames.interactions()
    moderate = frames[
        (frames.outcome == "pain") & (frames.window == "moderate") & (frames.kind == "interaction")
    ]
    shown = " ".join(table4.frame.astype(str).to_numpy().ravel())
    value = moderate[moderate.adjusted & (moderate.modifier == list(_frames.MODIFIERS)[1])]
    assert f"{value.estimate.iloc[0]:.2f}".replace("-", "\u2212") in shown
    appendix3 = by_key["appendix3"]  # the other windows of the plan: short and long
    assert "13 weeks" in appendix3.title and "52 weeks" in appendix3.title
    assert "26 weeks" not in appendix3.title
    _, default = compose(base)
    assert "closest to 13 weeks, 3 months" in {t.key: t for t in default}["table4"].title
