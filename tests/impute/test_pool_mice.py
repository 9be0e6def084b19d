"""Rubin's rules with Barnard-Rubin df against R's mice::pool and mice::pool.scalar.

Fixture: tests/reference/mice_pool.R (mice 3.15) imputes nhanes m = 7 times, fits
lm(chl ~ age + bmi + hyp) to each completed dataset and pools; the completed datasets are
committed, so this test refits the same regressions and pools them with ipdma.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.tolerances import MI_POOL_RTOL

from ipdma.impute import rubin_pool

FIXTURES = Path(__file__).parents[1] / "reference" / "mice_pool"


def _ols(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, int]:
    x = np.column_stack([np.ones(len(frame)), frame[["age", "bmi", "hyp"]].to_numpy(float)])
    y = frame["chl"].to_numpy(float)
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ coef
    df = len(y) - x.shape[1]
    cov = resid @ resid / df * np.linalg.inv(x.T @ x)
    return coef, np.diag(cov), df


def test_pool_matches_mice_pool_on_lm_fits() -> None:
    completed = pd.read_csv(FIXTURES / "nhanes_completed.csv")
    reference = pd.read_csv(FIXTURES / "nhanes_pool.csv")
    fits = [_ols(rows) for _, rows in completed.groupby(".imp")]
    estimates = np.array([f[0] for f in fits])
    variances = np.array([f[1] for f in fits])
    pooled = rubin_pool(estimates, variances, dfcom=fits[0][2],
                        terms=list(reference["term"])).table  # fmt: skip
    pairs = {"estimate": "estimate", "ubar": "ubar", "b": "b", "t": "t", "dfcom": "dfcom",
             "df": "df", "riv": "riv", "lambda": "lambda", "fmi": "fmi", "se": "std.error",
             "statistic": "statistic", "p": "p.value", "ci_low": "conf.low",
             "ci_high": "conf.high"}  # fmt: skip
    for ours, theirs in pairs.items():
        np.testing.assert_allclose(pooled[ours], reference[theirs], rtol=MI_POOL_RTOL,
                                   err_msg=ours)  # fmt: skip
    assert (pooled["m"] == 7).all()


@pytest.mark.parametrize("row", [0, 1])
def test_pool_matches_mice_pool_scalar(row: int) -> None:
    data = pd.read_csv(FIXTURES / "scalar_input.csv")
    reference = pd.read_csv(FIXTURES / "scalar_pool.csv").iloc[row]
    dfcom = float(reference["dfcom"])  # Inf for the z-based case
    pooled = rubin_pool(data["estimate"].to_numpy(), data["variance"].to_numpy(), dfcom=dfcom)
    table = pooled.table.iloc[0]
    for ours, theirs in {"estimate": "qbar", "ubar": "ubar", "b": "b", "t": "t", "df": "df",
                         "riv": "r", "fmi": "fmi"}.items():  # fmt: skip
        np.testing.assert_allclose(table[ours], reference[theirs], rtol=MI_POOL_RTOL,
                                   err_msg=ours)  # fmt: skip


def test_identical_imputations_pool_to_the_common_value() -> None:
    """b = 0: the pooled variance is the within variance; df hit mice's lambda floor."""
    pooled = rubin_pool(np.full(5, 2.0), np.full(5, 0.25), dfcom=np.inf).table.iloc[0]
    assert pooled["estimate"] == 2.0
    assert pooled["se"] == 0.5
    assert pooled["fmi"] < 0.01
    np.testing.assert_allclose(pooled["df"], 4 / 1e-4**2)


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="at least two"):
        rubin_pool(np.array([1.0]), np.array([0.1]))
    with pytest.raises(ValueError, match="differ in shape"):
        rubin_pool(np.ones((3, 2)), np.ones((3, 1)))
