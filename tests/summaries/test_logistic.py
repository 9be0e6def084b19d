"""Logistic one-stage models by the federated protocol equal the pooled fit (1e-8)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import ipdma
from ipdma import summaries
from ipdma.analysis import AnalysisPlan
from ipdma.analysis._spec import build_grid
from ipdma.errors import InputError
from tests.tolerances import FEDERATED_LOGISTIC_RTOL

from ._sites import consortium, pooled_fit_binomial, relative, split

pytestmark = pytest.mark.filterwarnings("ignore::ipdma.errors.IpdmaWarning")

PLAN = AnalysisPlan(
    outcomes=("recovery",), windows=("short",), comparisons=("any",), modifiers=("female",),
    adjustments=("unadjusted",), subgroups=False,
)  # fmt: skip
RULES = summaries.DisclosureRules(1)


@pytest.fixture(scope="module")
def sites():
    frame = consortium()
    parts = split(frame)
    files = [
        summaries.summarize(p, PLAN, site=f"site{k}", rules=RULES) for k, p in enumerate(parts)
    ]
    return frame, parts, files


def _assert_equal(fit, pooled):
    assert list(fit.fixef.index) == list(pooled.fixef.index)
    assert relative(fit.fixef, pooled.fixef, 1e-8) < FEDERATED_LOGISTIC_RTOL
    assert relative(fit.se, pooled.se) < FEDERATED_LOGISTIC_RTOL
    assert relative(fit.loglik, pooled.loglik) < FEDERATED_LOGISTIC_RTOL
    scale = 1e-10 * max(1.0, float(np.max(pooled.varcomp["variance"])))
    assert relative(fit.varcomp["variance"], pooled.varcomp["variance"], scale) < (
        FEDERATED_LOGISTIC_RTOL
    )
    assert fit.nobs == pooled.nobs and fit.ngroups == pooled.ngroups


def test_in_process_protocol_equals_the_pooled_fit(sites):
    frame, parts, files = sites
    engines = {f"site{k}": summaries.BinomialSite(p, PLAN) for k, p in enumerate(parts)}
    transport = summaries.InProcessTransport(engines)
    fits = summaries.fit_federated_binomial(files, transport, PLAN, rules=RULES)
    specs = build_grid(PLAN, windows=("short",))
    assert set(fits) == {s.id for s in specs}
    for spec in specs:
        got = fits[spec.id]
        _assert_equal(got.result, pooled_fit_binomial(frame, spec, PLAN))
        assert got.rounds > 5 and got.messages == 3 * got.rounds
        assert 0 < got.bytes_sent < 2_000_000 and 0 < got.bytes_received < 2_000_000


def test_shared_folder_transport(sites, tmp_path):
    frame, parts, _ = sites
    names = [f"site{k}" for k in range(len(parts))]
    plan = PLAN.model_copy(update={"modifiers": ()})  # the overall model only
    servers = [
        threading.Thread(
            target=summaries.serve_folder,
            args=(tmp_path, name, summaries.BinomialSite(part, plan)),
            daemon=True,
        )
        for name, part in zip(names, parts, strict=True)
    ]
    for server in servers:
        server.start()
    transport = summaries.FolderTransport(tmp_path, tuple(names), timeout=120)
    site_files = [summaries.summarize(p, plan, site=n, rules=RULES) for n, p in
                  zip(names, parts, strict=True)]  # fmt: skip
    fits = summaries.fit_federated_binomial(site_files, transport, plan, rules=RULES)
    for name in names:
        transport.exchange(name, {"kind": "stop"})
    for server in servers:
        server.join(timeout=30)
    (spec,) = build_grid(plan, windows=("short",))
    _assert_equal(fits[spec.id].result, pooled_fit_binomial(frame, spec, plan))
    # what went over the folder: numbered request/response archives, nothing else
    for name in names:
        kinds = {p.name.split("-")[0] for p in (tmp_path / name).iterdir()}
        assert kinds == {"request", "response"}


def test_a_site_holding_another_plan_refuses(sites, tmp_path):
    """The site answers a refusal (not silence) and the coordinator raises its reason."""
    _, parts, files = sites
    other = PLAN.model_copy(update={"modifiers": ()})
    names = [f"site{k}" for k in range(len(parts))]
    servers = [
        threading.Thread(
            target=summaries.serve_folder,
            args=(tmp_path, name, summaries.BinomialSite(part, other)),
            kwargs={"timeout": 60},
            daemon=True,
        )
        for name, part in zip(names, parts, strict=True)
    ]
    for server in servers:
        server.start()
    transport = summaries.FolderTransport(tmp_path, tuple(names), timeout=60)
    try:
        with pytest.raises(ipdma.errors.IpdmaError, match="site0 refused request 1: the coord"):
            summaries.fit_federated_binomial(files, transport, PLAN, rules=RULES)
    finally:
        transport.close()
    for server in servers:
        server.join(timeout=30)
        assert not server.is_alive()  # close() stopped every site


def test_site_name_missing_from_the_transport(sites):
    _, parts, files = sites
    transport = summaries.InProcessTransport({"site0": summaries.BinomialSite(parts[0], PLAN)})
    with pytest.raises(InputError, match="no site named"):
        summaries.fit_federated_binomial(files, transport, PLAN, rules=RULES)
