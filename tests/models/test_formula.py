"""lme4-syntax parsing and design building (ipdma.models._formula)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from formulaic import model_matrix

from ipdma.errors import DataWarning, FormulaError
from ipdma.models._fastmatrix import simple_matrix
from ipdma.models._formula import build_design, parse_formula, r_powers


@pytest.fixture
def data() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 40
    return pd.DataFrame(
        {
            "trial": rng.choice(["b", "a", "c"], n),
            "y": rng.normal(size=n),
            "base": rng.normal(50, 10, n),
            "treat": rng.integers(0, 2, n).astype(float),
            "age": rng.normal(40, 5, n),
            "arm": rng.choice(["x", "y", "z"], n),
            "s": rng.integers(0, 5, n),
            "f": rng.integers(0, 5, n),
        }
    )


def test_paper_formula_parts():
    parsed = parse_formula(
        "y ~ 0 + C(trial) + base + treat + (0 + treat | trial) + (0 + base | trial)"
    )
    assert parsed.response == "y" and parsed.failures is None
    assert parsed.fixed == "0 + C(trial) + base + treat"
    assert [(t.expr, t.group, t.correlated) for t in parsed.random] == [
        ("0 + treat", "trial", True),
        ("0 + base", "trial", True),
    ]
    assert parsed.group == "trial"


def test_double_bar_and_cbind_and_intercept_only():
    parsed = parse_formula("cbind(s, f) ~ treat + (1 + treat || trial) - 1")
    assert (parsed.response, parsed.failures) == ("s", "f")
    assert parsed.random[0].correlated is False and parsed.random[0].expr == "1 + treat"
    assert parsed.fixed == "treat - 1"
    assert parse_formula("y ~ (1 | trial)").fixed == "1"


def test_design_rows_sorted_by_trial_with_slices(data):
    design = build_design(parse_formula("y ~ treat + (1 | trial)"), data)
    assert design.group_levels == ("a", "b", "c")
    assert np.all(np.diff(design.group) >= 0)
    for code, sl in enumerate(design.group_slices):
        rows = data[data["trial"] == design.group_levels[code]]
        np.testing.assert_array_equal(design.y[sl], rows["y"].to_numpy())  # stable order
    assert design.fixed_names == ("(Intercept)", "treat")
    assert design.nobs == len(data) and design.ngroups == 3
    np.testing.assert_array_equal(design.n_trials, 1.0)


def test_cbind_gives_successes_and_size(data):
    design = build_design(parse_formula("cbind(s, f) ~ treat + (1 | trial)"), data)
    ordered = data.sort_values("trial", kind="stable")
    np.testing.assert_array_equal(design.y, ordered["s"].to_numpy(float))
    np.testing.assert_array_equal(design.n_trials, (ordered["s"] + ordered["f"]).to_numpy(float))


def test_random_blocks_correlated_and_independent(data):
    corr = build_design(parse_formula("y ~ treat + (1 + treat | trial)"), data)
    assert corr.random_names == ("(Intercept)", "treat")
    assert [list(b) for b in corr.re_blocks] == [[0, 1]]
    indep = build_design(parse_formula("y ~ treat + (treat || trial)"), data)
    assert [list(b) for b in indep.re_blocks] == [[0], [1]]
    sep = build_design(parse_formula("y ~ treat + (0 + treat | trial) + (0 + base | trial)"), data)
    assert sep.random_names == ("treat", "base") and [list(b) for b in sep.re_blocks] == [[0], [1]]


def test_missing_rows_dropped_and_counted_per_trial(data):
    data = data.copy()
    data.loc[[0, 1, 2], "base"] = np.nan
    expected = data.loc[[0, 1, 2], "trial"].value_counts()
    with pytest.warns(DataWarning, match="3 of 40 rows dropped"):
        design = build_design(parse_formula("y ~ base + (1 | trial)"), data)
    assert design.nobs == 37
    assert int(design.dropped.sum()) == 3
    for trial, count in expected.items():
        assert design.dropped[trial] == count
    assert design.dropped.index.name == "trial"


@pytest.mark.parametrize(
    "rhs",
    [
        "0 + C(trial) + base + treat",
        "1 + C(trial) + base",
        "base + treat + treat:age",
        "treat:age + base",
        "0 + trial + treat",
        "trial + treat - 1",
        "treat",
        "0 + treat",
        "1",
        "C(trial) + treat + age:base:treat",
    ],
)
@pytest.mark.parametrize("sparse", [False, True])
def test_fast_path_agrees_with_formulaic(data, rhs, sparse):
    cols = {c: data[c].to_numpy() for c in data.columns}
    fast = simple_matrix(rhs, cols, sparse=sparse)
    assert fast is not None, f"{rhs} should take the fast path"
    matrix, names, _ = fast
    ref = model_matrix(rhs, data, output="numpy")
    assert names == list(ref.model_spec.column_names)
    dense = matrix.toarray() if sparse else matrix
    np.testing.assert_array_equal(dense, np.asarray(ref))


@pytest.mark.parametrize("rhs", ["C(trial):base + treat", "np.log(base)", "C(trial) + C(arm)"])
def test_fast_path_declines_and_formulaic_builds(data, rhs):
    cols = {c: data[c].to_numpy() for c in data.columns}
    assert simple_matrix(rhs, cols, sparse=False) is None
    design = build_design(parse_formula(f"y ~ {rhs} + (1 | trial)"), data)
    ref = model_matrix(rhs, data.sort_values("trial", kind="stable"), output="numpy")
    np.testing.assert_allclose(design.X, np.asarray(ref))


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("y ~ x + (1 | )", "no grouping factor"),
        ("y ~ x + (treat | )", "character 16"),
        ("y ~ x + (1 | a/b)", "single column name"),
        ("y ~ x | g", "must be in parentheses"),
        ("y ~ (x + 1", "never closed"),
        ("y ~ x + 1)", "unbalanced"),
        ("y ~ x + (1 | a) + (1 | b)", "one grouping factor"),
        ("y + z ~ x + (1 | g)", "one column name or cbind"),
        ("y ~ x ~ z", "exactly one '~'"),
        ("", "empty"),
        ("y ~ x + * + (1 | g)", "cannot read"),
        ("cbind(a) ~ x + (1 | g)", "cbind"),
    ],
)
def test_unparseable_formulas_say_where(formula, message):
    with pytest.raises(FormulaError, match=message):
        parse_formula(formula)


def test_pandas_categorical_keeps_its_level_order(data):
    data = data.assign(arm=pd.Categorical(data["arm"], categories=["z", "x", "y"]))
    design = build_design(parse_formula("y ~ 0 + arm + (1 | trial)"), data)
    assert design.fixed_names == ("arm[z]", "arm[x]", "arm[y]")


def test_random_term_required(data):
    with pytest.raises(FormulaError, match="no random-effects term"):
        build_design(parse_formula("y ~ treat"), data)


def test_r_power_inside_I_is_python_power() -> None:
    """R's ``I(age^2)`` means the square (formulaic would read ``^`` as xor inside I())."""
    assert r_powers("x + I(x^2)") == "x + I(x**2)"
    assert r_powers("I((a + b)^2) + (a + b)^2") == "I((a + b)**2) + (a + b)^2"
    assert r_powers("GI(x^2)") == "GI(x^2)"  # only the I() function
    parsed = parse_formula("y ~ treat + I(age^2) + (0 + I(age^2) | trial)")
    assert "I(age**2)" in parsed.fixed
    assert parsed.random[0].expr == "0 + I(age**2)"


def test_r_power_formula_fits_like_python_power() -> None:
    from tests.tolerances import GRID_VS_DIRECT_RTOL

    import ipdma

    rng = np.random.default_rng(20)
    df = pd.DataFrame({"trial": np.repeat(list("abcd"), 40), "x": rng.normal(size=160)})
    df["y"] = df.x + 0.3 * df.x**2 + rng.normal(size=160)
    r_style = ipdma.mixed("y ~ 0 + C(trial) + x + I(x^2) + (1 | trial)", data=df)
    python_style = ipdma.mixed("y ~ 0 + C(trial) + x + I(x**2) + (1 | trial)", data=df)
    np.testing.assert_array_equal(r_style.fixef.to_numpy(), python_style.fixef.to_numpy())
    manual = ipdma.mixed("y ~ 0 + C(trial) + x + x2 + (1 | trial)", data=df.assign(x2=df.x**2))
    np.testing.assert_allclose(
        r_style.fixef.to_numpy(), manual.fixef.to_numpy(), rtol=GRID_VS_DIRECT_RTOL
    )
