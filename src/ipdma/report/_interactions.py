"""Tables 4-6 and Appendices 3-8: treatment-modifier interactions in the paper's layout.

Input is the tidy ``interactions`` frame of :func:`ipdma.analysis.run` (one row per
outcome, window, comparison, modifier, level and adjustment). Output is a
:class:`~ipdma.report._view.TableView` with the rows

    variable | level | <block>: studies, participants, interaction MD/OR (95% CI), p | ...

where a block is one slice of the grid (unadjusted and adjusted in Tables 4-6; moderate
and long term in Appendices 3-5; each comparison set in Appendices 6-8). A categorical
modifier gets a reference-level row ("--", with the studies and participants that
contributed) followed by one row per level, as in the paper.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ._labels import as_bool, level_labels, variable_label
from ._separation import SEPARATION_MARK, separated_in, separation_legend
from ._tables import not_estimable
from ._view import TableView, format_ci, format_p

__all__ = ["Block", "interaction_table", "model_flags"]

IMPORTANT_MARK = "\u2020"  # dagger: potentially important modifier (Appendix 9)
FAILED_MARK = "\u2021"  # double dagger: model failed or did not converge
SINGULAR_MARK = "\u00a7"  # section sign: singular fit
UNSTABLE_MARK = "\u00b6"  # pilcrow: unstable estimate (separation, very wide CI), never listed

_KEYS = ("outcome", "window", "comparison", "modifier", "adjusted")


@dataclass(frozen=True)
class Block:
    """One side-by-side block of an interaction table: a label and the grid slice."""

    label: str
    outcome: str
    window: str
    comparison: str
    adjusted: bool = True

    def select(self, frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return frame
        keep = (
            (frame["outcome"] == self.outcome)
            & (frame["window"] == self.window)
            & (frame["comparison"] == self.comparison)
            & (frame["adjusted"].map(as_bool) == self.adjusted)
        )
        return frame.loc[keep]

    def key(self, modifier: str) -> tuple[str, str, str, str, bool]:
        return (self.outcome, self.window, self.comparison, modifier, self.adjusted)


def model_flags(models: pd.DataFrame | None) -> dict[tuple, str]:
    """Footnote marks per model key from the ``models`` frame: failed/non-converged, singular."""
    flags: dict[tuple, str] = {}
    if models is None or models.empty or not set(_KEYS) <= set(models.columns):
        return flags
    if "kind" in models.columns:  # subgroup and overall models share the key; not these rows
        models = models.loc[models["kind"].isin(["interaction"])]
    for row in models.itertuples(index=False):
        rec = row._asdict()
        failed = not not_estimable(rec) and (  # fewer than 2 trials: no fit, no mark
            _present(rec.get("error")) or not as_bool(rec.get("converged", True))
        )
        singular = as_bool(rec.get("singular", False))
        mark = (FAILED_MARK if failed else "") + (SINGULAR_MARK if singular else "")
        if mark:
            key = (
                rec["outcome"],
                rec["window"],
                rec["comparison"],
                rec["modifier"],
                as_bool(rec["adjusted"]),
            )
            flags[key] = flags.get(key, "") + mark
    return flags


def _important_keys(important: pd.DataFrame | None) -> set[tuple]:
    if important is None or important.empty:
        return set()
    keys = set()
    for row in important.itertuples(index=False):
        rec = row._asdict()
        adjusted = as_bool(rec["adjusted"]) if "adjusted" in rec else None
        keys.add(
            (
                rec.get("outcome"),
                rec.get("window", "short"),
                rec.get("comparison", "any"),
                rec.get("modifier"),
                adjusted,
            )
        )
    return keys


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, float) and pd.isna(value):
        return False
    return str(value).strip() not in {"", "nan", "None", "<NA>"}


def _within(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep the within-trial interaction (the across-trial term is reported separately)."""
    keep = pd.Series(True, index=frame.index)
    for column in ("kind", "scope", "interaction", "term_kind"):
        if column in frame.columns:
            keep &= frame[column].astype(str) != "across"
    return frame.loc[keep]


def _level_text(modifier: str, level: Any) -> str:
    labels = level_labels(modifier)
    text = str(level)
    if labels and text in {"1", "1.0", "True", "true", "yes"}:
        return labels[1]
    return text


def _reference_text(modifier: str, rows: pd.DataFrame) -> str:
    if "reference" in rows.columns and rows["reference"].map(_present).any():
        return str(rows["reference"].dropna().iloc[0])
    labels = level_labels(modifier)
    return labels[0] if labels else "reference"


_CONTINUOUS_LEVELS = {"", "per unit", "nan", "None", "<NA>"}


def _is_continuous(rows: pd.DataFrame) -> bool:
    if "level" not in rows.columns:
        return True
    return rows["level"].map(lambda v: not _present(v) or str(v) in _CONTINUOUS_LEVELS).all()


def interaction_table(
    interactions: pd.DataFrame,
    blocks: Sequence[Block],
    *,
    key: str,
    title: str,
    scale: str,
    important: pd.DataFrame | None = None,
    models: pd.DataFrame | None = None,
    notes: Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
    modifiers: Sequence[str] = (),
) -> TableView:
    """Lay out the interactions of ``blocks`` side by side, one row per modifier level.

    ``scale`` is "MD" or "OR" (the header of the estimate column). Modifiers appear in
    the order of ``modifiers`` (the plan's), then any others in order of first appearance.
    """
    frame = _within(interactions)
    slices = [block.select(frame) for block in blocks]
    order: list[str] = [m for m in modifiers if any((p["modifier"] == m).any() for p in slices)]
    for part in slices:
        for name in part.get("modifier", pd.Series(dtype=object)):
            if name not in order:
                order.append(name)
    flags = model_flags(models)
    important_keys = _important_keys(important)

    sub = ("Studies", "Participants", f"Interaction {scale} (95% CI)", "p")
    columns = ["Variable", "Level"] + [f"{b.label}: {s}" for b in blocks for s in sub]
    records: list[list[str]] = []
    classes: list[str] = []
    for modifier in order:
        label = (labels or {}).get(modifier) or variable_label(modifier)
        per_block = [part.loc[part["modifier"] == modifier] for part in slices]
        continuous = all(_is_continuous(rows) for rows in per_block if not rows.empty)
        is_important = any(
            k in important_keys or (*k[:4], None) in important_keys
            for k in (b.key(modifier) for b in blocks)
        )
        css = "important" if is_important else ""
        if any(flags.get(b.key(modifier)) for b in blocks):
            css = (css + " warning").strip()
        if continuous:
            cells = [label, ""]
            for block, rows in zip(blocks, per_block, strict=True):
                cells += _estimate_cells(rows.head(1), block, modifier, flags, important_keys)
            records.append(cells)
            classes.append(css)
            continue
        reference = [label, _reference_text(modifier, pd.concat(per_block))]
        for rows in per_block:
            reference += [*_counts(rows), "--" if not rows.empty else "", ""]
        records.append(reference)
        classes.append(css)
        levels: list[Any] = []
        for rows in per_block:
            levels.extend(v for v in rows["level"] if _present(v) and v not in levels)
        for level in levels:
            cells = [label, _level_text(modifier, level)]
            for block, rows in zip(blocks, per_block, strict=True):
                chosen = rows.loc[rows["level"] == level]
                cells += [
                    "",
                    "",
                    *_estimate_cells(chosen, block, modifier, flags, important_keys)[2:],
                ]
            records.append(cells)
            classes.append(css)
    table = pd.DataFrame(records, columns=columns)
    return TableView(
        key=key,
        title=title,
        frame=table,
        groups=(("", 2), *((b.label, len(sub)) for b in blocks)),
        row_classes=tuple(classes),
        notes=(
            *notes,
            *_legend(records),
            *separation_legend(r for part in slices for r in part.to_dict("records")),
        ),
        repeat_first=False,
    )


def _counts(rows: pd.DataFrame) -> list[str]:
    if rows.empty:
        return ["", ""]
    first = rows.iloc[0]
    return [_integer(first.get("studies")), _integer(first.get("participants"))]


def _integer(value: Any) -> str:
    if not _present(value):
        return ""
    return str(int(float(value)))


def _estimate_cells(
    rows: pd.DataFrame,
    block: Block,
    modifier: str,
    flags: Mapping[tuple, str],
    important_keys: set[tuple],
) -> list[str]:
    if rows.empty:
        return ["", "", "", ""]
    first = rows.iloc[0]
    mark = flags.get(block.key(modifier), "")
    k = block.key(modifier)
    if k in important_keys or (*k[:4], None) in important_keys:
        mark = IMPORTANT_MARK + mark
    if separated_in(first):
        mark += SEPARATION_MARK
    if _present(first.get("unstable")):
        mark += UNSTABLE_MARK
    per_unit_odds = block.outcome == "recovery" and str(first.get("level")) in ("per unit", "nan")
    estimate = format_ci(
        first.get("estimate"), first.get("ci_low"), first.get("ci_high"),
        digits=3 if per_unit_odds else 2,
    )  # fmt: skip
    if not estimate:
        estimate = "model failed" if FAILED_MARK in mark else "not estimable"
    return [*_counts(rows), estimate + mark, format_p(first.get("p"))]


def _legend(records: Sequence[Sequence[str]]) -> tuple[str, ...]:
    """Footnotes for the marks that appear in the table's cells."""
    text = "".join("".join(cells) for cells in records)
    lines = []
    if IMPORTANT_MARK in text:
        lines.append(
            f"{IMPORTANT_MARK} potentially important modifier (statistically significant and "
            "clinically important by the plan's rules; see Appendix 9)."
        )
    if FAILED_MARK in text:
        lines.append(f"{FAILED_MARK} the model failed or did not converge (see Warnings).")
    if SINGULAR_MARK in text:
        lines.append(f"{SINGULAR_MARK} singular fit (see Appendices).")
    if UNSTABLE_MARK in text:
        lines.append(
            f"{UNSTABLE_MARK} unstable estimate (separation, or a CI wider than the importance "
            "rule's limit; see Methods): never listed as important."
        )
    return tuple(lines)
