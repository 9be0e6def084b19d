"""`ipdma demo` end to end, and its report rendered in headless Chromium.

The browser test needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs
them); without them it skips and says why.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from ipdma.cli import main

from .report._browser import chromium, unavailable

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """The demo, run once for this module (its time is measured by benchmarks/bench_demo.py)."""
    outdir = tmp_path_factory.mktemp("demo") / "ipdma-demo"
    assert main(["--quiet", "demo", str(outdir)]) == 0
    return outdir


def test_demo_writes_the_report_tables_and_figures(demo, capsys):
    outdir = demo
    output = outdir / "output"
    assert (output / "report" / "index.html").is_file()
    assert (output / "tables" / "ipdma-tables.xlsx").is_file()
    for name in ("overall", "interactions", "subgroups", "important", "models", "table4"):
        assert (output / "tables" / f"{name}.csv").is_file(), name
    for name in ("figure1", "figure2", "appendix2", "figure3", "figure4", "figure5",
                 "forest_pain_usual", "forest_recovery_conservative"):  # fmt: skip
        assert (output / "figures" / f"{name}.png").is_file(), name
        assert (output / "figures" / f"{name}.svg").is_file(), name


@pytest.mark.browser
@pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))
def test_demo_report_renders_in_chromium(demo, tmp_path):
    outdir = demo
    report = outdir / "output" / "report" / "index.html"
    with chromium() as driver:
        driver.get(report.resolve().as_uri())
        state = driver.execute_script("return document.readyState")
        assert state == "complete"
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
        assert errors == []
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth])"
        )
        # Figures 1-5, Appendix 2, a one-stage forest plot per outcome and comparison, the
        # effect curves of pain, function and global recovery (odds ratios), the calibration
        # plot and Appendix 9's forests
        assert len(images) == 20
        curves = [alt for alt, _, _ in images if alt.startswith("Non-linear interactions")]
        assert len(curves) == 3 and any("global recovery" in alt for alt in curves)
        for alt, complete, width in images:
            assert complete and width > 0, alt
            assert len(alt) > 20, alt  # alt text on every figure (its caption)
        # no horizontal overflow at 1280 px; tables scroll inside their own box
        width = driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= driver.execute_script("return document.documentElement.clientWidth")
        # the summary of findings opens the page and the whole of it (abstract, modifiers,
        # key results and their notes) fits the first screen of a 1280 x 800 display less
        # the browser's own bars (about 670 px of page)
        first = driver.execute_script("return document.querySelector('main section').id")
        assert first == "summary"
        bottom = driver.execute_script(
            "return document.getElementById('summary').getBoundingClientRect().bottom"
        )
        assert bottom <= 670, bottom
        tables = driver.execute_script(
            "return Array.from(document.querySelectorAll('table')).map("
            "t => [t.parentElement.id, t.tBodies[0].rows.length])"
        )
        rows = dict(tables)
        for key in ("key_results", "table1", "table2", "table3", "followup_weeks",
                    "overall_effects", "table4", "table5", "table6", "appendix3", "appendix8",
                    "appendix9", "provenance"):  # fmt: skip
            assert rows.get(key, 0) > 0, key
        assert rows["table4"] >= 19  # every candidate modifier has at least one row
        links = driver.execute_script(
            "return Array.from(document.querySelectorAll('nav a')).map(a => a.getAttribute('href'))"
        )
        for href in links:
            assert driver.execute_script(f"return !!document.getElementById('{href[1:]}')"), href
        folded = driver.execute_script(
            "return Array.from(document.querySelectorAll('details')).filter(d => !d.open)"
            ".map(d => d.querySelector('.table-wrap').id)"
        )
        assert "provenance" in folded and "table4" not in folded
        assert driver.save_screenshot(str(tmp_path / "demo-top.png"))
        driver.execute_script("document.getElementById('table4').scrollIntoView()")
        assert driver.save_screenshot(str(tmp_path / "demo-table4.png"))
        # print stylesheet: no navigation, nothing wider than the page
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        shown = driver.execute_script(
            "return getComputedStyle(document.querySelector('nav.toc')).display"
        )
        assert shown == "none"
        width = driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= driver.execute_script("return document.documentElement.clientWidth")


def test_demo_appendix9_lists_the_planted_modifiers(demo):
    """The modifiers the simulator planted (truth.json) are found at the primary window and
    comparison, adjusted, with the planted sign; nothing unstable is listed."""
    truth = json.loads((demo / "truth.json").read_text("utf-8"))["implied"]
    important = pd.read_csv(demo / "output" / "tables" / "important.csv")
    primary = important[
        (important.window == "short") & (important.comparison == "any") & important.adjusted
    ]
    found = {(r.outcome, r.modifier): r.estimate for r in primary.itertuples()}
    for outcome, modifier in (("function", "heavy_demands"), ("function", "medication"),
                              ("pain", "medication")):  # fmt: skip
        assert (outcome, modifier) in found, (outcome, modifier)
        planted = truth[f"interaction_{outcome}_{modifier}"]
        assert found[(outcome, modifier)] * planted > 0  # same direction
    interactions = pd.read_csv(demo / "output" / "tables" / "interactions.csv")
    keys = ["outcome", "window", "comparison", "modifier", "level", "adjusted"]
    listed = important[keys].merge(interactions, on=keys, how="left")
    assert len(listed) == len(important)
    assert (listed.unstable.fillna("") == "").all() and listed.significant.all()
    assert set(important.adjusted) == {True}  # adjusted rows primary, unadjusted beside
    assert important.other_estimate.notna().all()
