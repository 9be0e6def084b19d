"""The human-readable manifest: exactly what leaves the site, in words and counts."""

from __future__ import annotations

from pathlib import Path

from ._file import SiteSummaries

__all__ = ["manifest_text"]


def manifest_text(s: SiteSummaries, path: Path, digest: str) -> str:
    trials = s.trials
    numbers = sum(
        len(m.trials) * (1 + len(m.columns) * (len(m.columns) + 1) // 2) for m in s.models
    )
    lines = [
        f"ipdma summaries manifest: {path.name}",
        f"site: {s.site}",
        f"file hash (sha256): {digest}",
        f"analysis plan hash (sha256): {s.plan_hash}",
        "",
        "WHAT LEAVES THIS SITE",
        f"- {len(s.models)} models of the analysis plan, {len(trials)} trial(s): "
        + ", ".join(trials),
        "- per model and trial: the number of participants n, the trial means of the model's",
        "  raw columns (e.g. the mean baseline, the proportion in the exercise arm, the",
        "  proportion of smokers among the exercise arm) and the sums of products of those",
        "  columns centred at the trial means (e.g. the sum of squared deviations of the",
        "  outcome, the sum of outcome x baseline deviations)",
        "- subgroup models: one such block per trial and category of the modifier (the",
        "  category's label, e.g. '>= 30', is sent; the modifier's values are not)",
        f"- {numbers} numbers in all; the analysis plan itself (no data)",
        "- NOT included: any participant's row, identifier or value; minima, maxima, medians",
        "",
        "DISCLOSURE RULES APPLIED BEFORE WRITING",
        f"- each trial arm has at least {s.min_cell} participants",
        f"- each category of a 0/1 column (overall and within each arm) has 0 or at least "
        f"{s.min_cell} participants",
        "- a trial has more participants than the block has columns (no row is determined)",
        "- subgroup models: every trial-category block meets the two rules above (an arm may",
        "  be empty in a category); a trial with any failing block is withheld whole",
        "",
        "MODELS AND THEIR COLUMNS",
    ]
    for m in s.models:
        blocks = f"{len(set(m.trials))} trial(s)"
        if m.cells:
            blocks += f" in {len(m.trials)} trial-category block(s)"
        lines.append(f"- {m.model_id}: {blocks}; columns {', '.join(m.columns)}")
    lines.append("")
    if s.withheld:
        lines.append(f"WITHHELD ({len(s.withheld)} trial block(s) stay at the site)")
        for w in s.withheld:
            lines.append(f"- {w.model_id}, trial {w.trial}: {'; '.join(w.reasons)}")
    else:
        lines.append("WITHHELD: nothing")
    if s.not_summarised:
        lines += ["", f"NOT SUMMARISED ({len(s.not_summarised)} model(s) of the plan)"]
        lines += [f"- {x.model_id}: {x.reason}" for x in s.not_summarised]
    return "\n".join(lines) + "\n"
