"""The runnable example in docs/models.md runs and gives a converged fit."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "models.md"


def test_models_doc_example_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    assert blocks, "docs/models.md has no python example"
    namespace: dict = {}
    exec(compile(blocks[0], str(DOC), "exec"), namespace)
    fit = namespace["fit"]
    assert fit.converged and fit.residual == "stratified" and fit.ngroups == 27
    assert "Converged:" in capsys.readouterr().out


def test_public_api():
    import ipdma
    import ipdma.models

    assert ipdma.mixed is ipdma.models.mixed
    assert set(ipdma.models.__all__) == {
        "AggregateMixedResult",  # issue 20: one-stage IPD + aggregate data
        "mixed_aggregate",
        "ConvergenceRecord",  # issue 12: fit.diagnostics, the structured convergence record
        "CrossProducts",
        "MixedResult",
        "ModelDesign",
        "ParsedFormula",
        "build_design",
        "fit_crossproducts",
        "mixed",
        "parse_formula",
        "StartValues",  # issue 17: warm starts, ipdma.mixed(..., start=...)
    }
