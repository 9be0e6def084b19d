"""The analysis grid on multiply imputed data: every model fitted on each completed dataset and
pooled by Rubin's rules into one :class:`ModelResult` (records like any other).

For each follow-up window the analysis frame is imputed ``m`` times
(:func:`ipdma.impute.impute`: multilevel, trial-specific parameters, the outcomes and their
products with the treatment in every imputation model). Each model of the grid is prepared
and fitted on each completed frame exactly as on the observed data (same formula, centring
within trial, same inference), and the m fits of each reported term are pooled::

    estimate = mean of the m estimates;  SE^2 = within + (1 + 1/m) between
    df = Barnard-Rubin, with the complete-data df = mean Satterthwaite df (linear models)
         or infinity (logistic models, z)

The pooled record's ``df_method`` is ``"barnard-rubin"``; its ``imputation`` field gives m and
the fraction of missing information of each term. Models whose data do not change between
imputations (no imputed variable in them) are fitted once. The fits travel as lean records
and are pooled as soon as a model's m fits are in (:mod:`._imputed_fits`,
:mod:`._imputed_records`); the results store caches the pooled record under the keys of its
m fits, each keyed on the model's own data.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import pandas as pd

from .._literals import TermRole
from ..impute import impute
from ._imputed_fits import fit_cells
from ._imputed_records import pool_records
from ._plan import AnalysisPlan
from ._records import ModelResult
from ._runner import ProgressHook, available_cores
from ._spec import ModelSpec
from ._store import ResultsStore
from ._window import WindowArrays

__all__ = ["ImputationDiagnostics", "ImputedGrid", "imputed_grid", "pool_records"]


@dataclass(frozen=True)
class ImputationDiagnostics:
    """What the imputation of one window did: availability of each covariate (trials that
    measured it, systematically missing, imputed or why not), the chain means per iteration
    and the potential scale reduction of each imputed variable."""

    window: str
    m: int
    iterations: int
    availability: pd.DataFrame
    chains: pd.DataFrame
    rhat: pd.Series

    def to_json(self) -> str:
        return json.dumps(
            {
                "window": self.window,
                "m": self.m,
                "iterations": self.iterations,
                "availability": self.availability.to_dict(orient="list"),
                "chains": self.chains.to_dict(orient="list"),
                "rhat": {str(k): float(v) for k, v in self.rhat.items()},
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> ImputationDiagnostics:
        data = json.loads(text)
        return cls(
            window=data["window"],
            m=int(data["m"]),
            iterations=int(data["iterations"]),
            availability=pd.DataFrame(data["availability"]),
            chains=pd.DataFrame(data["chains"]),
            rhat=pd.Series(data["rhat"], name="rhat", dtype=float),
        )


@dataclass(frozen=True)
class ImputedGrid:
    """Pooled records of the imputed analyses and what is needed to store and report them."""

    records: list[ModelResult]
    keys: list[str]
    new_fits: dict[str, ModelResult]  # the pooled records made in this run, by key
    times: dict[str, tuple[float, float]]  # their fits' wall and CPU seconds, summed
    cached: int  # pooled records taken from the results store
    diagnostics: list[ImputationDiagnostics]


def imputation_variables(plan: AnalysisPlan, frame: pd.DataFrame) -> list[str]:
    """Numeric covariates of the plan (modifiers, adjustment variables) in the frame."""
    names = dict.fromkeys((*plan.modifiers, *plan.adjust_for))
    return [n for n in names if n in frame.columns and pd.api.types.is_numeric_dtype(frame[n])]


def imputed_grid(
    frames: Mapping[str, pd.DataFrame],
    specs: Sequence[ModelSpec],
    plan: AnalysisPlan,
    store: ResultsStore,
    *,
    jobs: int | None = None,
    progress: ProgressHook | None = None,
) -> ImputedGrid:
    """Impute each window's frame ``plan.imputation.m`` times, fit the plan's models of the
    kinds ``plan.imputation.kinds`` on every completed frame and pool them."""
    from ._run import _not_prepared as not_prepared

    settings = plan.imputation
    diagnostics: list[ImputationDiagnostics] = []
    completed: dict[str, list[WindowArrays]] = {}
    for index, (window, frame) in enumerate(frames.items()):
        variables = imputation_variables(plan, frame)
        imputation = impute(
            frame,
            variables,
            m=settings.m,
            ordered=[name for name in settings.ordered if name in variables],
            random_slopes=settings.method == "2stage-random-slopes",
            seed=settings.seed + 1000 * index,
            iterations=settings.iterations,
            min_trials=settings.min_trials,
            jobs=available_cores() if jobs is None else jobs,
        )
        observed = WindowArrays(frame)  # the trials and complete columns are shared
        completed[window] = [observed.completed(imputation.completed(i), imputation.variables)
                             for i in range(settings.m)]  # fmt: skip
        diagnostics.append(
            ImputationDiagnostics(
                window,
                settings.m,
                settings.iterations,
                imputation.availability,
                imputation.chains,
                imputation.rhat,
            )
        )
    # the pooled records carry no two-stage estimate: the m fits do not compute one
    fit_plan = plan.model_copy(update={"two_stage": False})
    wanted = [replace(spec, imputed=True) for spec in specs
              if spec.kind in settings.kinds and spec.window in completed]  # fmt: skip
    cells, state = fit_cells(wanted, completed, fit_plan, store, not_prepared,
                             jobs=available_cores() if jobs is None else max(1, int(jobs)),
                             progress=progress)  # fmt: skip
    records = [cell.pooled for cell in cells if cell.pooled is not None]
    if len(records) != len(cells):  # every cell is pooled once its fits are in
        raise AssertionError("an imputed model was not pooled")
    return ImputedGrid(records, [cell.key for cell in cells], state.new_fits, state.times,
                       state.cached, diagnostics)  # fmt: skip


IMPUTATION_COLUMNS = [
    "kind", "outcome", "window", "comparison", "modifier", "level", "adjusted", "scale",
    "cc_studies", "cc_participants", "cc_estimate", "cc_ci_low", "cc_ci_high", "cc_p",
    "mi_studies", "mi_participants", "mi_estimate", "mi_ci_low", "mi_ci_high", "mi_p", "mi_df",
    "fmi", "m", "trials_measured", "trials_systematic", "imputed", "reason", "status",
    "model_id",
]  # fmt: skip


def imputation_table(
    records: Sequence[ModelResult], diagnostics: Sequence[ImputationDiagnostics]
) -> pd.DataFrame:
    """Complete-case and imputed results side by side: the overall effects (treatment term)
    and the within-trial interactions, with how many trials measured the modifier."""
    observed = {r.spec: r for r in records if not r.spec.imputed}
    available = {
        (d.window, str(row["variable"])): row
        for d in diagnostics
        for row in d.availability.to_dict(orient="records")
    }
    rows = []
    for record in records:
        spec = record.spec
        if not spec.imputed:
            continue
        complete = observed.get(replace(spec, imputed=False))
        role: TermRole = "interaction"
        if spec.kind == "overall":
            role = "treatment"
        elif spec.kind == "subgroup":
            role = "subgroup"
        cc_terms = {t["level"]: t for t in complete.rows(role)} if complete else {}
        scale = "OR" if spec.outcome == "recovery" else "MD"
        fmi = record.imputation.fmi if record.imputation else ()
        tidy = record.tidy()
        fmi_of = dict(zip(tidy["term"], fmi, strict=False))
        info = available.get((spec.window, str(spec.modifier)), {})
        for term in record.rows(role):
            cc = cc_terms.get(term["level"], {})
            rows.append(
                {
                    "kind": spec.kind,
                    "outcome": spec.outcome,
                    "window": spec.window,
                    "comparison": spec.comparison,
                    "modifier": spec.modifier or "",
                    "level": term["level"],
                    "adjusted": spec.adjusted,
                    "scale": scale,
                    "cc_studies": cc.get("studies", 0),
                    "cc_participants": cc.get("participants", 0),
                    **{f"cc_{k}": v for k, v in _reported(cc, scale).items()},
                    "mi_studies": term["studies"],
                    "mi_participants": term["participants"],
                    **{f"mi_{k}": v for k, v in _reported(term, scale).items()},
                    "mi_df": term["df"],
                    "fmi": fmi_of.get(term["term"], math.nan),
                    "m": record.imputation.m if record.imputation else 0,
                    "trials_measured": info.get("trials_measured", math.nan),
                    "trials_systematic": info.get("trials_systematic", math.nan),
                    "imputed": bool(info.get("imputed", False)),
                    "reason": info.get("reason", ""),
                    "status": record.status,
                    "model_id": record.model_id,
                }
            )
    return pd.DataFrame(rows, columns=IMPUTATION_COLUMNS)


def _reported(term: Mapping[str, object], scale: str) -> dict[str, float]:
    def on_scale(key: str) -> float:
        value = term.get(key)
        if not isinstance(value, int | float) or not math.isfinite(value):
            return math.nan
        return math.exp(value) if scale == "OR" else float(value)

    p = term.get("p")
    return {
        "estimate": on_scale("estimate"),
        "ci_low": on_scale("ci_low"),
        "ci_high": on_scale("ci_high"),
        "p": float(p) if isinstance(p, int | float) else math.nan,
    }
