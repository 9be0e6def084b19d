"""Treatment effect against a continuous modifier (spline interaction, Riley et al. 2020)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..analysis._splines import SplineInteraction

__all__ = ["effect_curve"]


def effect_curve(
    result: SplineInteraction,
    *,
    label: str | None = None,
    effect_label: str = "Treatment effect (mean difference)",
) -> Figure:
    """The one-stage spline effect with its pointwise 95% band, the two-stage (multivariate
    meta-analysis) curve and the linear-interaction fit overlaid, and the distribution of the
    modifier beneath; the non-linearity test in the title line. A logistic model's curves
    (log odds ratios) are drawn as odds ratios on a log axis."""
    from matplotlib.figure import Figure

    from ._beyond import odds_axis

    odds = result.scale == "log OR"

    def shown(frame: pd.DataFrame) -> pd.DataFrame:
        if not odds:
            return frame
        return frame.assign(**{c: np.exp(frame[c]) for c in ("estimate", "ci_low", "ci_high")})

    if odds and effect_label == "Treatment effect (mean difference)":
        effect_label = "Odds ratio (exercise vs comparison)"

    fig = Figure(figsize=(6.4, 5.2), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3.2, 1))
    one = shown(result.one_stage.frame)
    top.fill_between(one["x"], one["ci_low"], one["ci_high"], color="#9ecae1", alpha=0.6,
                     linewidth=0, label="95% CI (pointwise)")  # fmt: skip
    top.plot(one["x"], one["estimate"], color="#08519c", linewidth=2, label="Spline, one-stage")
    if result.two_stage is not None:
        two = shown(result.two_stage.frame)
        top.plot(two["x"], two["estimate"], color="#d94801", linestyle="--", linewidth=1.5,
                 label="Spline, two-stage (multivariate MA)")  # fmt: skip
    lin = shown(result.linear.frame)
    top.plot(lin["x"], lin["estimate"], color="#525252", linestyle=":", linewidth=1.5,
             label="Linear interaction")  # fmt: skip
    top.axhline(1 if odds else 0, color="black", linewidth=0.7)
    if odds:
        odds_axis(top)
    for knot in result.knots:
        top.axvline(knot, color="#bdbdbd", linewidth=0.6, zorder=0)
    top.set_ylabel(effect_label)
    p = result.nonlinear_p
    p_text = "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
    top.set_title(
        f"Non-linearity: chi2 = {result.nonlinear_chi2:.2f} on {result.nonlinear_df} df, {p_text}",
        fontsize=9,
    )
    top.legend(fontsize=8, frameon=False)
    values = result.values
    lo, hi = one["x"].min(), one["x"].max()
    bottom.hist(values[(values >= lo) & (values <= hi)], bins=np.linspace(lo, hi, 30),
                color="#969696")  # fmt: skip
    bottom.set_ylabel("Participants")
    bottom.set_xlabel(label or result.modifier)
    return fig
