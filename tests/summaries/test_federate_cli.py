"""``ipdma federate``: two site processes and the coordinator over a shared folder; the
logistic fits equal the pooled fit (1e-8); a silent site stops the fit with a clear error."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from ipdma import summaries
from ipdma.analysis import AnalysisPlan
from ipdma.analysis._spec import build_grid
from ipdma.cli import main
from tests.tolerances import FEDERATED_LOGISTIC_RTOL

from ._sites import consortium, pooled_fit_binomial, relative, split

pytestmark = pytest.mark.filterwarnings("ignore::ipdma.errors.IpdmaWarning")

PLAN_TOML = """[analysis]
outcomes = ["recovery"]
windows = ["short"]
comparisons = ["any"]
modifiers = ["female"]
adjustments = ["unadjusted"]
subgroups = false
"""
PLAN = AnalysisPlan(outcomes=("recovery",), windows=("short",), comparisons=("any",),
                    modifiers=("female",), adjustments=("unadjusted",), subgroups=False)  # fmt: skip


def _site(source: Path, folder: Path, name: str, plan: Path, timeout: float = 300):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        [sys.executable, "-m", "ipdma", "federate", "site", str(source), "--folder",
         str(folder), "--site", name, "--plan", str(plan), "--timeout", str(timeout)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


@pytest.fixture(scope="module")
def consortium_at_two_sites(tmp_path_factory):
    root = tmp_path_factory.mktemp("federate")
    frame = consortium()
    plan_file = root / "plan.toml"
    plan_file.write_text(PLAN_TOML)
    files, sources = [], []
    for k, part in enumerate(split(frame, 2)):
        source = root / f"site{k}.parquet"
        part.to_parquet(source)
        sources.append(source)
        s = summaries.summarize(source, PLAN, site=f"site{k}", rules=summaries.DisclosureRules(1))
        files.append(summaries.write_summaries(s, root / f"site{k}.json"))
    return root, frame, plan_file, sources, files


def test_two_site_processes_and_the_coordinator_equal_the_pooled_fit(
    consortium_at_two_sites, capsys
):
    root, frame, plan_file, sources, files = consortium_at_two_sites
    folder = root / "shared"
    sites = [_site(src, folder, f"site{k}", plan_file) for k, src in enumerate(sources)]
    try:
        code = main(["federate", "coordinate", *map(str, files), "--folder", str(folder),
                     "--plan", str(plan_file), "--output", str(root / "out"),
                     "--timeout", "300", "--min-cell", "1"])  # fmt: skip
        outputs = [site.communicate(timeout=120) for site in sites]
    finally:
        for site in sites:
            if site.poll() is None:
                site.kill()
                site.communicate()
    printed = capsys.readouterr().out
    assert code == 0, printed
    for site, (stdout, stderr) in zip(sites, outputs, strict=True):
        assert site.returncode == 0, stderr
        assert "answered" in stdout and "bytes of per-trial aggregates" in stdout
    assert "rounds" in printed and "bytes" in printed
    terms = pd.read_csv(root / "out" / "terms.csv").set_index(["model_id", "term"])
    models = pd.read_csv(root / "out" / "models.csv").set_index("id")
    specs = build_grid(PLAN, windows=("short",))
    assert set(models.index) == {s.id for s in specs}
    for spec in specs:
        pooled = pooled_fit_binomial(frame, spec, PLAN)
        row = models.loc[spec.id]
        assert relative(row["loglik"], pooled.loglik) < FEDERATED_LOGISTIC_RTOL
        assert row["rounds"] > 5 and row["bytes_sent"] > 0 and row["bytes_received"] > 0
        for term in ("treat", "treat_x_modifier"):
            if term in pooled.fixef.index:
                got = terms.loc[(spec.id, term)]
                assert relative(got["estimate"], pooled.fixef[term]) < FEDERATED_LOGISTIC_RTOL
                assert relative(got["se"], pooled.se[term]) < FEDERATED_LOGISTIC_RTOL
    # only aggregates went over the folder, and the coordinator cleared it at the end
    assert not list(folder.glob("*/*.npz"))


def test_a_silent_site_stops_the_fit_with_a_clear_error(consortium_at_two_sites, capsys):
    root, _, plan_file, sources, files = consortium_at_two_sites
    folder = root / "silent"
    site = _site(sources[0], folder, "site0", plan_file)  # site1 never starts
    deadline = time.monotonic() + 120
    while not (folder / "site0").exists() and time.monotonic() < deadline:
        time.sleep(0.1)  # site0 is serving once its box exists
    try:
        code = main(["federate", "coordinate", *map(str, files), "--folder", str(folder),
                     "--plan", str(plan_file), "--output", str(root / "out2"),
                     "--timeout", "3", "--min-cell", "1"])  # fmt: skip
        site.communicate(timeout=120)  # the coordinator's stop ends the running site
    finally:
        if site.poll() is None:
            site.kill()
            site.communicate()
    err = capsys.readouterr().err
    assert code == 1
    assert "site site1 did not answer" in err and "ipdma federate site" in err
    assert "Traceback" not in err
