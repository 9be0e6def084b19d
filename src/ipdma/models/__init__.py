"""One-stage mixed models for IPD meta-analysis: linear (REML/ML), logistic and Poisson.

``mixed(formula, data, ...)`` is the entry point (also ``ipdma.mixed``); it parses the
lme4-style formula, builds the design (rows sorted by trial) and dispatches on ``family``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._literals import Ddf, Family, Residual, validate
from ..errors import ModelError, SpecError
from ._convergence import ConvergenceRecord
from ._formula import ModelDesign, ParsedFormula, build_design, parse_formula
from ._linear_aggregate import AggregateMixedResult, mixed_aggregate
from ._result import MixedResult
from ._start import StartValues

if TYPE_CHECKING:  # pragma: no cover
    from ._crossproducts import CrossProducts, fit_crossproducts


def __getattr__(name: str) -> Any:
    """The cross-product (federated) engine is imported on first use: a fit does not need it."""
    if name in ("CrossProducts", "fit_crossproducts"):
        from . import _crossproducts

        return getattr(_crossproducts, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AggregateMixedResult",
    "ConvergenceRecord",
    "CrossProducts",
    "MixedResult",
    "ModelDesign",
    "ParsedFormula",
    "StartValues",
    "build_design",
    "fit_crossproducts",
    "mixed",
    "mixed_aggregate",
    "parse_formula",
]


def mixed(
    formula: str,
    data: pd.DataFrame,
    *,
    family: Family = "gaussian",
    reml: bool = True,
    residual: Residual = "common",
    nagq: int | None = None,
    offset: str | np.ndarray | pd.Series | None = None,
    ddf: Ddf = "satterthwaite",
    start: StartValues | None = None,
) -> MixedResult:
    """Fit a one-stage mixed model with random effects by trial.

    Parameters
    ----------
    formula
        lme4 syntax, e.g. ``"y ~ 0 + C(trial) + base + treat + (0 + treat | trial)
        + (0 + base | trial)"``: fixed part via formulaic, random terms ``(terms | trial)``
        (correlated) or ``(terms || trial)`` (independent); one grouping factor.
        A binomial outcome may be a 0/1 column or ``cbind(successes, failures)``; a Poisson
        outcome is a count column.
    data
        One row per participant.
    family
        ``"gaussian"`` (linear mixed model, lme4::lmer), ``"binomial"`` (logit link,
        lme4::glmer) or ``"poisson"`` (log link, ``glmer(family = poisson)``), both by
        adaptive Gauss-Hermite quadrature with the same convergence verification.
    reml
        Gaussian only: restricted (True, the default) or full maximum likelihood.
    residual
        Gaussian only: ``"common"`` residual variance, or ``"stratified"``: one residual
        variance per trial (nlme::lme with ``weights = varIdent(form = ~ 1 | trial)``).
    nagq
        Binomial and Poisson: adaptive Gauss-Hermite quadrature points (1 = Laplace).
    offset
        Poisson only: a fixed term added to the linear predictor, the log of each row's
        exposure (e.g. ``np.log(years)``), as a column name of ``data`` or one value per row
        of ``data`` (glmer's ``offset=``). Rates are then per unit of exposure.
    ddf
        Gaussian only: the denominator df that ``tidy()`` uses: ``"satterthwaite"``
        (lmerTest's default), ``"kenward-roger"`` (KR-adjusted covariance and df, pbkrtest;
        REML only, computed from the fit's design) or ``"residual"`` (n - rank(X)).
    start
        Start values (:class:`StartValues`, e.g. ``StartValues.from_result(fit)`` of a fit
        of the same model on similar data, such as the complete-case fit of a model fitted
        on multiply imputed data): a warm start of the optimisation. The optimum, the
        convergence criteria and the second start of the verification are those of a fit
        without it (``_linear`` and ``_logistic``, "Warm start"); names the design does
        not have are ignored, and a start that does not fit the design (e.g. no residual
        variance for a gaussian model) is not used, as the convergence text says.

    Returns
    -------
    MixedResult
    """
    validate(family, Family, "family")
    validate(residual, Residual, "residual")
    validate(ddf, Ddf, "ddf")
    if start is not None and not isinstance(start, StartValues):
        raise SpecError(
            f"start= must be StartValues, not {type(start).__name__}",
            hint="use start=ipdma.models.StartValues.from_result(fit) or StartValues(...)",
        )
    if family != "gaussian" and ddf != "satterthwaite":
        raise SpecError(
            f"ddf={ddf!r} applies to linear models only (logistic and Poisson models use z tests)",
            hint=f"drop ddf= for family={family!r}",
        )
    design = build_design(parse_formula(formula), data)
    if offset is not None and family != "poisson":
        raise SpecError("offset= applies to family='poisson' only", hint="drop offset=")
    if family == "poisson":
        if residual != "common":
            raise SpecError(
                "residual='stratified' applies to linear models only",
                hint="drop residual= for family='poisson'",
            )
        from ._poisson import fit_poisson

        return fit_poisson(design, data, offset=offset, nagq=nagq, start=start)
    if family == "binomial":
        if residual != "common":
            raise SpecError(
                "residual='stratified' applies to linear models only",
                hint="drop residual= for family='binomial'",
            )
        _check_events(design)
        from ._logistic import fit_binomial

        return fit_binomial(design, nagq=nagq, start=start)
    if nagq is not None:
        raise SpecError(
            "nagq applies to family='binomial' or 'poisson' only",
            hint="drop nagq= for linear models",
        )
    if ddf == "kenward-roger" and not reml:
        raise SpecError(
            "Kenward-Roger inference is defined for REML fits",
            hint="use reml=True with ddf='kenward-roger', or ddf='satterthwaite'",
        )
    from ._linear import fit_linear

    return fit_linear(design, reml=reml, residual=residual, ddf=ddf, start=start)


def _check_events(design: ModelDesign) -> None:
    """A binomial outcome without events (or without non-events) at all cannot be fitted:
    the maximum-likelihood intercept is infinite (complete separation)."""
    y, size = design.y, design.n_trials
    if not (size > 0).any():
        return
    binary = design.formula.failures is None
    for none, what in (
        (np.all(y == 0), "is 0" if binary else "has 0 successes"),
        (np.all(y == size), "is 1" if binary else "has 0 failures"),
    ):
        if none:
            raise ModelError(
                f"the outcome {design.response_name!r} does not vary: every one of the "
                f"{len(y)} complete rows {what}, so no trial has both events and non-events "
                "and a logistic model cannot be estimated",
                variable=design.response_name,
                hint="check that the right column is the outcome and its coding (1 = event)",
            )
