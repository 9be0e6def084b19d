"""Search simulator seeds whose headline estimates lie near the paper's (the demo's default).

For each seed: simulate the default consortium, ingest it, fit only the overall models of the
short-term window (no modifiers), and compare the six headline values of Hayden et al. 2020
(exercise vs no treatment/usual care and vs other conservative treatment: pain MD, function
MD, global recovery OR) with the estimates. Prints one line per seed with the largest
distance in standard errors and whether every paper value lies inside the 95% CI, and the
number of direction changes; with ``--modifiers`` also the planted modifiers' rows that
Appendix 9 lists at the primary comparison (the default importance rule).

Usage::

    python benchmarks/demo_seeds.py [SEED ...] [--modifiers]
"""

from __future__ import annotations

import argparse
import math
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

PAPER = {  # Hayden et al. 2020, Results: short-term one-stage estimates
    ("pain", "usual"): -10.7, ("pain", "conservative"): 3.7,
    ("function", "usual"): -10.2, ("function", "conservative"): 1.9,
    ("recovery", "usual"): 3.8, ("recovery", "conservative"): 0.9,
}  # fmt: skip


MODIFIERS = ("heavy_demands", "medication", "education")  # planted in the default config


def headline(seed: int, folder: Path, modifiers: bool = False) -> dict[tuple[str, str], Any]:
    """Overall effects (and with ``modifiers`` the planted modifiers' Appendix 9 rows)."""
    from ipdma import simulate
    from ipdma.analysis import run
    from ipdma.store import ingest

    consortium = simulate.consortium(folder, seed=seed)
    ingest(consortium.project_file)
    plan = {"modifiers": [], "windows": ["short"], "subgroups": False, "two_stage": False,
            "adjustments": ["unadjusted"]}  # fmt: skip
    if modifiers:
        plan = {"modifiers": list(MODIFIERS), "windows": ["short"], "two_stage": False,
                "adjustments": ["adjusted"]}  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = run(consortium.project_file, plan=plan, jobs=1)
    out: dict[tuple[str, str], Any] = {}
    for row in results.overall.to_dict("records"):
        out[(row["outcome"], row["comparison"])] = (row["estimate"], row["ci_low"], row["ci_high"])
    primary = results.important[results.important.comparison == "any"]
    out[("appendix9", "any")] = sorted(f"{r.outcome} x {r.modifier}" for r in primary.itertuples())
    return out


def score(values: dict) -> tuple[float, int, int]:
    """Largest |distance| in CI half-widths, paper values outside the CI, direction changes."""
    worst, outside, flips = 0.0, 0, 0
    for key, paper in PAPER.items():
        est, low, high = values[key]
        log = key[0] == "recovery"
        f = math.log if log else float
        half = (f(high) - f(low)) / 2
        worst = max(worst, abs(f(est) - f(paper)) / half)
        outside += not (low <= paper <= high)
        flips += (f(est) - f(1.0 if log else 0.0)) * (f(paper) - f(1.0 if log else 0.0)) < 0
    return worst, outside, flips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seeds", nargs="*", type=int, default=[*range(1, 17), 2020])
    parser.add_argument("--modifiers", action="store_true",
                        help="also fit the planted modifiers; print their Appendix 9 rows")  # fmt: skip
    args = parser.parse_args()
    for seed in args.seeds:
        folder = Path(tempfile.mkdtemp(prefix=f"ipdma-seed{seed}-"))
        try:
            values = headline(seed, folder, args.modifiers)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        worst, outside, flips = score(values)
        cells = "  ".join(f"{o[:4]}/{c[:4]} {values[(o, c)][0]:.2f}" for o, c in PAPER)
        print(f"seed {seed:5d}: worst {worst:.2f} CI half-widths, {outside} outside CI, "
              f"{flips} direction changes | {cells}", flush=True)  # fmt: skip
        if args.modifiers:
            print(f"    Appendix 9 (short, any, adjusted): {values[('appendix9', 'any')]}")


if __name__ == "__main__":
    main()
