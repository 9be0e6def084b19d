"""``consortium()``: write a whole simulated project to disk (files, specs, truth)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._version import __version__
from ._config import ConsortiumConfig, default_config
from ._harmonized import participants_frame, simulate_native, window_frame
from ._not_included import not_included_trials
from ._specs import DISCREPANCIES, project_dict, source_options, trial_spec, write_toml
from ._truth import config_dict, implied_truth
from ._validate import validate_config, validate_seed
from ._writers import atomic_write, write_native

_HEADER = "# Simulated by ipdma.simulate (seed {seed}); not real trial data.\n"


@dataclass(frozen=True)
class SimulatedConsortium:
    """What :func:`consortium` wrote: paths and the planted truth (also in truth.json)."""

    outdir: Path
    seed: int
    project_file: Path
    spec_files: tuple[Path, ...]
    data_files: tuple[Path, ...]
    truth_file: Path
    truth: dict = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per trial: id, spec, data file, format, participants."""
        rows = [
            {"trial": t["trial"], "spec": str(spec.relative_to(self.outdir)),
             "data": str(data.relative_to(self.outdir)), "format": t["format"],
             "participants": t["n"]}
            for t, spec, data in zip(self.truth["trials"], self.spec_files, self.data_files,
                                     strict=True)
        ]  # fmt: skip
        return pd.DataFrame(rows)

    def summary(self) -> str:
        planted = self.truth["planted"]
        implied = self.truth["implied"]
        lines = [
            f"Simulated consortium in {self.outdir} (seed {self.seed})",
            f"  {len(self.spec_files)} trials, {sum(t['n'] for t in self.truth['trials'])} "
            f"participants, {len(self.truth['not_included'])} not-included trials",
        ]
        for outcome in ("pain", "function"):
            p = planted[outcome]
            spread = ", ".join(f"{k} {v:g}" for k, v in p["response_sd"].items()) or "none"
            lines.append(f"  {outcome}: exercise vs usual {p['effect_usual']:+g}, vs other "
                         f"conservative {p['effect_conservative']:+g}, tau {p['tau']:g}, "
                         f"response SD ({spread}); interactions {p['interactions']}")  # fmt: skip
        lines.append(f"  implied on the 0-100 data (what the analyses estimate): pain "
                     f"{implied['md_pain_usual']:+.1f} / "
                     f"{implied['md_pain_conservative']:+.1f}, function "
                     f"{implied['md_function_usual']:+.1f} / "
                     f"{implied['md_function_conservative']:+.1f}; recovery OR "
                     f"{implied['or_usual']:.2f} / {implied['or_conservative']:.2f}")  # fmt: skip
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return f"<pre>{self.summary()}</pre>" + self.to_frame().to_html(index=False)


def consortium(
    outdir: str | Path,
    *,
    seed: int = 2020,
    config: ConsortiumConfig | None = None,
    implied: bool = True,
) -> SimulatedConsortium:
    """Write a simulated consortium: ``project.toml``, ``trials/*.toml``, ``data/*``, truth.

    The trials are those of ``config`` (default: the paper's 27 trials, Table 1) in their
    native formats; ``truth.json`` records every planted parameter, each trial's random
    draws, the follow-up visit chosen per window, the recovery odds ratios the planted model
    implies, and the deliberate discrepancies in the "published" aggregates. The same seed
    and config write byte-identical files. ``harmonized_ipd(seed, config)`` returns the
    values ingest will compute from these files.
    """
    config = validate_config(default_config() if config is None else config)
    seed = validate_seed(seed)
    outdir = Path(outdir)
    trials_meta, spec_files, data_files = [], [], []
    for k, (sim, native) in enumerate(simulate_native(config, seed)):
        options = source_options(native, config, k)
        data_path = outdir / "data" / native.file_name
        encoding = options.get("encoding", "utf-8")
        write_native(native.frame, data_path, native.file_format, labels=native.labels,
                     column_labels=native.column_labels, encoding=encoding,
                     missing_code=options.get("missing"), user_missing=native.user_missing,
                     file_label=f"{sim.config.label} (simulated)")  # fmt: skip
        participants = participants_frame(native, config)
        short = window_frame(native, config, "short")
        spec = trial_spec(native, config, k, short, participants["treat"].to_numpy())
        spec_path = outdir / "trials" / f"{native.trial}.toml"
        write_toml(spec_path, spec, _HEADER.format(seed=seed))
        spec_files.append(spec_path)
        data_files.append(data_path)
        windows = {}
        for window in config.windows:
            chosen = window_frame(native, config, window)
            windows[window] = {o: _json_float(chosen[f"{o}_weeks"].iloc[0])
                               for o in ("pain", "function")}  # fmt: skip
        trials_meta.append({
            "trial": native.trial, "n": len(native.harmonized), "format": native.file_format,
            "file": f"data/{native.file_name}", "sha256": _sha256(data_path),
            "visit_weeks": [float(w) for w in native.visit_weeks], "windows": windows,
            "effects": {o: asdict(e) for o, e in sim.effects.items()},
        })  # fmt: skip
    not_included = not_included_trials(np.random.default_rng(np.random.SeedSequence([seed, 2])))
    project = project_dict(config, [f"trials/{p.name}" for p in spec_files], not_included)
    project_file = outdir / "project.toml"
    write_toml(project_file, project, _HEADER.format(seed=seed))
    truth = {
        "seed": seed,
        "ipdma_version": __version__,
        "note": "planted parameters of the simulated consortium (0-100 scale, higher = worse)",
        "planted": {o: _planted(config, o) for o in ("pain", "function")},
        "implied": implied_truth(config) if implied else None,
        "implied_method": "what the analyses estimate on the bounded, rounded data "
        "(short-term window), averaged over 40 consortia drawn from the same config at 4x "
        "the sizes: md_* and interaction_* by counterfactual outcomes with common random "
        "numbers, or_* by logistic regression with trial intercepts, baseline function and "
        "treatment (log OR averaged); see ipdma.simulate.implied_truth",
        "trials": trials_meta,
        "discrepancies": list(DISCREPANCIES),
        "not_included": [t["id"] for t in not_included],
        "config": config_dict(config),
    }
    truth_file = outdir / "truth.json"
    text = json.dumps(truth, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    atomic_write(truth_file, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return SimulatedConsortium(outdir, seed, project_file, tuple(spec_files),
                               tuple(data_files), truth_file, truth)  # fmt: skip


def add_implied_truth(truth_file: str | Path, config: ConsortiumConfig | None = None) -> Path:
    """Compute the implied truth of ``config`` (default: the paper-shaped one) and write it
    into ``truth_file`` (a ``truth.json`` written by :func:`consortium` with
    ``implied=False``), atomically; the result is the same as ``implied=True`` would give."""
    config = validate_config(default_config() if config is None else config)
    path = Path(truth_file)
    truth = json.loads(path.read_text("utf-8"))
    truth["implied"] = implied_truth(config)
    text = json.dumps(truth, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return path


def _planted(config: ConsortiumConfig, outcome: str) -> dict:
    model = config.outcome_model(outcome)
    return {
        "effect_usual": model.effect_usual,
        "effect_conservative": model.effect_conservative,
        "tau": model.tau,
        "response_sd": dict(model.response_sd),
        "baseline": model.baseline,
        "interactions": dict(model.interactions),
        "prognostic": dict(model.prognostic),
        "decay": dict(model.decay),
    }


def _json_float(value: float) -> float | None:
    return None if value is None or np.isnan(value) else float(value)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
