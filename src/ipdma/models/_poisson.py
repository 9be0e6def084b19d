"""Poisson mixed models (log link, exposure offset) by maximum likelihood with AGHQ.

Model (trial i, participant j; lme4 ``glmer(family = poisson, offset = log(t))``)::

    y_ij ~ Poisson(mu_ij),  log mu_ij = log t_ij + x_ij' beta + z_ij' b_i,  b_i ~ N(0, G)

``exp(coefficient)`` of the treatment is the rate ratio. The engine is the logistic one
(``_logistic``, ``_aghq``, ``_logistic_newton``): adaptive Gauss-Hermite quadrature over
``b_i`` with exact gradients, Newton's method with the trial-local coefficients (stratified
intercepts) eliminated, the same convergence verification (gradient in parameter units, a
second start, the one-sided boundary check). Only the
per-row log-density differs (``_family.POISSON``: ``y eta - exp(eta) - log y!``).

Default number of nodes
-----------------------
``DEFAULT_NAGQ_POISSON[q]``: 20 per dimension for one and two random effects, 9 for three.
Counts need more nodes than the binary outcomes behind the logistic defaults: on lme4's
grouseticks (118 broods, random-intercept SD ~1.2) the maximised log-likelihood at 7, 11,
15, 20 and 25 nodes is 4.3e-3, -1.8e-4, 6.2e-6, -4.2e-8 and -1.7e-8 from 40 nodes; with a
random intercept and slope by brood (q = 2) 7, 11, 15 and 20 nodes are 2.1e-3, -8.8e-5,
1.7e-6 and -3.4e-9 from 25. On the IPD fixtures (SDs 0.25-0.5) 11 nodes are already within
1e-8, and three random effects (``glmm_pois_int``, random intercept, treatment and baseline
slopes) at 7 nodes are 1.2e-7 from 15 (fit 3 s; 15 nodes: 21 s there), so 9 is kept for q = 3.

A trial without any event whose intercept is trial-specific has an infinite (``-inf``)
maximum-likelihood intercept; as in the logistic engine the trial is left out of the
likelihood (its limit contribution is 0) and a ``SeparationWarning`` names it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError, ModelError, SpecError
from ._family import POISSON
from ._formula import ModelDesign
from ._result import MixedResult
from ._start import StartValues

__all__ = ["DEFAULT_NAGQ_POISSON", "fit_poisson", "offset_vector"]

DEFAULT_NAGQ_POISSON = {1: 20, 2: 20, 3: 9}


def offset_vector(
    design: ModelDesign, data: pd.DataFrame, offset: str | np.ndarray | pd.Series | None
) -> np.ndarray | None:
    """The offset aligned to the design's rows (dropped incomplete rows, sorted by trial)."""
    if offset is None:
        return None
    if isinstance(offset, str):
        if offset not in data.columns:
            raise InputError(
                f"offset column {offset!r} is not in the data",
                variable=offset,
                hint="pass the name of the log-exposure column, or the values themselves",
            )
        values = pd.to_numeric(data[offset], errors="coerce").to_numpy(dtype=float)
        name = offset
    else:
        values = np.asarray(offset, dtype=float).reshape(-1)
        name = "offset"
        if values.size != len(data):
            raise InputError(
                f"offset has {values.size} values but the data have {len(data)} rows",
                variable="offset",
                hint="pass one log-exposure value per row of data",
            )
    rows = design.source_rows
    assert rows is not None  # build_design records the data rows of every design
    aligned = values[rows]
    bad = np.flatnonzero(~np.isfinite(aligned))
    if bad.size:
        r = int(bad[0])
        raise InputError(
            f"offset {name!r} is missing or not finite",
            trial=str(design.group_levels[design.group[r]]),
            variable=name,
            row=int(rows[r]),
            value=float(aligned[r]),
            hint="the offset is log(exposure): exposures must be > 0; drop the row or fix it",
        )
    return aligned


def fit_poisson(
    design: ModelDesign,
    data: pd.DataFrame,
    *,
    offset: str | np.ndarray | pd.Series | None = None,
    nagq: int | None = None,
    start: StartValues | None = None,
) -> MixedResult:
    """Fit a Poisson mixed model (log link) to ``design``; see the module docstring
    (``start``: a warm start, as for ``fit_binomial``)."""
    if design.formula.failures is not None:
        raise SpecError(
            "cbind(successes, failures) is a binomial outcome",
            hint="use family='binomial', or a count column for family='poisson'",
        )
    off = offset_vector(design, data, offset)
    y = design.y
    if y.size and np.all(y == 0) and np.all(np.isfinite(y)):
        raise ModelError(
            f"the outcome {design.response_name!r} is 0 in every one of the {len(y)} complete "
            "rows: no rate can be estimated",
            variable=design.response_name,
            hint="check that the right column is the outcome (number of events)",
        )
    from ._logistic import fit_binomial

    if nagq is None:
        nagq = DEFAULT_NAGQ_POISSON.get(design.Z.shape[1], 3)
    return fit_binomial(design, nagq=nagq, family=POISSON, offset=off, start=start)
