"""Coordinating side: verify the sites' summaries and fit the plan's linear models from them.

The fit is :func:`ipdma.models.fit_crossproducts`, the linear engine itself: its profiled
REML/ML deviance, estimates, covariance, Satterthwaite df and BLUPs are functions of the
per-trial cross-products only, so fitting from the sites' summaries gives the pooled-IPD fit
(up to the rounding of the sums; ``tests/summaries`` checks 1e-10 relative).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ..analysis._design import TooFewTrials
from ..analysis._plan import AnalysisPlan, plan_from_dict
from ..analysis._spec import build_grid
from ..errors import InputError, IpdmaError
from ..models._crossproducts import fit_crossproducts
from ..models._result import MixedResult
from ._aggregate import raw_gram
from ._assemble import Stacked, stack, stack_cells
from ._design import FederatedModel, federated_design
from ._disclosure import DisclosureRules, block_problems
from ._file import ModelSummary, SiteSummaries, plan_hash, read_summaries
from ._layout import ordered_levels

__all__ = ["FederatedResults", "fit_summaries"]

_TERM_COLUMNS = ["model_id", "term", "role", "level", "studies", "participants", "estimate",
                 "se", "df", "ci_low", "ci_high", "p", "note"]  # fmt: skip


@dataclass(frozen=True)
class FederatedResults:
    """The linear models of the plan fitted from site summaries.

    ``terms``: one row per reported term (estimate, SE, Satterthwaite df, CI, p, and the
    studies and participants that contributed); ``models``: one row per model (status,
    formula, trials, participants, log-likelihood, convergence, error); ``fits``: the
    :class:`~ipdma.models.MixedResult` of each fitted model.
    """

    plan: AnalysisPlan
    sites: tuple[str, ...]
    terms: pd.DataFrame
    models: pd.DataFrame
    fits: Mapping[str, MixedResult] = field(repr=False)
    skipped_binomial: tuple[str, ...] = ()  # logistic models: ``fit_federated_binomial``

    def write(self, folder: str | Path) -> dict[str, Path]:
        """Write ``terms.csv`` and ``models.csv`` into ``folder`` (atomically)."""
        from ..analysis._results import write_csv_atomic

        folder = Path(folder)
        return {
            name: write_csv_atomic(frame, folder / f"{name}.csv")
            for name, frame in (("terms", self.terms), ("models", self.models))
        }


def _binary(gram: np.ndarray) -> np.ndarray:
    """0/1 columns as far as the sums show: sum of squares = sum = a whole number."""
    sums, squares = gram[0], np.diagonal(gram)
    whole = np.abs(sums - np.round(sums)) <= 1e-9 * np.maximum(1.0, np.abs(sums))
    return whole & (np.abs(squares - sums) <= 1e-9 * np.maximum(1.0, np.abs(sums)))


def _verify(files: Sequence[SiteSummaries], plan_digest: str | None, rules: DisclosureRules):
    owner: dict[str, Path | None] = {}
    for s in files:
        if plan_digest is not None and s.plan_hash != plan_digest:
            raise InputError(
                f"summaries file refused: it was written for another analysis plan (plan hash "
                f"{s.plan_hash[:12]}..., expected {plan_digest[:12]}...)",
                file=s.path,
                hint="every site must run `ipdma summarize` with the same [analysis] table",
            )
        for trial in s.trials:
            if trial in owner:
                raise InputError(
                    f"summaries file refused: trial {trial} is also in {owner[trial]}; a trial "
                    "must come from one site only",
                    file=s.path,
                    trial=trial,
                    hint="drop the duplicate trial at one site (or rename it if they differ)",
                )
        for trial in s.trials:
            owner[trial] = s.path
        for m in s.models:
            for k, trial in enumerate(m.trials):
                raw = raw_gram(m.n[k], m.means[k], m.gram[k])
                cell = m.cells[k] if m.cells else ""
                problems = block_problems(m.columns, raw, _binary(raw), rules, cell=cell)
                if problems:
                    raise InputError(
                        f"summaries file refused: model {m.model_id}, trial {trial} is below "
                        f"the disclosure minimum: {'; '.join(problems)}",
                        file=s.path,
                        trial=trial,
                        hint=f"the site must withhold cells under {rules.min_cell} participants "
                        "(rerun `ipdma summarize` with the agreed --min-cell)",
                    )


def _tidy(model: FederatedModel, fit: MixedResult | None, plan: AnalysisPlan) -> list[dict]:
    return _tidy_terms(model.spec.id, model.terms, fit, plan)


def _tidy_terms(model_id: str, terms, fit: MixedResult | None, plan: AnalysisPlan) -> list[dict]:
    rows = []
    quantile = 0.5 + plan.level / 2
    satterthwaite = plan.model.df_method == "satterthwaite"
    for t in terms:
        row = dict(model_id=model_id, term=t.column, role=t.role, level=t.level,
                   studies=t.studies, participants=t.participants, estimate=np.nan, se=np.nan,
                   df=np.nan, ci_low=np.nan, ci_high=np.nan, p=np.nan, note=t.note)  # fmt: skip
        if fit is not None and t.estimable and t.column in fit.fixef.index:
            est, se = float(fit.fixef[t.column]), float(fit.se[t.column])
            df = float(fit.df[t.column]) if satterthwaite else math.inf
            df = df if math.isfinite(df) and df > 0 else math.inf
            dist = stats.norm if math.isinf(df) else stats.t(df)
            crit = dist.ppf(quantile)
            row.update(estimate=est, se=se, df=df, ci_low=est - crit * se,
                       ci_high=est + crit * se, p=2 * dist.sf(abs(est / se)))  # fmt: skip
        rows.append(row)
    return rows


def verified(
    summaries: Sequence[SiteSummaries | str | Path],
    plan: AnalysisPlan | dict | None,
    rules: DisclosureRules | None,
) -> tuple[list[SiteSummaries], AnalysisPlan]:
    """Read and verify the files (plan, duplicates, disclosure minimum); the plan to use."""
    files = [s if isinstance(s, SiteSummaries) else read_summaries(s) for s in summaries]
    if not files:
        raise InputError("no summaries files given", hint="pass one file per site")
    if plan is None:
        plan = plan_from_dict(json.loads(files[0].plan))
    elif not isinstance(plan, AnalysisPlan):
        plan = plan_from_dict(plan)
    _verify(files, plan_hash(plan.record()), rules or DisclosureRules())
    return files, plan


def models_of(files: Sequence[SiteSummaries], plan: AnalysisPlan):
    """``(spec, rule, stacked blocks)`` for each linear model of the plan in the files."""
    by_model: dict[str, list[ModelSummary]] = {}
    for s in files:
        for m in s.models:
            by_model.setdefault(m.model_id, []).append(m)
    for spec in build_grid(plan):
        if spec.id not in by_model:
            continue
        parts = by_model[spec.id]
        rule = parts[0].rule
        if any(m.rule != rule or (m.columns != parts[0].columns and m.cells) for m in parts):
            raise InputError(
                f"the sites' summaries of {spec.id} differ in how they categorise "
                f"{spec.modifier} ({', '.join(sorted({m.rule or 'as a column' for m in parts}))})",
                variable=spec.modifier,
                hint="the modifier must have the same type (text or numbers) at every site",
            )
        yield spec, rule, _stacked(spec, plan, rule, parts)


def _stacked(spec, plan: AnalysisPlan, rule: str, parts: list[ModelSummary]) -> Stacked:
    if spec.kind != "subgroup":
        return stack(parts)
    present = sorted({c for m in parts for c in m.cells})
    levels = ordered_levels(rule, plan.modifier_spec(str(spec.modifier)), present)  # type: ignore[arg-type]
    unknown = sorted(set(present) - set(levels))
    if unknown or not all(m.cells for m in parts):
        raise InputError(
            f"the summaries of {spec.id} carry categories the plan does not define "
            f"({', '.join(map(repr, unknown)) or 'blocks without a category'})",
            variable=spec.modifier,
            hint="every site must summarise with the same plan (levels and cut-points)",
        )
    return stack_cells(parts, levels)


def fit_summaries(
    summaries: Sequence[SiteSummaries | str | Path],
    plan: AnalysisPlan | dict | None = None,
    *,
    rules: DisclosureRules | None = None,
) -> FederatedResults:
    """Fit every linear model of the plan from the summaries of several sites.

    Parameters
    ----------
    summaries
        :class:`SiteSummaries` or paths of files written by ``ipdma summarize``.
    plan
        The coordinator's plan; every file must have been written for it. Default: the
        plan the files carry (they must all agree).
    rules
        The disclosure minimum every block must meet (default 5 per cell).

    Raises
    ------
    InputError
        A file altered after writing, for another plan, of an older format, with a cell
        below the minimum, or holding a trial another file also holds.
    """
    files, plan = verified(summaries, plan, rules)
    term_rows, model_rows, fits = [], [], {}
    binomial = []
    for spec, rule, stacked in models_of(files, plan):
        if spec.family == "binomial":  # the iterative protocol: fit_federated_binomial
            binomial.append(spec.id)
            continue
        row = dict(id=spec.id, status="fitted", formula="", trials=len(stacked.trials),
                   participants=round(stacked.n.sum()), loglik=np.nan, converged=None,
                   singular=None, error="", warnings="")  # fmt: skip
        try:
            model = federated_design(spec, plan, stacked, rule)
            row["formula"] = model.crossproducts.formula
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                fit = fit_crossproducts(
                    model.crossproducts, reml=plan.model.reml, residual=plan.model.residual
                )
        except TooFewTrials as exc:
            row.update(status="not estimable", error=str(exc).splitlines()[0])
            model_rows.append(row)
            continue
        except IpdmaError as exc:
            row.update(status="failed", error=f"{type(exc).__name__}: {exc}".splitlines()[0])
            model_rows.append(row)
            continue
        messages = [*fit.warnings, *(str(w.message) for w in caught), *model.notes]
        row.update(loglik=fit.loglik, converged=fit.converged, singular=fit.singular,
                   warnings=" | ".join(dict.fromkeys(messages)))  # fmt: skip
        fits[spec.id] = fit
        model_rows.append(row)
        term_rows += _tidy(model, fit, plan)
    fitted = {r["id"] for r in model_rows}
    reasons = {x.model_id: x.reason for s in files for x in s.not_summarised}
    for model_id, reason in reasons.items():
        if model_id not in fitted:
            model_rows.append(dict(id=model_id, status="not summarised", formula="", trials=0,
                                   participants=0, loglik=np.nan, converged=None,
                                   singular=None, error=reason, warnings=""))  # fmt: skip
    return FederatedResults(
        plan=plan,
        sites=tuple(s.site for s in files),
        terms=pd.DataFrame(term_rows, columns=_TERM_COLUMNS),
        models=pd.DataFrame(model_rows),
        fits=fits,
        skipped_binomial=tuple(binomial),
    )


def logistic_tables(
    fits: Mapping,
    files: Sequence[SiteSummaries],
    plan: AnalysisPlan | dict | None,
    rules: DisclosureRules | None = None,
) -> FederatedResults:
    """The logistic models fitted by the protocol (``{id: FederatedFit}``) as the tables of
    :class:`FederatedResults` (``models`` adds rounds, messages and bytes)."""
    files, plan = verified(files, plan, rules)
    term_rows, model_rows = [], []
    for model_id, fit in fits.items():
        r = fit.result
        term_rows += _tidy_terms(model_id, fit.terms, r, plan)
        model_rows.append(dict(id=model_id, status="fitted", formula=r.formula,
                               trials=r.ngroups, participants=r.nobs, loglik=r.loglik,
                               converged=r.converged, singular=r.singular, error="",
                               warnings=" | ".join(r.warnings), rounds=fit.rounds,
                               messages=fit.messages, bytes_sent=fit.bytes_sent,
                               bytes_received=fit.bytes_received))  # fmt: skip
    return FederatedResults(
        plan=plan,
        sites=tuple(s.site for s in files),
        terms=pd.DataFrame(term_rows, columns=_TERM_COLUMNS),
        models=pd.DataFrame(model_rows),
        fits={k: f.result for k, f in fits.items()},
    )
