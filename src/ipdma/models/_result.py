"""The result of a mixed-model fit: one immutable object shared by both families."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from .._literals import DfMethod, validate
from ..errors import SpecError

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
    ddf : str
        The denominator df used by default (linear models): ``"satterthwaite"``,
        ``"kenward-roger"`` or ``"residual"`` (as chosen in :func:`ipdma.mixed`).
    kenward_roger : KenwardRoger or None
        Kenward-Roger adjusted covariance, SEs and df (fits with ``ddf="kenward-roger"``).
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
    details: dict = field(default_factory=dict, repr=False)
    ddf: str = "satterthwaite"
    kenward_roger: KenwardRoger | None = None

    # ----------------------------------------------------------------------------------
    def _se_df(self, method: DfMethod) -> tuple[np.ndarray, np.ndarray]:
        """Standard errors and denominator df of each coefficient under ``method``.

        ``wald``: model-based SE, df = inf (z). ``satterthwaite``: model-based SE with
        Satterthwaite df (lmerTest). ``kenward-roger``: KR-adjusted SE with KR df (pbkrtest;
        only for fits with ``ddf="kenward-roger"``). ``residual``: model-based SE with
        df = n - rank(X) (SAS/nlme-style residual df; the fixed design has full rank).
        Logistic models have z tests whatever the method (df = inf).
        """
        validate(method, DfMethod, "method")
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

    def _default_method(self) -> DfMethod:
        return self.ddf if self.family == "gaussian" else "wald"  # type: ignore[return-value]

    def confint(self, level: float = 0.95, *, method: DfMethod = "wald") -> pd.DataFrame:
        """Confidence intervals for the fixed effects.

        ``method="wald"`` uses normal quantiles; ``"satterthwaite"`` uses t quantiles with
        the Satterthwaite denominator df (lmerTest's default for ``lmer`` fits);
        ``"kenward-roger"`` the KR-adjusted SE with t quantiles at the KR df (pbkrtest);
        ``"residual"`` t quantiles with n - rank(X) df. Returns a DataFrame with columns
        ``ci_low, ci_high`` indexed by term.
        """
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level}")
        se, df = self._se_df(method)
        crit = np.where(
            np.isinf(df), stats.norm.ppf(0.5 + level / 2), stats.t.ppf(0.5 + level / 2, df)
        )
        est = self.fixef.to_numpy()
        return pd.DataFrame(
            {"ci_low": est - crit * se, "ci_high": est + crit * se}, index=self.fixef.index
        )

    def tidy(
        self, exponentiate: bool = False, level: float = 0.95, *, method: DfMethod | None = None
    ) -> pd.DataFrame:
        """One row per fixed term: ``term, estimate, se, df, statistic, p, ci_low, ci_high``.

        By default the fit's ``ddf`` for linear models (t statistics with Satterthwaite df
        unless the fit chose ``"kenward-roger"`` or ``"residual"``) and z statistics for
        logistic models; ``method`` overrides it (see :meth:`confint`). ``exponentiate=True``
        reports exp(estimate) and exp(CI) (odds ratios for logistic models); ``se`` and
        ``statistic`` stay on the model scale.
        """
        method = self._default_method() if method is None else method
        se, df = self._se_df(method)
        est = self.fixef.to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = est / se
        p = np.where(
            np.isinf(df), 2 * stats.norm.sf(np.abs(stat)), 2 * stats.t.sf(np.abs(stat), df)
        )
        ci = self.confint(level, method=method)
        out = pd.DataFrame(
            {
                "term": list(self.fixef.index),
                "estimate": est,
                "se": se,
                "df": df,
                "statistic": stat,
                "p": p,
                "ci_low": ci["ci_low"].to_numpy(),
                "ci_high": ci["ci_high"].to_numpy(),
            }
        )
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
