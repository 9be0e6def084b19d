"""Write ipdma's optimum for the fits where ipdma's likelihood is above R's reported one.

``xcheck_verify.R`` then evaluates lme4's own deviance function at these points, so the
higher ipdma likelihood is confirmed by R itself (not just claimed by ipdma).
Run: ``.venv/bin/python -m tests.reference.xcheck_points`` (writes xcheck_ipdma_points.json).
"""

from __future__ import annotations

import json
import os
import tempfile

import numpy as np
from tests.reference.xcheck_compare import REF, data, fit

PAPER = "y ~ 0 + C(trial) + base + treat + (0 + treat | trial) + (0 + base | trial)"


def main() -> None:
    points = {}
    result = fit(PAPER, data("large"), reml=True)
    variances = result.varcomp.set_index("term1")["variance"]
    theta = np.sqrt(variances[["treat", "base"]].to_numpy()) / result.sigma
    points["large_paper_reml"] = {"theta": theta.tolist(), "loglik": result.loglik}
    handle, tmp = tempfile.mkstemp(dir=REF, suffix=".json")
    with os.fdopen(handle, "w") as out:
        json.dump(points, out, indent=2)
    os.replace(tmp, REF / "xcheck_ipdma_points.json")


if __name__ == "__main__":
    main()
