"""Shared helpers for the independent cross-checks (tests/*/test_xcheck_*.py).

Fixtures: tests/reference/xcheck_make.py (data) and xcheck_fit.R (lme4, lmerTest, nlme,
glmmTMB fits); the tests never run R.
"""

from __future__ import annotations

import json
import re
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

import ipdma
from ipdma.errors import ConvergenceWarning, DataWarning, SeparationWarning, SingularFitWarning

REF = Path(__file__).resolve().parent


@cache
def data(name: str) -> pd.DataFrame:
    return pd.read_csv(
        REF / f"xcheck_{name}.csv", encoding="utf-8", keep_default_na=False, na_values=["NA"]
    )


@cache
def ref(name: str) -> dict:
    return json.loads((REF / f"xcheck_{name}.json").read_text(encoding="utf-8"))


def fit(formula: str, frame: pd.DataFrame, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingularFitWarning)
        warnings.simplefilter("ignore", DataWarning)  # rows dropped for NA: checked via nobs
        warnings.simplefilter("ignore", SeparationWarning)  # small trials with one outcome
        # e.g. "more than one local maximum ... reports the better": tests assert .converged
        warnings.simplefilter("ignore", ConvergenceWarning)
        return ipdma.mixed(formula, frame, **kwargs)


def r_name(name: str) -> str:
    """lme4 coefficient name -> ipdma (formulaic) name (interactions part by part)."""
    if ":" in name:
        return ":".join(r_name(part) for part in name.split(":"))
    match = re.fullmatch(r"factor\(trial\)(.*)", name)
    if match:
        return f"C(trial)[{match.group(1)}]"
    match = re.fullmatch(r"f(lo|mid|hi)", name)
    if match:
        return f"f[T.{match.group(1)}]"
    return name


def series(mapping: dict) -> pd.Series:
    return pd.Series({r_name(k): v for k, v in mapping.items()}, dtype=float)


def max_rel(actual: pd.Series, expected: pd.Series, floor: float = 0.0) -> tuple[float, str]:
    """Largest |a - e| / max(|e|, floor) over expected's terms, and the term where it is."""
    actual = actual.reindex(expected.index)
    missing = list(expected.index[actual.isna()])
    assert not missing, f"terms missing from ipdma: {missing}; ipdma has {list(actual.index)}"
    scale = np.maximum(np.abs(expected.to_numpy()), floor)
    err = np.abs(actual.to_numpy() - expected.to_numpy()) / scale
    where = int(np.argmax(err))
    return float(err[where]), str(expected.index[where])


def assert_rel(actual, expected, rtol: float, what: str, floor: float = 0.0) -> None:
    err, term = max_rel(actual, expected, floor)
    assert err <= rtol, f"{what}: max relative error {err:.3e} > {rtol:g} at {term!r}"


def r_covariances(varcorr: dict) -> dict[tuple[str, str], float]:
    """{(term1, term2): covariance} from the R fixture's per-group covariance matrices."""
    out: dict[tuple[str, str], float] = {}
    for block in varcorr.values():
        names = block["names"]
        names = [names] if isinstance(names, str) else names
        matrix = np.atleast_2d(np.asarray(block["matrix"], dtype=float))
        for i, first in enumerate(names):
            for j in range(i + 1):
                out[(first, names[j]) if i == j else (names[j], first)] = matrix[i, j]
    return out


def ipdma_covariances(result) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    vc = result.varcomp[result.varcomp["group"] != "Residual"]
    for row in vc.itertuples():
        term2 = row.term2 if isinstance(row.term2, str) else None
        key = (row.term1, term2 or row.term1)
        out[key] = float(row.variance)
    return out


def assert_covariances(result, varcorr: dict, rtol: float, atol: float) -> None:
    """Every R variance/covariance matches ipdma's within rtol*|ref| + atol."""
    ours = ipdma_covariances(result)
    for key, value in r_covariances(varcorr).items():
        mine = ours.get(key, ours.get((key[1], key[0])))
        assert mine is not None, f"random-effect (co)variance {key} missing; ipdma has {ours}"
        assert abs(mine - value) <= rtol * abs(value) + atol, (
            f"(co)variance {key}: ipdma {mine:.10g} vs R {value:.10g}"
        )
