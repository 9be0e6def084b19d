"""Drafting accuracy on the simulated consortium (27 trials, specs hidden).

Run: PYTHONPATH=src:. python benchmarks/bench_draft.py [seed]
Writes the native files and specs to a temporary folder, drafts every raw file without
its spec, scores each mapped field against the hidden spec by what ingest makes of it, and
fills only the TODOs from the hidden spec to compare the harmonized data with the original.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from tests.draft._score import compare_masters, report, score_project, write_simulated


def main(seed: int = 2020) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        write_simulated(Path(tmp), seed)
        written = time.perf_counter()
        fields, trials = score_project(Path(tmp))
        done = time.perf_counter()
        masters = compare_masters(Path(tmp), Path(tmp) / "work")
    print(
        f"seed {seed}: files written in {written - start:.1f} s, drafted and scored in "
        f"{done - written:.1f} s"
    )
    print(report(fields, trials))
    equal = masters["participants_equal"] & masters["outcomes_equal"]
    print(
        f"  ingest of the drafted specs (TODOs filled) vs the original master: participants "
        f"and outcomes equal in {int(equal.sum())} of {len(masters)} trials"
        + "".join(f"\n    differs: {t}" for t in masters.loc[~equal, "trial"])
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2020)
