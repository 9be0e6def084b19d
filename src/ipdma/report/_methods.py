"""The methods paragraphs, generated from the recorded analysis plan and the settings.

``plan`` is the analysis plan as recorded with the results
(``ipdma.analysis.AnalysisPlan.model_dump(mode="json")``); ``settings`` the project's
harmonization settings (``ipdma.spec.Settings.model_dump(mode="json")``). Only what they
record is stated; nothing is invented when a key is absent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._appendix9 import importance_rule_text
from ._labels import COMPARISON_LABELS

__all__ = ["methods_paragraphs"]


def _get(mapping: Mapping[str, Any] | None, *path: str) -> Any:
    value: Any = mapping
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def _join(items: Sequence[str]) -> str:
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _number(value: Any) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else f"{number:g}"


def _windows_sentence(settings: Mapping[str, Any]) -> str:
    windows = _get(settings, "windows")
    if not isinstance(windows, Mapping) or not windows:
        return ""
    parts = []
    for name in ("short", "moderate", "long"):
        window = windows.get(name)
        if isinstance(window, Mapping) and "target" in window:
            part = f"{name} term: the visit closest to {_number(window['target'])} weeks"
            if window.get("max_distance") is not None:
                part += f" (at most {_number(window['max_distance'])} weeks away)"
            parts.append(part)
    if not parts:
        return ""
    ties = _get(settings, "ties")
    tie = f"; between two equally close visits the {ties} one is used" if ties else ""
    return "Follow-up windows: " + "; ".join(parts) + tie + "."


def _recovery_sentence(settings: Mapping[str, Any]) -> str:
    recovery = _get(settings, "recovery")
    if not isinstance(recovery, Mapping) or not {
        "relative",
        "pain_points",
        "function_points",
    } <= set(recovery):
        return ""
    return (
        f"Global recovery: an improvement of at least {_number(100 * float(recovery['relative']))}% "
        f"of the baseline value and at least {_number(recovery['pain_points'])} points in pain, "
        f"or {_number(recovery['function_points'])} points in function (0-100 scales)."
    )


def _model_paragraph(plan: Mapping[str, Any]) -> str:
    model = _get(plan, "model") or {}
    random = list(model.get("random") or [])
    text = (
        "Overall effects and treatment-modifier interactions were estimated with one-stage mixed "
        "models with trial-specific (stratified) intercepts"
    )
    if random:
        how = "correlated" if model.get("correlated") else "independent"
        text += f" and {how} random effects across trials of " + _join(
            ["the treatment effect" if r == "treatment" else "the baseline value" for r in random]
        )
    text += (
        ", adjusted for the baseline value of the outcome (baseline function for global recovery)."
    )
    if "reml" in model:
        text += " Pain and function: linear mixed models by " + (
            "restricted maximum likelihood (REML)" if model["reml"] else "maximum likelihood"
        )
        if model.get("residual"):
            text += (
                ", one residual variance per trial"
                if model["residual"] == "stratified"
                else ", a common residual variance"
            )
        if model.get("df_method"):
            text += {
                "satterthwaite": ", Satterthwaite degrees of freedom",
                "kenward-roger": ", Kenward-Roger adjusted standard errors and degrees of freedom",
                "residual": ", residual degrees of freedom (n - rank(X))",
            }.get(model["df_method"], ", Wald (normal) tests")
        text += "."
    if "nagq" in model:
        nodes = int(model["nagq"])
        how = (
            "the Laplace approximation"
            if nodes == 1
            else f"adaptive Gauss-Hermite quadrature with {nodes} nodes"
        )
        terms = list(model.get("random_binomial") or [])
        text += f" Global recovery: logistic mixed models by maximum likelihood with {how}"
        if terms and nodes > 1:
            text += " per random effect"
        if terms:
            how = "correlated" if model.get("correlated") and len(terms) > 1 else "independent"
            text += f" ({how} random effects across trials of " + _join(
                [
                    "the treatment effect" if t == "treatment" else "the baseline value"
                    for t in terms
                ]
            )
            if "baseline" not in terms:
                text += "; the effect of the baseline value common to all trials"
            text += ")"
        text += "."
    if model.get("treatment_coding"):
        coding = model["treatment_coding"]
        text += (
            " Treatment was coded 0/1."
            if coding == "01"
            else " Treatment was centred at each trial's proportion treated (Riley et al. 2020)."
        )
    return text


def methods_paragraphs(
    plan: Mapping[str, Any] | None,
    settings: Mapping[str, Any] | None,
    *,
    version: str,
    n_trials: int | None = None,
    n_participants: int | None = None,
    labels: Mapping[str, str] | None = None,
) -> list[str]:
    """The methods section as paragraphs of plain text."""
    plan = plan or {}
    settings = settings or {}
    labels = labels or {}
    paragraphs: list[str] = []

    data = "Individual participant data"
    if n_trials is not None and n_participants is not None:
        data += f" from {n_trials} trials ({n_participants} participants)"
    data += (
        " were harmonized from the trials' original files by declarative trial specifications; "
        "every pain and function instrument was converted to a common 0-100 scale on which "
        "higher is worse. "
    )
    data += " ".join(s for s in (_windows_sentence(settings), _recovery_sentence(settings)) if s)
    paragraphs.append(data.strip())
    paragraphs.append(_model_paragraph(plan))

    modifiers = list(_get(plan, "modifiers") or [])
    text = ""
    if modifiers:
        text = (
            f"Candidate modifiers ({len(modifiers)}): "
            + _join([labels.get(m, m) for m in modifiers])
            + ". "
        )
    text += (
        "Each entered the model with its interaction with treatment, centred at its "
        "trial-specific mean so that the interaction estimate uses within-trial information "
        "only (no ecological bias)"
    )
    if _get(plan, "model", "across_trial"):
        text += "; the across-trial interaction is estimated as a separate term, not mixed in"
    text += ". A trial contributes to an interaction only if it has both arms and variation in "
    text += "the modifier."
    adjust = list(_get(plan, "adjust_for") or [])
    if adjust:
        text += (
            " Adjusted models add "
            + _join([labels.get(a, a).split(" (")[0] for a in adjust])
            + " and their interactions with treatment."
        )
    comparisons = list(_get(plan, "comparisons") or [])
    if comparisons:
        text += (
            " Comparison sets: exercise versus "
            + _join([COMPARISON_LABELS.get(c, c) for c in comparisons])
            + "."
        )
    if _get(plan, "level") is not None:
        text += f" Intervals are {_number(100 * float(plan['level']))}% confidence intervals."
    paragraphs.append(text)

    rules = _get(plan, "importance")
    if isinstance(rules, Mapping) and rules:
        paragraphs.append(
            "A modifier is summarized as potentially important (Appendix 9) when its "
            f"within-trial interaction is {importance_rule_text(dict(plan or {}))}. Adjusted "
            "models are primary, the unadjusted estimates are shown beside them. Many "
            "interactions were tested, so false-discovery-rate adjusted p-values "
            "(Benjamini-Hochberg, across the whole grid) are shown beside the nominal ones; "
            "these results are exploratory."
        )
    paragraphs.append(
        f"Software: ipdma {version} (Python; estimation in numpy/scipy, no R or Stata at run "
        "time). Every model's convergence, singular fits and dropped rows are listed under "
        "Warnings."
    )
    return paragraphs
