"""Measure drafting on a simulated consortium: draft each raw file with its spec hidden.

For every trial: draft the spec from the raw file alone; score each mapped field against
the hidden spec by what ingest makes of it (a field is right when the harmonized values
it produces equal those of the hidden spec's field, with everything else from the hidden
spec); then fill only the TODOs from the hidden spec, harmonize the whole drafted spec
and compare participants and outcomes with those of the hidden spec.

Mapped fields: ``source.id``, ``source.arm``, ``source.layout`` (+ ``source.time`` in long
files), the set of arm codes, each baseline variable in the hidden or the drafted spec,
and per outcome its instrument and its columns/times. Publication fields (trial label,
year, country, population; arm names, categories, types) are counted apart.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ipdma.draft import Draft, draft_trial, is_todo
from ipdma.errors import IpdmaError
from ipdma.harmonize import VARIABLES, harmonize_trial, instrument_registry
from ipdma.io import read_table
from ipdma.spec import TrialSpec, code_key, load_trial_spec, read_toml

STATUSES = ("right", "wrong", "todo", "missed")


@dataclass(frozen=True)
class Scored:
    trial: str
    field: str
    status: str  # right | wrong | todo | missed
    confidence: str | None
    note: str = ""


@dataclass
class TrialResult:
    trial: str
    scores: list[Scored] = field(default_factory=list)
    master_equal: bool | None = None
    master_note: str = ""


def _spec(data: dict, path: Path) -> TrialSpec:
    spec = TrialSpec.model_validate(data)
    spec._path = path
    return spec


def _harmonize(data: dict, path: Path, raw) -> object:
    spec = _spec(data, path)
    return harmonize_trial(spec, raw, variables=VARIABLES,
                           instruments=instrument_registry(spec.instruments))  # fmt: skip


def _same(a: pd.Series, b: pd.Series) -> bool:
    a, b = a.to_numpy(float), b.to_numpy(float)
    return a.shape == b.shape and bool(np.allclose(a, b, equal_nan=True, atol=1e-6, rtol=0))


def _outcome_frame(h, name: str) -> pd.DataFrame:
    out = h.outcomes[h.outcomes["outcome"] == name]
    return (
        out[["pid", "time_weeks", "value"]]
        .sort_values(["pid", "time_weeks"])
        .reset_index(drop=True)
    )


def _outcome_equal(h1, h2, name: str) -> bool:
    a, b = _outcome_frame(h1, name), _outcome_frame(h2, name)
    if len(a) != len(b) or list(a["pid"]) != list(b["pid"]):
        return False
    return _same(a["time_weeks"], b["time_weeks"].round(2)) or ((
        bool(np.allclose(a["time_weeks"], b["time_weeks"], atol=0.01))) and _same(a["value"], b["value"]))  # fmt: skip


def _drafted_outcome(draft: dict, name: str) -> dict | None:
    out = draft.get("outcomes", {}).get(name)
    return dict(out) if isinstance(out, dict) else None


def score_trial(spec_path: Path) -> TrialResult:
    """Draft the raw file of the spec at ``spec_path`` (spec hidden) and score it."""
    hidden = read_toml(spec_path)
    spec = load_trial_spec(spec_path)
    raw_source = spec.source
    raw = read_table(spec.data_path, format=raw_source.format, sheet=raw_source.sheet,
                     delimiter=raw_source.delimiter, decimal=raw_source.decimal,
                     encoding=raw_source.encoding)  # fmt: skip
    reference = _harmonize(hidden, spec_path, raw)
    draft: Draft = draft_trial(spec.data_path, spec_dir=spec_path.parent)
    drafted = draft.to_dict()
    result = TrialResult(spec.id)
    add = result.scores.append

    def conf(*path) -> str | None:
        f = draft.get(*path)
        return f.confidence if f is not None else None

    src_h, src_d = hidden["source"], drafted.get("source", {})
    keys = ["id", "arm", "layout"] + (["time"] if src_h.get("layout") == "long" else [])
    for key in keys:
        value = src_d.get(key)
        if value is None:
            add(Scored(spec.id, f"source.{key}", "missed", None))
        elif is_todo(value):
            add(Scored(spec.id, f"source.{key}", "todo", None))
        else:
            ok = value == src_h.get(key, "wide" if key == "layout" else None)
            add(Scored(spec.id, f"source.{key}", "right" if ok else "wrong", conf("source", key),
                       "" if ok else f"{value!r} vs {src_h.get(key)!r}"))  # fmt: skip
    codes_h = sorted(code_key(a["code"]) for a in hidden["arms"])
    codes_d = [a.get("code") for a in drafted.get("arms", [])]
    if any(is_todo(c) for c in codes_d):
        add(Scored(spec.id, "arms.codes", "todo", None))
    else:
        ok = sorted(code_key(c) for c in codes_d) == codes_h
        add(Scored(spec.id, "arms.codes", "right" if ok else "wrong", conf("arms", 0, "code")))
    for name in VARIABLES:
        h_var = hidden.get("variables", {}).get(name)
        d_var = drafted.get("variables", {}).get(name)
        key = f"variables.{name}"
        if h_var is None and d_var is None:
            continue
        if d_var is None:
            add(Scored(spec.id, key, "missed", None))
            continue
        if is_todo(d_var):
            add(Scored(spec.id, key, "todo", None))
            continue
        hybrid = copy.deepcopy(hidden)
        hybrid.setdefault("variables", {})[name] = d_var
        try:
            h = _harmonize(hybrid, spec_path, raw)
            ok = h_var is not None and _same(h.participants[name], reference.participants[name])
            note = "" if ok else ("not in the hidden spec" if h_var is None else "values differ")
        except (IpdmaError, ValueError) as exc:
            ok, note = False, f"ingest fails: {str(exc)[:120]}"
        add(Scored(spec.id, key, "right" if ok else "wrong", conf("variables", name), note))
    for name in ("pain", "function"):
        h_out = hidden.get("outcomes", {}).get(name)
        d_out = _drafted_outcome(drafted, name)
        if h_out is None and d_out is None:
            continue
        for part in ("instrument", "columns"):
            key = f"outcomes.{name}.{part}"
            if d_out is None:
                add(Scored(spec.id, key, "missed", None))
                continue
            value = d_out.get("instrument") if part == "instrument" else (
                d_out.get("columns", d_out.get("column")))  # fmt: skip
            if is_todo(value) or (part == "columns" and is_todo(d_out.get("time_unit"))):
                add(Scored(spec.id, key, "todo", None))
                continue
            c = conf("outcomes", name, "instrument" if part == "instrument" else
                     ("columns" if "columns" in d_out else "column"))  # fmt: skip
            if h_out is None:
                add(Scored(spec.id, key, "wrong", c, "not in the hidden spec"))
                continue
            hybrid = copy.deepcopy(hidden)
            new = dict(h_out)
            if part == "instrument":
                new["instrument"] = value
            else:
                for k in ("columns", "column", "time_unit", "missing"):
                    new.pop(k, None)
                new.update({k: v for k, v in d_out.items() if k != "instrument"})
            hybrid["outcomes"][name] = new
            try:
                h = _harmonize(hybrid, spec_path, raw)
                ok = _outcome_equal(h, reference, name)
                note = "" if ok else "values differ"
                if ok and part == "instrument" and value != h_out["instrument"]:
                    note = f"{value} for {h_out['instrument']} (same conversion)"
            except (IpdmaError, ValueError) as exc:
                ok, note = False, f"ingest fails: {str(exc)[:120]}"
            add(Scored(spec.id, key, "right" if ok else "wrong", c, note))
    _compare_master(result, hidden, drafted, spec_path, raw, reference)
    return result


def fill_todos(drafted: dict, hidden: dict) -> dict:
    """The drafted spec with every TODO replaced by the hidden spec's value (only TODOs)."""
    out = copy.deepcopy(drafted)
    for section in ("trial", "source"):
        for key, value in list(out.get(section, {}).items()):
            if is_todo(value):
                if key in hidden.get(section, {}):
                    out[section][key] = hidden[section][key]
                else:
                    del out[section][key]
    hidden_arms = {code_key(a["code"]): a for a in hidden["arms"]}
    if any(is_todo(a.get("code")) for a in out.get("arms", [])):
        out["arms"] = copy.deepcopy(hidden["arms"])
    for arm in out.get("arms", []):
        source = hidden_arms.get(code_key(arm["code"]), {})
        for key in list(arm):
            if is_todo(arm[key]):
                if key in source:
                    arm[key] = source[key]
                else:
                    del arm[key]
        if arm.get("category") != "exercise":
            arm.pop("design", None)
            arm.pop("delivery", None)
    for name, table in list(out.get("variables", {}).items()):
        if is_todo(table):
            if name in hidden.get("variables", {}):
                out["variables"][name] = copy.deepcopy(hidden["variables"][name])
            else:
                del out["variables"][name]
    for name, table in list(out.get("outcomes", {}).items()):
        if is_todo(table):
            h = hidden.get("outcomes", {}).get(name)
            if h is None:
                del out["outcomes"][name]
                continue
            merged = {k: v for k, v in table.items() if not is_todo(v)}
            for k in ("columns", "column", "time_unit"):
                if is_todo(table.get(k)):
                    merged.pop("columns", None)
                    merged.pop("time_unit", None)
                    merged.update({kk: h[kk] for kk in ("columns", "column") if kk in h})
                    merged["time_unit"] = h.get(
                        "time_unit", hidden["source"].get("time_unit", "weeks")
                    )
            if is_todo(table.get("instrument")):
                merged["instrument"] = h["instrument"]
            out["outcomes"][name] = merged
    return out


def _compare_master(result, hidden, drafted, spec_path, raw, reference) -> None:
    filled = fill_todos(drafted, hidden)
    try:
        h = _harmonize(filled, spec_path, raw)
    except (IpdmaError, ValueError) as exc:
        result.master_equal, result.master_note = False, f"ingest fails: {str(exc)[:200]}"
        return
    diffs = []
    for name in VARIABLES:
        if name in reference.participants and not _same(
            h.participants[name], reference.participants[name]
        ):
            diffs.append(name)
    if list(h.participants["pid"]) != list(reference.participants["pid"]):
        diffs.append("pid")
    if list(h.participants["treat"]) != list(reference.participants["treat"]):
        diffs.append("treat")
    for name in ("pain", "function"):
        if not _outcome_equal(h, reference, name):
            diffs.append(f"outcome {name}")
    result.master_equal = not diffs
    result.master_note = ", ".join(diffs)


def score_project(project_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per scored field, one row per trial with the master comparison)."""
    rows, trials = [], []
    for spec_path in sorted((project_dir / "trials").glob("*.toml")):
        result = score_trial(spec_path)
        rows += [vars(s) for s in result.scores]
        trials.append({"trial": result.trial, "master_equal": result.master_equal,
                       "differences": result.master_note})  # fmt: skip
    return pd.DataFrame(rows), pd.DataFrame(trials)


def write_simulated(outdir: Path, seed: int = 2020) -> Path:
    """The simulated consortium's raw files and specs (no truth.json: fast), as consortium()."""
    from ipdma.simulate import default_config
    from ipdma.simulate._harmonized import participants_frame, simulate_native, window_frame
    from ipdma.simulate._specs import project_dict, source_options, trial_spec, write_toml
    from ipdma.simulate._writers import write_native

    config = default_config()
    specs = []
    for k, (_, native) in enumerate(simulate_native(config, seed)):
        options = source_options(native, config, k)
        write_native(native.frame, outdir / "data" / native.file_name, native.file_format,
                     labels=native.labels, column_labels=native.column_labels,
                     encoding=options.get("encoding", "utf-8"),
                     missing_code=options.get("missing"), user_missing=native.user_missing)  # fmt: skip
        participants = participants_frame(native, config)
        short = window_frame(native, config, "short")
        spec = trial_spec(native, config, k, short, participants["treat"].to_numpy())
        write_toml(outdir / "trials" / f"{native.trial}.toml", spec)
        specs.append(f"trials/{native.trial}.toml")
    write_toml(outdir / "project.toml", project_dict(config, specs, []))
    return outdir


def report(fields: pd.DataFrame, trials: pd.DataFrame) -> str:
    """The drafting figures as text (for the benchmark and the notes)."""
    mapped = len(fields)
    counts = fields["status"].value_counts()
    lines = [f"{trials.shape[0]} trials, {mapped} mapped fields:"]
    for status in STATUSES:
        n = int(counts.get(status, 0))
        lines.append(f"  {status:<6} {n:4d}  ({100 * n / mapped:.1f}%)")
    wrong = fields[fields["status"] == "wrong"]
    lines.append("  wrong by confidence: " + (", ".join(
        f"{c} {n}" for c, n in wrong["confidence"].fillna("none").value_counts().items()) or "none"))  # fmt: skip
    by_conf = fields[fields["status"].isin(["right", "wrong"])].groupby("confidence")["status"]
    for conf, s in by_conf:
        lines.append(f"  {conf:<6} confidence: {int((s == 'right').sum())} right, "
                     f"{int((s == 'wrong').sum())} wrong")  # fmt: skip
    equal = int(trials["master_equal"].sum())
    lines.append(f"  TODOs filled from the hidden specs: participants and outcomes equal to the "
                 f"original master in {equal} of {len(trials)} trials")  # fmt: skip
    for row in wrong.itertuples():
        lines.append(f"  wrong: {row.trial} {row.field} ({row.confidence}) {row.note}")
    for row in fields[fields["status"] == "todo"].itertuples():
        lines.append(f"  TODO:  {row.trial} {row.field}")
    return "\n".join(lines)


def compare_masters(root: Path, work: Path) -> pd.DataFrame:
    """Ingest the original project and a copy whose specs are the drafts with only the TODOs
    filled from the hidden specs; per trial, whether participants and outcomes are equal."""
    import tomli_w

    import ipdma
    from ipdma.store import ingest

    original = root / "project.toml"
    ingest(original, output=work / "original.duckdb")
    project = read_toml(original)
    drafted_dir = work / "drafted"
    (drafted_dir / "trials").mkdir(parents=True, exist_ok=True)
    for entry in project["trials"]:
        spec_path = (root / entry).resolve()
        hidden = read_toml(spec_path)
        draft = draft_trial(load_trial_spec(spec_path).data_path, spec_dir=drafted_dir / "trials")
        filled = fill_todos(draft.to_dict(), hidden)
        (drafted_dir / entry).write_text(tomli_w.dumps(filled), encoding="utf-8")
    (drafted_dir / "project.toml").write_text(tomli_w.dumps(project), encoding="utf-8")
    ingest(drafted_dir / "project.toml", output=work / "drafted.duckdb")
    a, b = ipdma.load(work / "original.duckdb"), ipdma.load(work / "drafted.duckdb")
    rows = []
    harmonized = ["pid", "treat", *(v for v in VARIABLES if v in a.participants)]
    for trial in sorted(a.participants["trial"].unique()):
        pa = a.participants[a.participants["trial"] == trial][harmonized].reset_index(drop=True)
        pb = b.participants[b.participants["trial"] == trial][harmonized].reset_index(drop=True)
        oa, ob = (m.outcomes[m.outcomes["trial"] == trial][["pid", "outcome", "time_weeks", "value"]]
                  .sort_values(["pid", "outcome", "time_weeks"]).reset_index(drop=True)
                  for m in (a, b))  # fmt: skip
        same_p = pa.shape == pb.shape and all(
            (pa[c].astype(str) == pb[c].astype(str)).all() if c == "pid"
            else _same(pa[c], pb[c]) for c in harmonized)  # fmt: skip
        same_o = oa.shape == ob.shape and (oa["pid"].astype(str) == ob["pid"].astype(str)).all() \
            and bool(np.allclose(oa["time_weeks"], ob["time_weeks"], atol=0.01)) \
            and _same(oa["value"], ob["value"])  # fmt: skip
        rows.append({"trial": trial, "participants_equal": bool(same_p),
                     "outcomes_equal": bool(same_o)})  # fmt: skip
    return pd.DataFrame(rows)
