"""`ipdma demo` end to end, and its report rendered in headless Chromium.

The browser test needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs
them); without them it skips and says why.
"""

from __future__ import annotations

from pathlib import Path

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
    for name in ("figure2", "appendix2", "figure3", "figure4", "figure5"):
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
        assert len(images) == 5  # Figures 2-5 and Appendix 2
        for alt, complete, width in images:
            assert complete and width > 0, alt
        tables = driver.execute_script(
            "return Array.from(document.querySelectorAll('table')).map("
            "t => [t.parentElement.id, t.tBodies[0].rows.length])"
        )
        rows = dict(tables)
        for key in ("table1", "table2", "table3", "overall_effects", "table4", "table5", "table6",
                    "appendix3", "appendix8", "appendix9", "provenance"):  # fmt: skip
            assert rows.get(key, 0) > 0, key
        assert rows["table4"] >= 19  # every candidate modifier has at least one row
        links = driver.execute_script(
            "return Array.from(document.querySelectorAll('nav a')).map(a => a.getAttribute('href'))"
        )
        for href in links:
            assert driver.execute_script(f"return !!document.getElementById('{href[1:]}')"), href
        assert driver.save_screenshot(str(tmp_path / "demo-top.png"))
        driver.execute_script("document.getElementById('table4').scrollIntoView()")
        assert driver.save_screenshot(str(tmp_path / "demo-table4.png"))
