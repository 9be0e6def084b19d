"""A linear fit in a fresh process imports only what it needs (issue 19: first-fit latency).

formulaic, scipy.optimize, scipy.stats and scipy.sparse cost a fresh process most of a
second to import; none is needed to fit the usual IPD-MA formula on a paper-sized data set
(they are imported when a formula or an option needs them). Timing itself is measured by
``benchmarks/bench_speed.py --only cold``, never asserted here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"

CODE = """
import json, sys
import numpy as np, pandas as pd
import ipdma
rng = np.random.default_rng(1)
trial = np.repeat([f"t{i:02d}" for i in range(8)], 40)
treat = np.tile([0.0, 1.0], 160)
base = rng.normal(50, 10, 320)
y = 10 + 0.5 * base - 5 * treat + rng.normal(0, 8, 320)
data = pd.DataFrame({"trial": trial, "y": y, "base": base, "treat": treat})
fit = ipdma.mixed("y ~ 0 + C(trial) + base + treat + (0 + treat | trial) + (0 + base | trial)",
                  data)
assert fit.converged
after_fit = sorted(m for m in sys.modules if m.split(".")[0] in ("scipy", "formulaic"))
optional = ("ipdma.models._kenward_roger", "ipdma.models._crossproducts",
            "ipdma.models._satterthwaite_hessian", "threadpoolctl")
unneeded = sorted(m for m in optional if m in sys.modules)
fit.tidy()
after_tidy = sorted(m for m in sys.modules if m.split(".")[0] in ("scipy", "formulaic"))
print(json.dumps({"fit": after_fit, "tidy": after_tidy, "unneeded": unneeded}))
"""


def test_linear_fit_imports_neither_scipy_nor_formulaic():
    """Nor the modules only Kenward-Roger, federated fits or stratified residuals need."""
    run = subprocess.run(
        [sys.executable, "-c", CODE],
        capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )  # fmt: skip
    loaded = json.loads(run.stdout.strip().splitlines()[-1])
    assert loaded["fit"] == []
    assert loaded["unneeded"] == []  # Kenward-Roger, federated, stratified-only: on use
    assert "scipy.special" in loaded["tidy"]  # p-values and CIs when asked for
    assert not any(
        m.startswith(("formulaic", "scipy.stats", "scipy.optimize")) for m in loaded["tidy"]
    )
