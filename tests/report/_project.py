"""A small simulated project (few trials, a reduced analysis plan) run through the CLI."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import tomli_w

from ipdma.cli import main

SMALL_PLAN = {
    "modifiers": ["age", "female", "bmi", "medication"],
    "windows": ["short", "moderate"],
    "comparisons": ["any", "usual"],
}


def simulate_small(outdir: Path, *, seed: int = 11, trials: int = 12) -> Path:
    """Write a consortium of the first ``trials`` trials; return its project file."""
    import ipdma.simulate as simulate

    config = simulate.default_config()
    config = dataclasses.replace(config, trials=config.trials[:trials])
    simulate.consortium(outdir, seed=seed, config=config)
    project = outdir / "project.toml"
    data = tomllib.loads(project.read_text("utf-8"))
    data["analysis"] = {**data.get("analysis", {}), **SMALL_PLAN}
    project.write_text(tomli_w.dumps(data), "utf-8")
    return project


def run_small(outdir: Path) -> Path:
    """Simulate and run every stage with the CLI; return the project file."""
    project = simulate_small(outdir)
    code = main(["--quiet", "run", str(project), "--jobs", "2"])
    assert code == 0, f"ipdma run exited with {code}"
    return project
