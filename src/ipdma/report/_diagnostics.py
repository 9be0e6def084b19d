"""Model diagnostics grouped by kind: one line per kind with its count, details on demand.

Kinds: not estimable (fewer than two trials; no fit), failed, did not converge (with the
cause, e.g. separation, from the fit's warnings), singular fit (a variance at 0), and rows
dropped for missing values. Each kind with models gets a collapsed table listing them.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ._labels import as_bool
from ._tables import dropped_summary, not_estimable, problems_summary
from ._view import TableView, Text

__all__ = ["SINGULAR_NOTE", "diagnostics_items"]

SINGULAR_NOTE = (
    "Singular fit (\u00a7): a variance component, usually the between-trial variance of a "
    "random slope, is estimated at 0 (\u03c4 = 0: no detectable heterogeneity); the fixed "
    "effects and their confidence intervals remain valid."
)


def _text(value: Any) -> bool:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return False
    return str(value).strip() not in {"", "nan", "None", "<NA>"}


def _cause(rec: dict[str, Any]) -> str:
    """Why a model did not converge: separation or a boundary problem from its warnings."""
    for message in str(rec.get("warnings") or "").split(" | "):
        if "separation" in message:
            return message.split(":")[0]
    return str(rec.get("convergence") or "see models.csv")[:160]


def _kind(rec: dict[str, Any]) -> tuple[str, str] | None:
    if not_estimable(rec):
        return "not estimable", str(rec.get("error") or "")
    if _text(rec.get("error")):
        return "failed", str(rec["error"])
    if not as_bool(rec.get("converged", True)):
        return "did not converge", _cause(rec)
    if as_bool(rec.get("singular", False)):
        return "singular fit", ""
    return None


_EXPLAIN = {
    "not estimable": "fewer than two trials have both arms and complete data, so no model "
    "was fitted (a random-effects meta-analysis needs at least two); the cell is blank in "
    "the tables",
    "failed": "the fit stopped with an error; the cell is marked \u2021 in the tables",
    "did not converge": "the optimum could not be verified; its estimates are marked \u2021 "
    "and never listed in Appendix 9",
    "singular fit": SINGULAR_NOTE[len("Singular fit (\u00a7): ") : -1],
}


def diagnostics_items(models: pd.DataFrame | None) -> list[TableView | Text]:
    """One line per kind of problem with its count; a collapsed table of the models."""
    if models is None or models.empty:
        return [Text("No model results were found; run the analysis first.", "empty")]
    groups: dict[str, list[list[str]]] = {}
    for rec in models.to_dict("records"):
        found = _kind(rec)
        if found is None:
            continue
        kind, detail = found
        groups.setdefault(kind, []).append([str(rec.get("id", "")), detail])
    items: list[TableView | Text] = []
    if not groups:
        items.append(Text(f"All {len(models)} models converged with no singular fit.", "ok"))
    for kind in ("failed", "did not converge", "not estimable", "singular fit"):
        rows = groups.get(kind)
        if not rows:
            continue
        items.append(
            Text(f"{kind.capitalize()}: {len(rows)} of {len(models)} models; {_EXPLAIN[kind]}.")
        )
        items.append(
            TableView(
                key=f"diagnostics_{kind.replace(' ', '_')}",
                title=f"Models: {kind} ({len(rows)})",
                frame=pd.DataFrame(rows, columns=["Model", "Detail"]),
                section="diagnostics",
                collapsed=True,
            )
        )
    summary = dropped_summary(models)
    if summary:
        items.append(Text(summary))
    table = problems_summary(models)
    items.append(
        TableView(
            key=table.key,
            title=table.title,
            frame=table.frame,
            notes=table.notes,
            section="diagnostics",
            collapsed=True,
        )
    )
    return items
