"""Forest plots: the figure holds what it should (labels, rows, markers, diamonds, scale)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from ipdma import meta, plots
from ipdma.errors import InputError

REFERENCE = Path(__file__).parents[1] / "reference"
DATA = pd.read_csv(REFERENCE / "metafor_pool_data.csv")
BCG = DATA[DATA.dataset == "bcg"]


def _texts(fig) -> list[str]:
    ax = fig.axes[0]
    return [t.get_text() for t in (*ax.texts, *fig.texts)]


def _by_gid(fig, gid: str) -> list:
    ax = fig.axes[0]
    return [a for a in (*ax.collections, *ax.patches, *ax.texts) if a.get_gid() == gid]


def _markers(fig) -> int:
    (markers,) = _by_gid(fig, "study-markers")
    return len(markers.get_offsets())


def test_pool_forest_content() -> None:
    res = meta.pool(BCG.yi, BCG.vi, labels=BCG.study)
    fig = plots.forest(res, measure="RR", exponentiate=True, title="BCG")
    texts = _texts(fig)
    for study in BCG.study:
        assert study in texts
    assert _markers(fig) == len(BCG)
    assert len(_by_gid(fig, "diamond-pooled")) == 1
    assert len(_by_gid(fig, "prediction-interval")) == 1
    assert "Random-effects model (REML)" in texts
    assert any(
        t.startswith("Heterogeneity: \u03c4\u00b2 = 0.313") and "I\u00b2 = 92%" in t for t in texts
    )
    assert "Favours exercise" in texts and "Favours comparison" in texts
    assert fig.axes[0].get_xscale() == "log"
    # pooled RR exp(-0.7145) = 0.49 [0.34, 0.70] printed in the CI column
    assert "0.49 [0.34, 0.70]" in texts
    # study weights are printed and add to 100%
    cells = [t.get_text() for t in _by_gid(fig, "cell-study")]
    weights = [float(t[:-1]) for t in cells if t.endswith("%")]
    assert len(weights) == len(BCG)
    assert sum(weights) == pytest.approx(100, abs=0.1)
    # the diamond spans the pooled CI on the ratio scale
    (diamond,) = _by_gid(fig, "diamond-pooled")
    xs = diamond.get_xy()[:, 0]
    assert xs.min() == pytest.approx(np.exp(res.ci[0]))
    assert xs.max() == pytest.approx(np.exp(res.ci[1]))


def test_subgroup_forest_has_subtotals_and_test() -> None:
    res = meta.subgroup(BCG.yi, BCG.vi, BCG.group, labels=BCG.study, method="DL")
    fig = plots.forest(res, measure="RR", exponentiate=True)
    texts = _texts(fig)
    assert len(_by_gid(fig, "diamond-subtotal")) == 3
    assert len(_by_gid(fig, "diamond-pooled")) == 1
    assert texts.count("Subtotal") == 3
    assert {"random (k = 7)", "alternate (k = 2)", "systematic (k = 4)"} <= set(texts)
    assert any(t.startswith("Test for subgroup differences") for t in texts)
    # no PI for the 2-study subgroup: random (7), systematic (4) and overall have one
    assert len(_by_gid(fig, "prediction-interval")) == 3


@pytest.mark.parametrize("k", [2, 60])
def test_height_scales_with_rows(k: int) -> None:
    rng = np.random.default_rng(k)
    res = meta.pool(rng.normal(0, 1, k), rng.uniform(0.1, 1, k), method="DL")
    fig = plots.forest(res)
    assert _markers(fig) == k
    width, height = fig.get_size_inches()
    assert width == 10
    rows = k + 1 + 3 if k >= 3 else k + 1 + 2  # header, studies, pooled, PI (k >= 3), note
    assert height == pytest.approx(rows * 0.25 + 0.35 + 0.95)
    assert fig.axes[0].get_xscale() == "linear"


def test_two_stage_and_fixed_effect_forests() -> None:
    ipd = pd.read_csv(REFERENCE / "metafor_twostage_ipd.csv")
    fig = plots.forest(meta.two_stage(ipd, outcome="pain", baseline="pain0"), favours=None)
    texts = _texts(fig)
    assert "trial01" in texts and "Favours exercise" not in texts
    fe = plots.forest(meta.pool([0.1, 0.3], [0.01, 0.02], method="FE"))
    assert "Fixed-effect model" in _texts(fe)
    assert not _by_gid(fe, "prediction-interval")


def test_subgroup_effects_plot() -> None:
    frame = pd.DataFrame(
        {
            "modifier": ["female", "female", "medication", "medication"],
            "level": ["No", "Yes", "No", "Yes"],
            "estimate": [-0.2, 0.4, 0.1, 0.6],
            "ci_low": [-0.6, 0.1, -0.3, 0.2],
            "ci_high": [0.2, 0.7, 0.5, 1.0],
            "participants": [1559, 1945, 927, 1032],
        }
    )
    fig = plots.subgroup_forest(
        frame, measure="OR", exponentiate=True, group_labels={"female": "Sex"}
    )
    texts = _texts(fig)
    assert {"Sex", "medication", "No", "Yes", "1945", "OR [95% CI]"} <= set(texts)
    assert _markers(fig) == 4
    assert fig.axes[0].get_xscale() == "log"
    assert f"{np.exp(0.4):.2f} [{np.exp(0.1):.2f}, {np.exp(0.7):.2f}]" in texts
    with pytest.raises(InputError, match="'estimate'"):
        plots.subgroup_forest(frame.drop(columns="estimate"))


def test_forest_rejects_other_objects() -> None:
    with pytest.raises(InputError, match="cannot plot"):
        plots.forest(pd.DataFrame())


def test_save_writes_png_and_svg_reproducibly(tmp_path: Path) -> None:
    res = meta.pool(BCG.yi, BCG.vi, labels=BCG.study)
    png, svg = plots.save(plots.forest(res), tmp_path / "figs" / "bcg")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert svg.read_text().lstrip().startswith("<?xml")
    first = svg.read_bytes()
    plots.save(plots.forest(res), tmp_path / "figs" / "bcg")
    assert svg.read_bytes() == first
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == ["bcg.png", "bcg.svg"]


def test_meta_and_describe_do_not_import_matplotlib() -> None:
    import subprocess
    import sys

    code = (
        "import sys, ipdma.meta, ipdma.describe; sys.exit(1 if 'matplotlib' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
    assert matplotlib.get_backend()  # plots never switched pyplot's backend


def test_fixed_axis_clips_intervals_with_arrows() -> None:
    res = meta.pool([-20.0, -2.0, 4.0], [81.0, 4.0, 2.0], labels=["wide", "b", "c"], method="DL")
    fig = plots.forest(res, xlim=(-15, 15))
    assert fig.axes[0].get_xlim() == (-15, 15)
    (low,) = _by_gid(fig, "clipped-low")
    assert len(low.get_offsets()) >= 1  # "wide" (-37.6 to -2.4) reaches beyond -15
    assert _markers(fig) == 2  # its estimate (-20) lies outside the axis: no square drawn
    assert "\u221220.00 [\u221237.64, \u22122.36]" in _texts(fig)


def test_aggregate_data_trials_are_marked_in_the_forest_plot() -> None:
    ipd = pd.read_csv(REFERENCE / "metafor_twostage_ipd.csv")
    aggregate = pd.DataFrame({"trial": ["ad-smith", "ad-lee"], "estimate": [-12.5, -7.4],
                              "se": [4.2, 6.8]})  # fmt: skip
    result = meta.two_stage(ipd, outcome="pain", baseline="pain0", aggregate=aggregate)
    fig = plots.forest(result)
    texts = _texts(fig)
    assert f"ad-smith{meta.AGGREGATE_MARK}" in texts and f"ad-lee{meta.AGGREGATE_MARK}" in texts
    assert "trial01" in texts and f"trial01{meta.AGGREGATE_MARK}" not in texts
