"""Write ipdma's optima that R then checks independently (xcheck_verify.R):

- the large-scale REML fit where ipdma's likelihood is above lme4's: lme4's own deviance
  function is evaluated at ipdma's theta;
- the two-random-effect logistic fit (bin_aghq) at nagq=1 and at the default AGHQ: its
  marginal likelihood is integrated in R by nested adaptive quadrature (stats::integrate),
  at ipdma's estimates and at points around them.
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
    two = "rec ~ 0 + C(trial) + base + treat + (0 + treat | trial) + (0 + base | trial)"
    for nagq in (1, None):
        result = fit(two, data("bin_aghq"), family="binomial", nagq=nagq)
        sd = result.varcomp.set_index("term1")["sd"]
        points[f"bin_aghq_{result.method}"] = {
            "fixef": result.fixef.to_dict(),
            "sd_treat": float(sd["treat"]),
            "sd_base": float(sd["base"]),
            "loglik": result.loglik,
            "method": result.method,
        }
    handle, tmp = tempfile.mkstemp(dir=REF, suffix=".json")
    with os.fdopen(handle, "w") as out:
        json.dump(points, out, indent=2)
    os.replace(tmp, REF / "xcheck_ipdma_points.json")


if __name__ == "__main__":
    main()
