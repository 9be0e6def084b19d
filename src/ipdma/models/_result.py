"""The result of a mixed-model fit: one immutable object shared by both families."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._frozen import freeze
from .._literals import DfMethod, validate
from ..errors import SpecError
from ._convergence import ConvergenceRecord

if TYPE_CHECKING:
    from ._kenward_roger import KenwardRoger

__all__ = ["MixedResult", "MixedSummary"]

_TIDY_COLUMNS = ["term", "estimate", "se", "df", "statistic", "p", "ci_low", "ci_high"]


@dataclass(frozen=True, eq=False)
class MixedResult:
    """A fitted linear or logistic mixed model (immutable).

    Attributes
    ----------
    formula, family, method
        The model as written; ``method`` is "REML", "ML", "Laplace" or "AGHQ(n)".
    fixef, se : Series
        Fixed-effect estimates and standard errors (by term).
    vcov : DataFrame
        Covariance matrix of the fixed effects.
    df : Series
        Denominator degrees of freedom of each fixed effect (Satterthwaite, as
        lmerTest computes them), ``inf`` for z-tests (logistic models).
    varcomp : DataFrame
        Columns ``group, term1, term2, variance, sd, corr``: one row per random-effect
        variance (``term2`` missing), one per covariance (``corr`` filled), then the
        residual variance(s) (``group == "Residual"``; by trial when stratified).
    sigma : float, Series by trial (stratified residual variances) or None (binomial).
    loglik : float
        The maximized log-likelihood (the restricted one for REML, as lme4's ``logLik``).
    converged, convergence
        Whether the optimum was verified, and what was checked (gradient, restart).
    singular
        A variance component is on the boundary (zero variance or correlation of +-1).
    ranef : DataFrame
        Predicted random effects (BLUPs), index trial, one column per random term.
    dropped : Series
        Rows dropped for missing values, per trial.
    warnings : tuple of str
        Everything that was warned about during the fit.
    diagnostics : ConvergenceRecord
        The structured convergence checks (gradient, second start, boundary, separation).
    ddf : str
        The denominator df used by default (linear models): ``"satterthwaite"``,
        ``"kenward-roger"`` or ``"residual"`` (as chosen in :func:`ipdma.mixed`).
    kenward_roger : KenwardRoger or None
        Kenward-Roger adjusted covariance, SEs and df (fits with ``ddf="kenward-roger"``).

    Every Series and DataFrame of a result is read-only (assignment raises ``TypeError``):
    a fit is an audit record. ``.copy()`` gives a modifiable copy.
    """

    formula: str
    family: str
    method: str
    fixef: pd.Series
    se: pd.Series
    vcov: pd.DataFrame
    df: pd.Series
    varcomp: pd.DataFrame
    sigma: float | pd.Series | None
    loglik: float
    aic: float
    bic: float
    nobs: int
    ngroups: int
    converged: bool
    convergence: str
    singular: bool
    ranef: pd.DataFrame
    dropped: pd.Series
    warnings: tuple[str, ...] = ()
    residual: str = "common"
    details: Mapping[str, Any] = field(default_factory=dict, repr=False)

    diagnostics: ConvergenceRecord | None = None
    ddf: str = "satterthwaite"
    kenward_roger: KenwardRoger | None = None

    def __post_init__(self) -> None:
        for name in ("fixef", "se", "vcov", "df", "varcomp", "ranef", "dropped", "sigma"):
            object.__setattr__(self, name, freeze(getattr(self, name)))
        if self.kenward_roger is not None:
            kr = self.kenward_roger
            frozen = replace(kr, vcov=freeze(kr.vcov), se=freeze(kr.se), df=freeze(kr.df))
            object.__setattr__(self, "kenward_roger", frozen)
        details = {key: freeze(value) for key, value in self.details.items()}
        object.__setattr__(self, "details", MappingProxyType(details))

    # ----------------------------------------------------------------------------------
    @property
    def default_df_method(self) -> DfMethod:
        """The documented inference: the fit's ``ddf`` for linear models (Satterthwaite t
        unless chosen otherwise in :func:`ipdma.mixed`), z for logistic and Poisson."""
        return self.ddf if self.family == "gaussian" else "wald"  # type: ignore[return-value]

    def _se_df(self, method: DfMethod) -> tuple[np.ndarray, np.ndarray]:
        """Standard errors and denominator df of each coefficient under ``method``.

        ``wald``: model-based SE, df = inf (z). ``satterthwaite``: model-based SE with
        Satterthwaite df (lmerTest). ``kenward-roger``: KR-adjusted SE with KR df (pbkrtest;
        only for fits with ``ddf="kenward-roger"``). ``residual``: model-based SE with
        df = n - rank(X) (the fixed design has full rank). Non-linear families: z.
        """
        se = self.se.reindex(self.fixef.index).to_numpy(dtype=float)
        n_terms = len(self.fixef)
        if method == "wald" or self.family != "gaussian":
            return se, np.full(n_terms, np.inf)
        if method == "residual":
            return se, np.full(n_terms, float(self.nobs - n_terms))
        if method == "kenward-roger":
            if self.kenward_roger is None:
                raise SpecError(
                    "this fit has no Kenward-Roger inference",
                    hint="fit with ipdma.mixed(..., ddf='kenward-roger') (REML linear models)",
                )
            se = self.kenward_roger.se.reindex(self.fixef.index).to_numpy(dtype=float)
            df = self.kenward_roger.df.reindex(self.fixef.index).to_numpy(dtype=float)
        else:
            df = self.df.reindex(self.fixef.index).to_numpy(dtype=float)
        return se, np.where(np.isfinite(df) & (df > 0), df, np.inf)

    def _inference(self, level: float, method: DfMethod | None) -> pd.DataFrame:
        """``estimate, se, df, statistic, p, ci_low, ci_high`` by term: the one place where
        a fit's confidence intervals and p-values are computed.

        ``t = estimate / se`` referred to t(df) where df is finite, else N(0, 1); two-sided
        p; CI ``estimate -/+ q se`` with q the ``(1 + level) / 2`` quantile of the same law.
        """
        method = self.default_df_method if method is None else method
        validate(method, DfMethod, "method")
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level}")
        from scipy import special  # imported when asked: a fit itself does not need it

        se, df = self._se_df(method)
        est = self.fixef.to_numpy(dtype=float)
        quantile = 0.5 + level / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = est / se
        normal = np.isinf(df)
        crit = np.where(normal, special.ndtri(quantile), special.stdtrit(df, quantile))
        p = np.where(normal, 2 * special.ndtr(-np.abs(stat)), 2 * special.stdtr(df, -np.abs(stat)))
        return pd.DataFrame(
            {
                "estimate": est,
                "se": se,
                "df": df,
                "statistic": stat,
                "p": p,
                "ci_low": est - crit * se,
                "ci_high": est + crit * se,
            },
            index=self.fixef.index,
        )

    def confint(self, level: float = 0.95, *, method: DfMethod | None = None) -> pd.DataFrame:
        """Confidence intervals for the fixed effects (columns ``ci_low, ci_high``, by term).

        By default the documented inference, the same as :meth:`tidy`: t quantiles with the
        Satterthwaite denominator df for linear models (lmerTest's default for ``lmer``
        fits), normal quantiles for logistic models (lme4's Wald z). ``method="wald"``
        gives normal quantiles for any model; ``method="satterthwaite"`` t quantiles
        where the df are finite; ``"kenward-roger"`` the KR-adjusted SE with KR df
        (pbkrtest; fits with ``ddf="kenward-roger"``); ``"residual"`` n - rank(X) df.
        """
        return self._inference(level, method)[["ci_low", "ci_high"]]

    def tidy(
        self, exponentiate: bool = False, level: float = 0.95, *, method: DfMethod | None = None
    ) -> pd.DataFrame:
        """One row per fixed term: ``term, estimate, se, df, statistic, p, ci_low, ci_high``.

        By default t statistics with Satterthwaite df for linear models and z statistics for
        logistic models (``df`` is ``inf``); ``method="wald"`` gives z for any model. The
        intervals are those of :meth:`confint` with the same ``level`` and ``method``.
        ``exponentiate=True`` reports exp(estimate) and exp(CI) (odds ratios for logistic
        models); ``se`` and ``statistic`` stay on the model scale.
        """
        out = self._inference(level, method).reset_index(names="term")
        if exponentiate:
            for col in ("estimate", "ci_low", "ci_high"):
                out[col] = np.exp(out[col])
        return out[_TIDY_COLUMNS]

    def to_frame(self) -> pd.DataFrame:
        """Same as :meth:`tidy`."""
        return self.tidy()

    def summary(self) -> MixedSummary:
        """Text and HTML summary (print it, or display it in a notebook)."""
        return MixedSummary(self)

    def __str__(self) -> str:
        return str(self.summary())

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()

    def __repr__(self) -> str:
        return (
            f"<MixedResult {self.family} {self.method}: {self.formula!r}, nobs={self.nobs}, "
            f"ngroups={self.ngroups}, loglik={self.loglik:.4f}, converged={self.converged}>"
        )


@dataclass(frozen=True)
class MixedSummary:
    """Printable summary of a :class:`MixedResult`."""

    result: MixedResult

    def _header(self) -> list[tuple[str, str]]:
        r = self.result
        rows = [
            ("Formula", r.formula),
            ("Family", f"{r.family}, estimated by {r.method}"),
            ("Residual variance", r.residual if r.family == "gaussian" else "n/a"),
            ("Observations", f"{r.nobs} in {r.ngroups} groups"),
            (
                "Log-likelihood" + (" (restricted)" if r.method == "REML" else ""),
                f"{r.loglik:.4f}  (AIC {r.aic:.2f}, BIC {r.bic:.2f})",
            ),
            ("Converged", f"{'yes' if r.converged else 'NO'}: {r.convergence}"),
            ("Singular", "yes (a variance is on the boundary)" if r.singular else "no"),
        ]
        n_drop = int(r.dropped.sum()) if len(r.dropped) else 0
        if n_drop:
            per = ", ".join(f"{k}: {v}" for k, v in r.dropped[r.dropped > 0].items())
            rows.append(("Dropped rows", f"{n_drop} ({per})"))
        if r.sigma is not None and not isinstance(r.sigma, pd.Series):
            rows.append(("Residual SD", f"{r.sigma:.6g}"))
        return rows

    def _tables(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        fixed = self.result.tidy().set_index("term")
        varcomp = self.result.varcomp.astype(object)
        varcomp = varcomp.where(varcomp.notna(), "")
        for col in ("variance", "sd", "corr"):
            if col in varcomp:
                varcomp[col] = [v if v == "" else f"{v:.6g}" for v in varcomp[col]]
        return varcomp, fixed

    def __str__(self) -> str:
        head = "\n".join(f"{k + ':':<30}{v}" for k, v in self._header())
        varcomp, fixed = self._tables()
        parts = [
            head,
            "",
            "Random effects:",
            varcomp.to_string(index=False, float_format=lambda v: f"{v:.6g}"),
            "",
            "Fixed effects:",
            fixed.to_string(float_format=lambda v: f"{v:.6g}"),
        ]
        if self.result.warnings:
            parts += ["", "Warnings:", *(f"  - {w}" for w in self.result.warnings)]
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        head = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(str(v))}</td></tr>"
            for k, v in self._header()
        )
        varcomp, fixed = self._tables()
        warn = ""
        if self.result.warnings:
            warn = (
                "<p><b>Warnings</b></p><ul>"
                + "".join(f"<li>{html.escape(w)}</li>" for w in self.result.warnings)
                + "</ul>"
            )
        return (
            f"<div class='ipdma-mixed'><table>{head}</table>"
            "<p><b>Random effects</b></p>"
            + varcomp.to_html(index=False, float_format=lambda v: f"{v:.6g}", na_rep="")
            + "<p><b>Fixed effects</b></p>"
            + fixed.to_html(float_format=lambda v: f"{v:.6g}")
            + warn
            + "</div>"
        )
