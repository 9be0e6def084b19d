"""Summaries files that must be refused, each naming the file and the reason; disclosure
control at the site; the command line (exit 1, no traceback)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ipdma import summaries
from ipdma.analysis import AnalysisPlan
from ipdma.cli import main
from ipdma.errors import InputError

from ._sites import consortium, split

pytestmark = pytest.mark.filterwarnings("ignore::ipdma.errors.IpdmaWarning")

PLAN = AnalysisPlan(
    outcomes=("pain",), windows=("short",), comparisons=("any",), modifiers=("female",),
    adjustments=("unadjusted",), subgroups=False,
)  # fmt: skip
PLAN_TOML = """
[analysis]
outcomes = ["pain"]
windows = ["short"]
comparisons = ["any"]
modifiers = ["female"]
adjustments = ["unadjusted"]
subgroups = false
"""


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sites")
    rules = summaries.DisclosureRules(min_cell=2)
    paths = []
    for k, part in enumerate(split(consortium())):
        s = summaries.summarize(part, PLAN, site=f"site{k}", rules=rules)
        paths.append(summaries.write_summaries(s, folder / f"site{k}.json"))
    return paths


def _edit(path: Path, tmp_path: Path, change) -> Path:
    content = json.loads(path.read_text())
    change(content)
    out = tmp_path / path.name
    out.write_text(json.dumps(content))
    return out


def _refusal(paths, plan=PLAN, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        summaries.fit_summaries(paths, plan, **kwargs)
    return str(info.value)


def test_altered_file_is_refused(sites, tmp_path):
    def change(content):
        content["models"][0]["trials"][0]["gram"][0] *= 1.01

    altered = _edit(sites[0], tmp_path, change)
    message = _refusal([altered, *sites[1:]], rules=summaries.DisclosureRules(2))
    assert "altered after it was written" in message and str(altered) in message


def test_file_for_another_plan_is_refused(sites):
    other = PLAN.model_copy(update={"level": 0.90})
    message = _refusal(sites, other, rules=summaries.DisclosureRules(2))
    assert "another analysis plan" in message and str(sites[0]) in message


def test_older_format_is_refused(sites, tmp_path):
    older = _edit(sites[1], tmp_path, lambda c: c.update(format="ipdma-summaries/0"))
    message = _refusal([sites[0], older, sites[2]])
    assert "older ipdma" in message and str(older) in message


def test_cell_below_the_minimum_is_refused(sites):
    # written with a minimum of 2 per cell; the coordinator requires 5 (the default)
    message = _refusal(sites)
    assert "below the disclosure minimum" in message and "participant(s) (< 5)" in message
    assert "site" in message and ".json" in message


def test_two_sites_with_the_same_trial_are_refused(sites):
    message = _refusal([sites[0], sites[1], sites[0]], rules=summaries.DisclosureRules(2))
    assert "also in" in message and str(sites[0]) in message and "trial" in message


def test_not_a_summaries_file(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text("[1, 2")
    with pytest.raises(InputError, match="not a readable summaries file"):
        summaries.read_summaries(bad)


def test_site_withholds_small_cells_and_lists_them(tmp_path):
    frame = consortium()
    part = split(frame)[0]
    trial = sorted(part["trial"].unique())[0]
    # leave only 3 women in the trial's exercise arm: their sums would come close to them
    rows = part[(part["trial"] == trial) & (part["female"] == 1) & (part["treat"] == 1)]
    part = part.drop(rows.index[3:])
    s = summaries.summarize(part, PLAN, site="small")
    withheld = [w for w in s.withheld if w.trial == trial]
    assert withheld and any("exercise, female = 1) has 3" in r for w in withheld for r in w.reasons)
    kept = {t for m in s.models if "female" in m.model_id for t in m.trials}
    assert trial not in kept
    path = summaries.write_summaries(s, tmp_path / "small.json")
    manifest = Path(str(path) + ".manifest.txt").read_text()
    assert f"trial {trial}" in manifest and "WITHHELD" in manifest


def test_min_cell_must_be_positive():
    with pytest.raises(Exception, match="min_cell"):
        summaries.DisclosureRules(0)


def test_command_line_site_and_coordinator(tmp_path, capsys):
    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN_TOML)
    files = []
    for k, part in enumerate(split(consortium())):
        data = tmp_path / f"site{k}.parquet"
        part.to_parquet(data)
        out = tmp_path / f"site{k}.json"
        code = main(
            ["summarize", str(data), "--plan", str(plan), "-o", str(out), "--site", f"s{k}"]
        )
        assert code == 0
        files.append(str(out))
    assert "manifest" in capsys.readouterr().out
    code = main(["analyze", "--summaries", *files, "--plan", str(plan), "-o", str(tmp_path / "f")])
    assert code == 0
    assert "models from 3 site(s)" in capsys.readouterr().out
    assert (tmp_path / "f" / "terms.csv").exists()
    # a duplicated site: exit 1 with the reason, no traceback
    assert main(["analyze", "--summaries", files[0], files[0], "--plan", str(plan)]) == 1
    err = capsys.readouterr().err
    assert "also in" in err and "Traceback" not in err
