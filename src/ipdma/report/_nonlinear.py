"""The report's non-linear interactions and individual-prediction sections, from the stored
frames of ``AnalysisResults.beyond`` (:mod:`ipdma.analysis._beyond_records`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..analysis import BeyondResults
from ._captions import comparison_phrase, window_phrase
from ._figures import figure_view
from ._labels import OUTCOME_LABELS
from ._view import FigureView, TableView, Text, format_ci, format_number, format_p

__all__ = ["nonlinear_figures", "nonlinear_items", "prediction_figures", "prediction_items"]


def _odds(tests: pd.DataFrame) -> bool:
    """Whether the rows are a logistic model's (log odds ratios)."""
    return "scale" in tests.columns and bool((tests["scale"] == "log OR").any())


def _linear_cell(rec: Mapping[str, Any]) -> str:
    """The linear interaction per unit: a difference in MD, or a ratio of odds ratios."""
    estimate, low, high = (float(rec[k]) for k in ("linear_estimate", "linear_ci_low",
                                                    "linear_ci_high"))  # fmt: skip
    if rec.get("scale") == "log OR" and math.isfinite(estimate):
        return "ratio of ORs " + format_ci(math.exp(estimate), math.exp(low), math.exp(high), 3)
    return format_ci(estimate, low, high, digits=3)


def _fitted(tests: pd.DataFrame) -> pd.DataFrame:
    return tests.loc[tests["error"].fillna("").astype(str) == ""]


def _where(frame: pd.DataFrame, settings: Mapping[str, Any] | None) -> str:
    row = frame.iloc[0]
    return f"{window_phrase(str(row['window']), settings)}, {comparison_phrase(str(row['comparison']))}"


def nonlinear_figures(
    beyond: BeyondResults, settings: Mapping[str, Any] | None = None
) -> list[FigureView]:
    """One panel figure per outcome: every continuous modifier's effect curve."""
    from ..plots import effect_curve_panel

    views = []
    tests = _fitted(beyond.spline_tests)
    for outcome, mine in tests.groupby("outcome", sort=False):
        word = OUTCOME_LABELS.get(str(outcome), str(outcome))
        odds = _odds(mine)
        fig = effect_curve_panel(
            mine,
            beyond.spline_curves.loc[beyond.spline_curves["outcome"] == outcome],
            beyond.spline_histogram.loc[beyond.spline_histogram["outcome"] == outcome],
            effect_label=f"Odds ratio, {word.lower()}" if odds else f"Effect on {outcome!s} (MD)",
        )
        reading = (
            "Logistic mixed model (random treatment effect and random baseline slope, adaptive "
            "Gauss-Hermite quadrature); odds ratios of recovery, exercise vs comparison, for a "
            "typical trial, on a log axis; above 1 favours exercise. Two-stage: trials whose "
            "own logistic fit separates are left out (see the table)."
            if odds
            else "Negative favours exercise."
        )
        views.append(figure_view(
            fig, key=f"nonlinear_{outcome}",
            title=f"Non-linear interactions: treatment effect of exercise on {word.lower()} "
            f"against each continuous modifier, {_where(mine, settings)}",
            notes=(
                "Restricted cubic splines (knots: grey lines) of the modifier centred within "
                "trial, one-stage (solid, with pointwise 95% CI) and two-stage (dashed; "
                "multivariate meta-analysis of the trials' spline coefficients); the linear "
                f"interaction dotted; the modifier's distribution beneath. {reading}",
            ),
        ))  # fmt: skip
    return views


def nonlinear_items(
    beyond: BeyondResults, figures: list[FigureView], labels: Mapping[str, str]
) -> list[TableView | FigureView | Text]:
    """The table of non-linearity tests and the effect-curve figures."""
    tests = beyond.spline_tests
    if tests.empty:
        return []
    rows = []
    for rec in tests.to_dict("records"):
        rows.append({
            "Outcome": OUTCOME_LABELS.get(rec["outcome"], rec["outcome"]),
            "Variable": labels.get(rec["modifier"]) or rec.get("label") or rec["modifier"],
            "Studies / participants": f"{format_number(rec['studies'], 0)} / "
            f"{format_number(rec['participants'], 0)}",
            "Knots": ", ".join(f"{float(k):.3g}" for k in str(rec.get("knots") or "").split(";")
                               if k.strip()),
            "Linear interaction per unit (95% CI)": _linear_cell(rec),
            "p (linear)": format_p(rec["linear_p"]),
            "Non-linearity chi\u00b2 (df)": ""
            if pd.isna(rec["chi2"]) else f"{format_number(rec['chi2'], 2)} ({int(rec['df'])})",
            "p (one-stage)": format_p(rec["p"]),
            "p (LR)": "" if pd.isna(rec.get("p_lr")) else format_p(rec["p_lr"]),
            "p (two-stage)": format_p(rec["p_two_stage"]),
            "Note": "; ".join(str(rec.get(k) or "") for k in ("error", "note")
                              if pd.notna(rec.get(k)) and str(rec.get(k) or "")),
        })  # fmt: skip
    table = TableView(
        key="nonlinear",
        title="Tests of non-linearity of the treatment-modifier interactions",
        frame=pd.DataFrame(rows).fillna(""),
        notes=(
            "Wald test that the non-linear spline terms of the interaction are jointly zero "
            "(one-stage mixed model; two-stage: on the pooled coefficients). The modifier is "
            "centred within trial (within-trial information only). A small p suggests the "
            "effect changes non-linearly with the modifier (see the figures); many tests were "
            "done, so treat single small p-values with caution.",
            "Pain and function: linear mixed models, the linear interaction a difference in "
            "mean difference per unit. Global recovery: logistic mixed models (the grid's "
            "structure: random treatment effect and random baseline slope, adaptive "
            "Gauss-Hermite quadrature), the linear interaction a ratio of odds ratios per "
            "unit, p (LR) the likelihood-ratio test of the same hypothesis; the two-stage "
            "analysis pools the trials' own logistic regressions and leaves out those whose "
            "fit separates (named in the note; no continuity correction).",
        ),
        repeat_first=False,
    )
    intro = Text(
        "The paper assumed linear interactions for continuous modifiers. Here each "
        "continuous modifier's interaction with treatment is also modelled by a restricted "
        "cubic spline with knots common to all trials (Riley et al. 2020, Stat Med 39:2115), "
        "for pain and function (mean differences) and global recovery (odds ratios)."
    )
    return [intro, table, *figures]


def prediction_figures(beyond: BeyondResults) -> list[FigureView]:
    """The calibration plot of the internal-external cross-validation."""
    from ..plots import benefit_calibration

    groups = beyond.prediction_groups
    if groups.empty:
        return []
    fig = benefit_calibration(groups, beyond.prediction)
    return [figure_view(
        fig, key="prediction_calibration",
        title="Individual treatment-effect prediction: observed vs predicted treatment effect "
        "in fifths of predicted effect (internal-external cross-validation)",
        notes=(
            "Each trial's participants were predicted by the effect model fitted without "
            "that trial; the groups pool the left-out predictions of all trials. Observed: "
            "the treatment effect in the group (least squares with trial intercepts and the "
            "baseline value, or for global recovery the log odds ratio by logistic regression "
            "with the same terms; 95% CI). Points on the dotted line: well calibrated.",
        ),
    )]  # fmt: skip


def prediction_items(
    beyond: BeyondResults, figures: list[FigureView], labels: Mapping[str, str]
) -> list[TableView | FigureView | Text]:
    """The cross-validation summary, per-trial results and the calibration plot."""
    summary = beyond.prediction
    if summary.empty:
        return []
    rows = []
    for rec in summary.to_dict("records"):
        names = [labels.get(m, m) for m in str(rec.get("modifiers") or "").split("; ") if m]
        rows.append({
            "Outcome": OUTCOME_LABELS.get(rec["outcome"], rec["outcome"]),
            "Modifiers in the model": ", ".join(names),
            "Scale": "log odds ratio" if rec.get("scale") == "log OR" else "mean difference",
            "How chosen": str(rec.get("selection") or ""),
            "Studies / participants": f"{format_number(rec['studies'], 0)} / "
            f"{format_number(rec['participants'], 0)}",
            "Calibration slope for benefit (95% CI)": format_ci(
                rec["slope"], rec["slope_ci_low"], rec["slope_ci_high"]),
            "c-for-benefit": format_number(rec["c_benefit"], 3),
            "Note": str(rec.get("error") or ""),
        })  # fmt: skip
    table = TableView(
        key="prediction",
        title="Individual treatment-effect prediction: internal-external cross-validation",
        frame=pd.DataFrame(rows).fillna(""),
        notes=(
            "Effect model: linear mixed model with the modifiers' prognostic effects and their "
            "within-trial interactions with treatment, a random treatment effect (Riley et al. "
            "2020); for global recovery the logistic mixed model with the same terms, a random "
            "treatment effect and random baseline slope (predicted effect: log odds ratio). "
            "Each trial in turn was left out and predicted. Calibration slope for "
            "benefit: 1 = predicted differences in benefit are right, < 1 too extreme, near 0 "
            "no real differences captured (per trial, by least squares or, for recovery, "
            "logistic regression of the outcome on treatment x predicted effect; pooled by "
            "DerSimonian-Laird). c-for-benefit: concordance of predicted and observed benefit "
            "in pairs matched on predicted benefit (van Klaveren et al. 2018; for recovery the "
            "predicted risk difference against the pair's observed difference in recovery); "
            "0.5 = no discrimination.",
            "The modifiers were chosen on the same data and the choice was not repeated "
            "within the cross-validation, so these figures are optimistic. Kept to the primary "
            "follow-up window and comparison set (one refit per trial per outcome).",
        ),
    )
    per_trial = beyond.prediction_trials
    items: list[TableView | FigureView | Text] = [
        Text("For a covariate profile, the command ipdma predict PROJECT patients.csv gives "
             "the predicted effect of exercise with its confidence and prediction intervals."),
        table, *figures,
    ]  # fmt: skip
    if not per_trial.empty:
        shown = pd.DataFrame({
            "Outcome": [OUTCOME_LABELS.get(o, o) for o in per_trial["outcome"]],
            "Left-out trial": per_trial["trial"].astype(str),
            "Participants": [format_number(v, 0) for v in per_trial["n"]],
            "Calibration slope (SE)": [
                "" if pd.isna(s) else f"{format_number(s)} ({format_number(se)})"
                for s, se in zip(per_trial["slope"], per_trial["slope_se"], strict=True)],
            "c-for-benefit": [format_number(v, 3) for v in per_trial["c_benefit"]],
        })  # fmt: skip
        items.append(TableView(
            key="prediction_trials", title="Internal-external cross-validation per left-out trial",
            frame=shown, notes=("Blank: fewer than 5 participants in an arm of the trial, no "
                                "spread of predicted effect, or (recovery) the trial's own "
                                "logistic calibration regression separates.",),
            repeat_first=False, collapsed=True,
        ))  # fmt: skip
    return items
