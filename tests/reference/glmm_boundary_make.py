"""Write ``glmm_ipd_boundary.csv``: a recovery dataset whose treatment-effect SD is 0 at the MLE.

From the simulated consortium (``ipdma.simulate.harmonized_ipd(seed=13)``): exercise arms and
other-conservative comparisons, short-term recovery, baseline function (0-100). Before the
boundary verification (``_logistic_boundary``) its default fit reported converged=False with
max |gradient| 3.1e-4 at a boundary optimum. Run once; the CSV and the R fits
(``glmm_boundary.R`` -> ``glmm_boundary.json``) are committed.

    python tests/reference/glmm_boundary_make.py
"""

from __future__ import annotations

from pathlib import Path

from ipdma.simulate import harmonized_ipd

HERE = Path(__file__).parent

if __name__ == "__main__":
    data = harmonized_ipd(seed=13)
    keep = (data.treat == 1) | (data.comparison == "conservative")
    data = data.loc[keep, ["trial", "recovery", "function0", "treat"]]
    data = data.dropna(subset=["recovery", "function0"]).astype({"recovery": int, "treat": int})
    data.to_csv(HERE / "glmm_ipd_boundary.csv", index=False, float_format="%.10g")
    print(len(data), data.trial.nunique(), round(data.recovery.mean(), 3))
