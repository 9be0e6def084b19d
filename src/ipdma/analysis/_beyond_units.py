"""The spline and prediction analyses of the analysis stage, one *unit* each (a spline fit of
one modifier x outcome, an internal-external cross-validation of one outcome's effect model),
each with the frames it contributes to :class:`~ipdma.analysis._beyond_records.BeyondResults`.

Both run on the primary window and comparison set, for pain and function (linear mixed
models) and global recovery (logistic mixed models with the grid's structure: random
treatment effect and random baseline slope by default, the plan's ``nagq``; Riley et al.
2020); the internal-external cross-validation refits the effect model once per trial, so it
is kept to the primary cell. The data of a unit are the window's rows of the comparison set from trials
with both arms (as the grid's models), complete in the unit's variables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import IpdmaError
from ._plan import AnalysisPlan
from ._predict import iecv
from ._spec import BASELINE_OF
from ._splines import SplineInteraction, spline_interaction
from ._window import WindowArrays

__all__ = ["Unit", "cell_frame", "prediction_modifiers", "run_unit", "units"]

OUTCOMES = ("pain", "function", "recovery")
_FALLBACK = 3
MIN_TRIALS = 5  # trials (both arms, complete data) an effect model is cross-validated over
_HISTOGRAM_BINS = 30
_Z95 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True)
class Unit:
    """One spline fit (``kind="spline"``) or one IECV (``kind="prediction"``)."""

    kind: str
    outcome: str
    window: str
    comparison: str
    modifiers: tuple[str, ...]
    n_knots: int = 4
    selection: str = ""
    nagq: int = 0  # the logistic model's options (global recovery); 0 for linear models
    random: tuple[str, ...] = ()
    correlated: bool = False

    @property
    def family(self) -> str:
        return "binomial" if self.outcome == "recovery" else "gaussian"

    @property
    def random_terms(self) -> tuple[str, ...]:
        """The logistic model's random terms (the plan's ``random_binomial``)."""
        return self.random if self.family == "binomial" else ("treatment", "baseline")

    @property
    def columns(self) -> list[str]:
        """The data columns the unit uses."""
        return list(dict.fromkeys(["trial", "treat", self.outcome, BASELINE_OF[self.outcome],
                                   *self.modifiers]))  # fmt: skip


def cell_frame(frame: pd.DataFrame, comparison: str) -> pd.DataFrame:
    """The window's rows of the comparison set, from trials with both arms."""
    arrays = WindowArrays(frame)
    rows = arrays.frame.loc[arrays.comparison(comparison)]
    arms = rows.groupby("trial")["treat"].nunique()
    keep = rows["trial"].isin(arms.index[arms == 2])
    return rows.loc[keep].reset_index(drop=True)


def _numeric(frame: pd.DataFrame, name: str) -> bool:
    return name in frame.columns and pd.api.types.is_numeric_dtype(frame[name])


def _trials_with_both_arms(frame: pd.DataFrame, columns: list[str]) -> int:
    complete = frame[columns].dropna()
    arms = complete.groupby("trial")["treat"].nunique()
    return int((arms == 2).sum())


def prediction_modifiers(
    plan: AnalysisPlan,
    important: pd.DataFrame,
    interactions: pd.DataFrame,
    outcome: str,
    cell: pd.DataFrame,
) -> tuple[tuple[str, ...], str]:
    """The effect model's modifiers for ``outcome`` and how they were chosen.

    The candidates are the plan's ``prediction_modifiers``, else the outcome's potentially
    important numeric modifiers (Appendix 9) in the primary window and comparison, most
    significant first. Each is kept only if the participants complete in the outcome, its
    baseline and the modifiers kept so far still come from at least :data:`MIN_TRIALS`
    trials with both arms and at least half of the trials with the outcome (modifiers
    measured in few trials would leave too few trials to cross-validate over). When none
    is kept, up to 3 of the plan's numeric modifiers with the smallest interaction p in
    that cell are chosen by the same rule (the selection is not repeated within the
    cross-validation, so the calibration is optimistic).
    """
    if plan.prediction_modifiers is not None:
        candidates = [m for m in plan.prediction_modifiers if _numeric(cell, m)]
        how = "the plan's prediction_modifiers"
    else:
        rows = important.loc[
            (important["outcome"] == outcome)
            & (important["window"] == plan.primary_window)
            & (important["comparison"] == plan.primary_comparison)
        ].sort_values("p", kind="stable")
        candidates = [m for m in dict.fromkeys(rows["modifier"].astype(str)) if _numeric(cell, m)]
        how = "potentially important modifiers (Appendix 9) of this outcome"
    base = ["trial", "treat", outcome, BASELINE_OF[outcome]]
    need = max(MIN_TRIALS, (_trials_with_both_arms(cell, base) + 1) // 2)
    kept, left = _greedy(cell, base, candidates, need)
    if left:
        how += f"; left out (measured in too few trials): {', '.join(left)}"
    if not kept and plan.prediction_modifiers is None:
        # none usable: the plan's modifiers with the smallest interaction p in this cell
        rows = interactions.loc[
            (interactions["outcome"] == outcome)
            & (interactions["window"] == plan.primary_window)
            & (interactions["comparison"] == plan.primary_comparison)
            & interactions["p"].notna()
        ].sort_values("p", kind="stable")
        others = [m for m in dict.fromkeys(rows["modifier"].astype(str)) if _numeric(cell, m)]
        kept, _ = _greedy(cell, base, others, need, limit=_FALLBACK)
        how = (f"none of the potentially important modifiers usable ({how}); instead the "
               f"{len(kept)} modifiers with the smallest interaction p measured widely enough")  # fmt: skip
    return tuple(kept), how


def _greedy(
    cell: pd.DataFrame, base: list[str], candidates: list[str], need: int, limit: int = 99
) -> tuple[list[str], list[str]]:
    kept: list[str] = []
    left: list[str] = []
    for name in candidates:
        if len(kept) < limit and _trials_with_both_arms(cell, [*base, *kept, name]) >= need:
            kept.append(name)
        else:
            left.append(name)
    return kept, left


def units(
    plan: AnalysisPlan,
    frames: dict[str, pd.DataFrame],
    important: pd.DataFrame,
    interactions: pd.DataFrame,
) -> list[Unit]:
    """The units the plan asks for (see the module docstring)."""
    window, comparison = plan.primary_window, plan.primary_comparison
    frame = frames.get(window)
    if frame is None:
        return []
    out: list[Unit] = []
    outcomes = [o for o in plan.outcomes if o in OUTCOMES and o in frame.columns]
    for outcome in outcomes:
        binary = outcome == "recovery"
        nagq = plan.model.nagq if binary else 0
        random = tuple(plan.model.random_binomial) if binary else ()
        correlated = plan.model.correlated and binary
        if plan.splines:
            for name in plan.modifiers:
                if plan.modifier_spec(name).type == "continuous" and _numeric(frame, name):
                    out.append(Unit("spline", outcome, window, comparison, (name,),
                                    plan.spline_knots, "", nagq, random, correlated))  # fmt: skip
        if plan.prediction:
            cell = cell_frame(frame, comparison)
            chosen, how = prediction_modifiers(plan, important, interactions, outcome, cell)
            out.append(Unit("prediction", outcome, window, comparison, chosen, 4,
                            how, nagq, random, correlated))  # fmt: skip
    return out


def _cell(unit: Unit) -> dict[str, str]:
    return {"outcome": unit.outcome, "window": unit.window, "comparison": unit.comparison}


def run_unit(unit: Unit, data: pd.DataFrame, plan: AnalysisPlan) -> dict[str, pd.DataFrame]:
    """The frames of one unit on its data (``cell_frame`` of the unit's window), never
    raising for a problem of the data: it is recorded in the ``error`` column."""
    if unit.kind == "spline":
        return _spline(unit, data, plan)
    return _prediction(unit, data)


def _spline(unit: Unit, data: pd.DataFrame, plan: AnalysisPlan) -> dict[str, pd.DataFrame]:
    (modifier,) = unit.modifiers
    scale = "log OR" if unit.family == "binomial" else "MD"
    test = {**_cell(unit), "modifier": modifier, "scale": scale,
            "label": plan.modifier_spec(modifier).label or modifier, "n_knots": unit.n_knots}  # fmt: skip
    try:
        result = spline_interaction(
            data, modifier, outcome=unit.outcome, baseline=BASELINE_OF[unit.outcome],
            n_knots=unit.n_knots, family=unit.family, nagq=unit.nagq or 7,
            random=unit.random_terms, correlated=unit.correlated,
        )  # fmt: skip
    except (IpdmaError, np.linalg.LinAlgError, ValueError) as exc:
        return {"spline_tests": pd.DataFrame([{**test, "error": str(exc).splitlines()[0]}])}
    coefficients = result.coefficients
    linear = coefficients.loc[
        (coefficients["method"] == "linear") & (coefficients["term"] == "ts1")
    ]
    slope, se = float(linear["estimate"].iloc[0]), float(linear["se"].iloc[0])
    test.update(
        studies=result.studies, participants=result.participants,
        knots="; ".join(f"{k:.6g}" for k in result.knots), chi2=result.nonlinear_chi2,
        df=result.nonlinear_df, p=result.nonlinear_p, lr_chi2=result.lr_chi2, p_lr=result.lr_p,
        p_two_stage=result.nonlinear_p_two_stage,
        two_stage_studies=len(result.two_stage_trials) if result.two_stage else 0,
        linear_estimate=slope, linear_se=se, linear_ci_low=slope - _Z95 * se,
        linear_ci_high=slope + _Z95 * se,
        linear_p=float(2 * stats.norm.sf(abs(slope / se))),
        separated="; ".join(result.separated), note=_spline_note(result), error="",
    )  # fmt: skip
    curves = []
    for method, curve in (("one-stage", result.one_stage), ("two-stage", result.two_stage),
                          ("linear", result.linear)):  # fmt: skip
        if curve is not None:
            curves.append(curve.frame.assign(**_cell(unit), modifier=modifier, method=method))
    low, high = curves[0]["x"].min(), curves[0]["x"].max()
    values = result.values[(result.values >= low) & (result.values <= high)]
    counts, edges = np.histogram(values, bins=np.linspace(low, high, _HISTOGRAM_BINS + 1))
    histogram = pd.DataFrame({**_cell(unit), "modifier": modifier, "bin_low": edges[:-1],
                              "bin_high": edges[1:], "count": counts.astype(float)})  # fmt: skip
    return {
        "spline_tests": pd.DataFrame([test]),
        "spline_curves": pd.concat(curves, ignore_index=True),
        "spline_histogram": histogram,
    }


def _spline_note(result: SplineInteraction) -> str:
    """Two-stage trials left out (and why), separation and convergence, for the table."""
    parts = []
    if result.two_stage is None:
        parts.append("two-stage: fewer than 3 trials could be fitted on their own")
    if result.left_out:
        reasons: dict[str, list[str]] = {}
        for trial, reason in result.left_out:
            reasons.setdefault(reason, []).append(trial)
        parts.append("two-stage left out: " + "; ".join(
            f"{', '.join(trials)} ({reason})" for reason, trials in reasons.items()))  # fmt: skip
    if result.separated:
        parts.append(f"separation in {', '.join(result.separated)} (one-stage)")
    if not result.converged:
        parts.append("a one-stage fit did not converge")
    return "; ".join(parts)


def _prediction(unit: Unit, data: pd.DataFrame) -> dict[str, pd.DataFrame]:
    row: dict[str, object] = {
        **_cell(unit),
        "modifiers": "; ".join(unit.modifiers),
        "selection": unit.selection,
        "scale": "log OR" if unit.family == "binomial" else "MD",
    }
    if not unit.modifiers:
        row["error"] = "no modifier to predict with"
        return {"prediction": pd.DataFrame([row])}
    baseline = BASELINE_OF[unit.outcome]
    complete = data[unit.columns].dropna()
    try:
        result = iecv(complete, unit.modifiers, outcome=unit.outcome, baseline=baseline,
                      family=unit.family, nagq=unit.nagq or 7, random=unit.random_terms,
                      correlated=unit.correlated)  # fmt: skip
    except (IpdmaError, np.linalg.LinAlgError, ValueError) as exc:
        row["error"] = str(exc).splitlines()[0]
        return {"prediction": pd.DataFrame([row])}
    row.update(
        studies=int(complete["trial"].nunique()), participants=len(complete), slope=result.slope,
        slope_ci_low=result.slope_ci[0], slope_ci_high=result.slope_ci[1],
        c_benefit=result.c_benefit, error="",
    )  # fmt: skip
    return {
        "prediction": pd.DataFrame([row]),
        "prediction_trials": result.trials.assign(outcome=unit.outcome),
        "prediction_groups": result.groups.assign(outcome=unit.outcome),
    }
