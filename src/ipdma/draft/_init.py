"""``init_project``: a project folder with every setting written out and a drafted spec per file.

The project file lists every setting with its default and a comment (the defaults come
from the models themselves, :class:`ipdma.spec.Settings` and
:class:`ipdma.analysis.AnalysisPlan`, so the file cannot fall out of step with them).
Raw files are never copied or modified: a spec's ``[source].file`` points to where the file
is. Nothing that exists is overwritten.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import SpecError
from ..io import FORMATS
from ._draft import draft_trial, trial_id_from
from ._record import Draft
from ._write import draft_toml, value_text

__all__ = ["InitResult", "init_project", "raw_files"]


@dataclass(frozen=True)
class InitResult:
    """What ``init_project`` wrote: the project file and one (spec, draft) per raw file."""

    project_file: Path
    specs: tuple[Path, ...]
    drafts: tuple[Draft, ...]
    skipped: tuple[str, ...] = ()

    def summary(self) -> str:
        todo = sum(len(d.todos) for d in self.drafts)
        lines = [f"project written: {self.project_file}",
                 f"{len(self.specs)} trial spec(s) drafted in {self.project_file.parent / 'trials'}"
                 f" ({todo} TODO to decide)"]  # fmt: skip
        lines += [f"  {d.trial}: {len(d.todos)} TODO" for d in self.drafts]
        lines += [f"skipped: {s}" for s in self.skipped]
        return "\n".join(lines)


def raw_files(folder: Path) -> list[Path]:
    """The raw data files in ``folder`` (by extension; hidden files and lock files skipped)."""
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.iterdir()):
        name = path.name.lower()
        if path.is_file() and not name.startswith((".", "~$")) and any(
                name.endswith(ext) for ext in FORMATS):  # fmt: skip
            out.append(path)
    return out


_SETTING_NOTES = {
    "ties": "two visits equally close to a window's target: earlier | later",
    "relative": "global recovery: improvement >= relative x baseline ...",
    "pain_points": "... and >= these points (0-100) in pain ...",
    "function_points": "... or in function (the paper's definition)",
}
_PLAN_NOTES = {
    "outcomes": "pain | function | recovery",
    "windows": "short | moderate | long (see [settings.windows])",
    "primary_window": "the window of the headline results",
    "comparisons": "any | usual | conservative (comparison sets)",
    "primary_comparison": "the comparison set of the headline results",
    "modifiers": "candidate effect modifiers (harmonized variables)",
    "adjust_for": "adjusted models add these and their interactions with treatment",
    "adjustments": "unadjusted | adjusted",
    "subgroups": "subgroup effects (forest plots) for every modifier",
    "subgroup_adjustment": "adjusted | unadjusted",
    "two_stage": "also the two-stage analysis (per-trial estimates pooled by REML)",
    "level": "confidence level",
    "random": "random slopes of the linear models: treatment, baseline",
    "random_binomial": "random slopes of the logistic models",
    "correlated": "correlated random slopes (lme4 (a + b | trial)) instead of independent",
    "residual": "common | stratified (one residual variance per trial)",
    "reml": "REML (true) or ML for the linear models",
    "nagq": "adaptive Gauss-Hermite nodes of the logistic models (1 = Laplace)",
    "df_method": "degrees of freedom of the linear models' t tests",
    "interaction": "fixed | random treatment x modifier interaction",
    "prognostic": "common | random | stratified prognostic effect of the modifier",
    "treatment_coding": "01 | centred",
    "across_trial": "also estimate the across-trial interaction (reported apart)",
    "min_trials_across": "fewest trials for the across-trial interaction",
    "alpha": "significance level of the importance rules",
    "swe_fraction": "smallest worthwhile effect as a fraction of the overall effect",
    "odds_ratio": "an interaction OR beyond this (or its inverse) is important",
    "fdr": "false discovery rate correction (Benjamini-Hochberg)",
}


def _lines(values: dict, notes: dict[str, str]) -> list[str]:
    out = []
    for key, value in values.items():
        if isinstance(value, dict) or value is None:
            continue
        text = f"{key} = {value_text(list(value) if isinstance(value, tuple) else value)}"
        note = notes.get(key)
        out.append(f"{text:<40}  # {note}" if note else text)
    return out


def project_text(name: str, specs: list[str]) -> str:
    """The commented project file listing ``specs``."""
    from ..analysis import AnalysisPlan
    from ..spec import Settings

    settings = Settings().model_dump()
    plan = AnalysisPlan().model_dump(mode="json")
    trials = ",\n".join(f"  {value_text(s)}" for s in specs)
    lines = [
        "# project.toml: the trial specs, the settings and the analysis plan of an IPD-MA.",
        "# Every setting is written out with its default; change what your protocol says.",
        "# Check the whole project with `ipdma validate`, then run `ipdma ingest`.",
        "",
        f"name = {value_text(name)}",
        "trials = [" + ("\n" + trials + ",\n" if specs else "") + "]   # one trial spec per trial",
        'output = "output"                         # master.duckdb, tables, figures, report',
        "",
        "[settings]",
        *_lines(settings, _SETTING_NOTES),
        "",
        "[settings.windows]                        # follow-up windows in weeks: the visit",
        "                                          # closest to target, if within max_distance",
    ]
    for window, value in settings["windows"].items():
        lines.append(f"{window} = {{ target = {value['target']:g}, "
                     f"max_distance = {value['max_distance']:g} }}")  # fmt: skip
    lines += ["", "[settings.recovery]", *_lines(settings["recovery"], _SETTING_NOTES), ""]
    lines += [
        "# Project variables, usable in every trial spec (uncomment to use):",
        "# [variables.height_cm]",
        '# label = "Height"',
        '# kind = "continuous"                    # continuous | binary',
        '# unit = "cm"',
        "# min = 100",
        "# max = 230",
        "",
        "# Project-wide instruments (same keys as in a trial spec):",
        "# [instruments.my_disability]",
        '# label = "Local disability 0-40"',
        '# outcome = "function"                   # pain | function',
        "# min = 0",
        "# max = 40",
        '# higher = "worse"                       # worse | better',
        "",
        "# Eligible trials without IPD (Table 2, Figure 2), one table each:",
        "# [[not_included]]",
        '# id = "smith2005"',
        '# label = "Smith, 2005"',
        "# year = 2005",
        '# country = "Canada"',
        '# population = "occupational"',
        "# n_participants = 120",
        "",
        "[analysis]                                # the analysis plan (defaults: the paper's)",
        *_lines(plan, _PLAN_NOTES),
        "",
        "[analysis.model]",
        *_lines(plan["model"], _PLAN_NOTES),
        "",
        "[analysis.importance]",
        *_lines(plan["importance"], _PLAN_NOTES),
    ]
    return "\n".join(lines) + "\n"


def _write_new(path: Path, text: str) -> None:
    """Write ``text`` to a new file (atomically; an existing file is an error)."""
    import tempfile

    if path.exists():
        raise SpecError("the file exists already and is not overwritten", file=path,
                        hint="remove it, or init into a new folder")  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, path)


def init_project(project_dir: str | Path, *, data: str | Path | None = None) -> InitResult:
    """Create a project in ``project_dir`` with one drafted trial spec per raw file.

    Parameters
    ----------
    project_dir
        The project folder (created). ``project.toml``, ``trials/`` and ``output/`` go
        there; existing files are never overwritten.
    data
        The folder of raw files (default ``project_dir/data``, created when absent). Files
        stay where they are.
    """
    root = Path(project_dir)
    data_dir = Path(data) if data is not None else root / "data"
    if data is not None and not data_dir.is_dir():
        raise SpecError("the data folder does not exist", file=data_dir,
                        hint="pass the folder that holds the raw trial files")  # fmt: skip
    if (root / "project.toml").exists():
        raise SpecError("a project exists here already", file=root / "project.toml",
                        hint="use `ipdma validate` on it, or init into a new folder")  # fmt: skip
    root.mkdir(parents=True, exist_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    (root / "output").mkdir(exist_ok=True)
    trials_dir = root / "trials"
    specs, drafts, skipped, names = [], [], [], set()
    for path in raw_files(data_dir):
        trial = trial_id_from(path)
        if trial in names:
            skipped.append(f"{path.name}: trial id {trial!r} already used by another file")
            continue
        try:
            draft = draft_trial(path, spec_dir=trials_dir)
        except Exception as exc:  # one unreadable file must not stop the others
            skipped.append(f"{path.name}: {exc}")
            continue
        names.add(trial)
        spec_path = trials_dir / f"{trial}.toml"
        _write_new(spec_path, draft_toml(draft))
        specs.append(spec_path)
        drafts.append(draft)
    project_file = root / "project.toml"
    listed = [f"trials/{p.name}" for p in specs]
    _write_new(project_file, project_text(root.resolve().name, listed))
    return InitResult(project_file, tuple(specs), tuple(drafts), tuple(skipped))
