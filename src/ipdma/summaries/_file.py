"""The summaries file a site sends, its hash, and the manifest a person reads before it goes.

The file is JSON (readable, diffable)::

    {"format": "ipdma-summaries/2", "site": ..., "plan": <the plan as JSON>,
     "plan_hash": sha256(plan), "min_cell": 5,
     "models": [{"id": model id, "columns": raw column names ("1" first),
                 "rule": how rows fall into the modifier's categories ("" none),
                 "trials": [{"trial": id, "n": n_i, "means": trial means of the columns,
                             "gram": upper triangle of the centred cross-products,
                             "cell": the category (subgroup models only)}]}],
     "withheld": [{"model": id, "trial": id, "reasons": [...]}],
     "not_summarised": [{"model": id, "reason": why no site could summarise it}],
     "hash": sha256 of the canonical JSON of everything above}

Floats are written with Python's shortest round-trip representation, so reading gives the
exact numbers that were computed. The hash detects a file altered after writing (it is an
integrity check, not a signature: whoever alters the numbers can recompute it; sign the file
with your institution's tools where that matters).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataFileError, InputError

__all__ = [
    "FORMAT",
    "ModelSummary",
    "NotSummarised",
    "SiteSummaries",
    "Withheld",
    "plan_hash",
    "read_summaries",
    "write_summaries",
]

FORMAT = "ipdma-summaries/2"


@dataclass(frozen=True)
class ModelSummary:
    """One model's raw cross-products at a site (trials sorted by id)."""

    model_id: str
    columns: tuple[str, ...]
    trials: tuple[str, ...]
    n: np.ndarray  # (K,)
    means: np.ndarray  # (K, r): trial means of the raw columns (means[:, 0] = 1)
    gram: np.ndarray  # (K, r, r): Gram of [1, centred raw columns] (see _aggregate)
    rule: str = ""  # categories of the modifier: "" | "binary" | "strings" | "cutpoints"
    cells: tuple[str, ...] = ()  # subgroup models: each block's category (blocks per cell)


@dataclass(frozen=True)
class Withheld:
    """A trial block that disclosure control kept at the site, and why."""

    model_id: str
    trial: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class NotSummarised:
    """A model of the plan that summaries cannot carry, and why."""

    model_id: str
    reason: str


@dataclass(frozen=True)
class SiteSummaries:
    """What one site sends: per model and trial the raw cross-products, nothing else."""

    site: str
    plan: str  # the analysis plan as canonical JSON
    plan_hash: str
    min_cell: int
    models: tuple[ModelSummary, ...]
    withheld: tuple[Withheld, ...]
    not_summarised: tuple[NotSummarised, ...] = ()
    path: Path | None = None
    hash: str = ""

    @property
    def trials(self) -> tuple[str, ...]:
        return tuple(sorted({t for m in self.models for t in m.trials}))


def plan_hash(plan_json: str) -> str:
    return hashlib.sha256(plan_json.encode()).hexdigest()


def _canonical(content: dict) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def _content(s: SiteSummaries) -> dict:
    models = []
    for m in s.models:
        upper = np.triu_indices(len(m.columns) - 1)
        trials = []
        for k, t in enumerate(m.trials):
            block = {
                "trial": t,
                "n": round(float(m.n[k])),
                "means": m.means[k, 1:].tolist(),
                "gram": m.gram[k, 1:, 1:][upper].tolist(),
            }
            if m.cells:
                block["cell"] = m.cells[k]
            trials.append(block)
        models.append(
            {"id": m.model_id, "columns": list(m.columns), "rule": m.rule, "trials": trials}
        )
    return {
        "format": FORMAT,
        "site": s.site,
        "plan": s.plan,
        "plan_hash": s.plan_hash,
        "min_cell": s.min_cell,
        "models": models,
        "withheld": [
            {"model": w.model_id, "trial": w.trial, "reasons": list(w.reasons)} for w in s.withheld
        ],
        "not_summarised": [{"model": x.model_id, "reason": x.reason} for x in s.not_summarised],
    }


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_summaries(summaries: SiteSummaries, path: str | Path) -> Path:
    """Write the file (atomically) with its hash, and ``<path>.manifest.txt`` beside it."""
    from ._manifest import manifest_text

    path = Path(path)
    content = _content(summaries)
    digest = hashlib.sha256(_canonical(content)).hexdigest()
    content["hash"] = digest
    _atomic_write(path, json.dumps(content, sort_keys=True, indent=1).encode() + b"\n")
    text = manifest_text(summaries, path, digest)
    _atomic_write(manifest_path(path), text.encode())
    return path


def manifest_path(path: Path) -> Path:
    return path.with_name(path.name + ".manifest.txt")


def _refuse(path: Path, reason: str, hint: str) -> InputError:
    return InputError(f"summaries file refused: {reason}", file=path, hint=hint)


def read_summaries(path: str | Path) -> SiteSummaries:
    """Read and verify a summaries file.

    Raises
    ------
    DataFileError
        The file is missing or not JSON.
    InputError
        Another format or an older ipdma format; the content does not match its hash
        (altered after writing); a malformed block.
    """
    path = Path(path)
    try:
        content = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataFileError("summaries file not found", file=path, hint="check the path") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataFileError(
            f"not a readable summaries file ({exc})",
            file=path,
            hint="pass the .json file ipdma summarize wrote",
        ) from None
    if not isinstance(content, dict) or "format" not in content:
        raise _refuse(
            path, "it is not an ipdma summaries file", "pass the file ipdma summarize wrote"
        )
    fmt = str(content["format"])
    if fmt != FORMAT:
        older = fmt.startswith("ipdma-summaries/")
        raise _refuse(
            path,
            f"format {fmt!r} "
            + ("was written by an older ipdma" if older else "is not known")
            + f"; this ipdma reads {FORMAT!r}",
            "ask the site to rerun `ipdma summarize` with this version of ipdma",
        )
    stated = content.pop("hash", None)
    actual = hashlib.sha256(_canonical(content)).hexdigest()
    if stated != actual:
        raise _refuse(
            path,
            f"its content does not match its hash (stated {str(stated)[:12]}..., computed "
            f"{actual[:12]}...): the file was altered after it was written",
            "ask the site for the file exactly as `ipdma summarize` wrote it",
        )
    try:
        return _parse(content, path, actual)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _refuse(
            path, f"its content is malformed ({type(exc).__name__}: {exc})", "ask the site to rerun"
        ) from None


def _parse(content: dict, path: Path, actual: str) -> SiteSummaries:
    if plan_hash(content["plan"]) != content["plan_hash"]:
        raise _refuse(path, "the plan does not match its plan hash", "ask the site to rerun")
    models = []
    for m in content["models"]:
        columns = tuple(m["columns"])
        r = len(columns)
        upper = np.triu_indices(r - 1)
        grams, means, n, trials, cells = [], [], [], [], []
        for block in m["trials"]:
            values = np.asarray(block["gram"], dtype=float)
            mean = np.asarray(block["means"], dtype=float)
            if values.shape != (r * (r - 1) // 2,) or mean.shape != (r - 1,):
                raise _refuse(
                    path,
                    f"model {m['id']}, trial {block['trial']}: {values.size} sums and "
                    f"{mean.size} means for {r} columns",
                    "ask the site to rerun `ipdma summarize`",
                )
            g = np.zeros((r, r))
            g[0, 0] = float(block["n"])
            g[1:, 1:][upper] = values
            g[1:, 1:] += np.triu(g[1:, 1:], 1).T
            grams.append(g)
            means.append(np.r_[1.0, mean])
            n.append(float(block["n"]))
            trials.append(str(block["trial"]))
            if "cell" in block:
                cells.append(str(block["cell"]))
        models.append(
            ModelSummary(
                model_id=str(m["id"]),
                columns=columns,
                trials=tuple(trials),
                n=np.asarray(n),
                means=np.asarray(means).reshape(len(trials), r),
                gram=np.asarray(grams).reshape(len(trials), r, r),
                rule=str(m.get("rule", "")),
                cells=tuple(cells),
            )
        )
        if cells and len(cells) != len(trials):
            raise _refuse(path, f"model {m['id']}: blocks without a cell", "ask the site to rerun")
    return SiteSummaries(
        site=str(content["site"]),
        plan=str(content["plan"]),
        plan_hash=str(content["plan_hash"]),
        min_cell=int(content["min_cell"]),
        models=tuple(models),
        withheld=tuple(
            Withheld(str(w["model"]), str(w["trial"]), tuple(w["reasons"]))
            for w in content.get("withheld", [])
        ),
        not_summarised=tuple(
            NotSummarised(str(x["model"]), str(x["reason"]))
            for x in content.get("not_summarised", [])
        ),
        path=path,
        hash=actual,
    )
