"""lme4-syntax model formulas: parsing and design matrices.

A formula has a response, a fixed part (handled by formulaic: ``0 +``, ``C(x)``, string
columns as factors, ``a:b``, ``a*b``) and random-effects terms in parentheses:
``(terms | trial)`` for correlated random effects (one unstructured covariance block) and
``(terms || trial)`` for independent ones (one block per term), as in lme4::lmer. All
random-effects terms must share one grouping factor (the trial). A binomial response may be
written ``cbind(successes, failures)`` as in lme4::glmer.

``build_design`` (in ``_design``, re-exported here) evaluates a parsed formula on data.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from ..errors import FormulaError
from ._design import ModelDesign, build_design  # re-exported: the design half of the API
from ._fastmatrix import simple_variables

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = [
    "ModelDesign",
    "ParsedFormula",
    "RandomTerm",
    "build_design",
    "expression_columns",
    "parse_formula",
]

_NAME = re.compile(r"^\s*(`[^`]+`|[A-Za-z_.][A-Za-z0-9_.]*)\s*$")
_CBIND = re.compile(r"^\s*cbind\s*\((.*)\)\s*$", re.DOTALL)


_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


@lru_cache(maxsize=256)
def _arithmetic(expr: str) -> tuple[ast.expr, dict[str, str]]:
    """Parse an arithmetic expression of columns (``+ - * /``, numbers, parentheses, names
    in backticks): the syntax tree and the placeholder -> column map. Nothing is executed."""
    names: dict[str, str] = {}

    def placeholder(match: re.Match) -> str:
        key = f"_col{len(names)}_"
        names[key] = match.group(1)
        return key

    text = re.sub(r"`([^`]+)`", placeholder, expr.strip())
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:
        raise FormulaError(
            f"cannot read the expression {expr!r}", hint="use column names, numbers, + - * /"
        ) from None
    allowed = (ast.BinOp, ast.UnaryOp, ast.Load, ast.USub, *_OPERATORS)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.setdefault(node.id, node.id)
            continue
        number = isinstance(node, ast.Constant) and type(node.value) in (int, float)
        if not number and not isinstance(node, allowed):
            raise FormulaError(
                f"the expression {expr!r} may only combine columns and numbers with + - * / "
                f"(found {type(node).__name__})",
                value=expr,
                hint="compute the column in the data first",
            )
    return tree, names


def expression_columns(expr: str) -> frozenset[str]:
    """The columns a ``cbind()`` argument (a column name or an arithmetic expression) uses."""
    if _NAME.match(expr):
        return frozenset([_unquote(expr)])
    return frozenset(_arithmetic(expr)[1].values())


def evaluate_expression(expr: str, column: Callable[[str], np.ndarray]) -> np.ndarray | float:
    """Evaluate a ``cbind()`` argument; ``column(name)`` returns a column as a float array
    (a constant expression gives a float)."""
    if _NAME.match(expr):
        return column(_unquote(expr))
    tree, names = _arithmetic(expr)

    def ev(node: ast.expr) -> np.ndarray | float:
        if isinstance(node, ast.Name):
            return column(names[node.id])
        if isinstance(node, ast.Constant):
            assert isinstance(node.value, int | float)  # _arithmetic admits only numbers
            return float(node.value)
        if isinstance(node, ast.UnaryOp):
            return -ev(node.operand)
        assert isinstance(node, ast.BinOp)  # _arithmetic admits nothing else
        return _OPERATORS[type(node.op)](ev(node.left), ev(node.right))

    return ev(tree)


@dataclass(frozen=True)
class RandomTerm:
    """One ``(expr | group)`` (``correlated=True``) or ``(expr || group)`` term."""

    expr: str
    group: str
    correlated: bool


@dataclass(frozen=True)
class ParsedFormula:
    """A parsed lme4-style formula (configuration only; no data).

    ``response`` is the outcome column; for ``cbind(s, f)`` it is ``s`` and ``failures``
    is ``f`` (each a column name or an arithmetic expression of columns, e.g.
    ``size - incidence``, evaluated on the data by ``evaluate_expression``). ``fixed`` is the formulaic right-hand side of the fixed part.
    """

    formula: str
    response: str
    failures: str | None
    fixed: str
    random: tuple[RandomTerm, ...]

    @property
    def group(self) -> str | None:
        """The grouping factor (the trial), or None without random-effects terms."""
        return self.random[0].group if self.random else None


def _where(text: str, pos: int) -> str:
    return f"{text}\n{' ' * pos}^ here (character {pos + 1})"


def _unquote(name: str) -> str:
    name = name.strip()
    return name[1:-1] if name.startswith("`") and name.endswith("`") else name


def _split_top(text: str, sep: str) -> list[str]:
    """Split ``text`` at ``sep`` characters outside parentheses."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _check_parentheses(formula: str) -> None:
    depth = 0
    for i, ch in enumerate(formula):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise FormulaError(
                    "unbalanced ')' in the formula:\n" + _where(formula, i),
                    hint="remove the extra ')' or add the missing '('",
                )
    if depth > 0:
        i = formula.rfind("(")
        raise FormulaError(
            "a '(' in the formula is never closed:\n" + _where(formula, i),
            hint="add the missing ')'",
        )


def _parse_random(formula: str, start: int, inner: str) -> RandomTerm:
    """Parse the inside of ``( expr | group )`` found at ``start`` in ``formula``."""
    correlated = "||" not in inner
    depth, bar = 0, -1
    for i, ch in enumerate(inner):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "|" and depth == 0:
            bar = i
            break
    expr = inner[:bar].strip()
    group = inner[bar + (1 if correlated else 2) :].strip()
    if not group:
        raise FormulaError(
            "random-effects term has no grouping factor after '|':\n"
            + _where(formula, start + 1 + bar),
            hint="write the trial column after the bar, e.g. '(0 + treat | trial)'",
        )
    if not _NAME.match(group):
        raise FormulaError(
            f"grouping factor {group!r} must be a single column name (nested or crossed "
            "grouping factors are not supported; ipdma fits one grouping factor, the trial):\n"
            + _where(formula, start + 1 + bar),
            variable=group,
            hint="use one trial column as the grouping factor",
        )
    if not expr:
        raise FormulaError(
            "random-effects term has nothing before '|':\n" + _where(formula, start + 1),
            hint="write e.g. '(1 | trial)' for a random intercept",
        )
    return RandomTerm(expr=expr, group=_unquote(group), correlated=correlated)


_I_CALL = re.compile(r"(?<![\w.])I\(")


def r_powers(text: str) -> str:
    """R's power operator inside ``I(...)`` as Python's: ``I(age^2)`` -> ``I(age**2)``.

    formulaic evaluates ``I()`` as Python, where ``^`` is a bitwise xor; outside ``I()``
    ``^`` keeps its formula meaning (``(a + b)^2``, all interactions up to order 2).
    """
    out, pos = [], 0
    for match in _I_CALL.finditer(text):
        if match.start() < pos:
            continue
        depth, end = 1, match.end()
        while end < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            end += 1
        out.append(text[pos : match.end()] + text[match.end() : end].replace("^", "**"))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def parse_formula(formula: str) -> ParsedFormula:
    """Split an lme4-style formula into response, fixed part and random-effects terms.

    Raises
    ------
    FormulaError
        With the position of the problem when the formula cannot be read.
    """
    if not isinstance(formula, str) or not formula.strip():
        raise FormulaError("the formula is empty", hint="write e.g. 'y ~ treat + (1 | trial)'")
    return _parse(formula)


@lru_cache(maxsize=512)
def _parse(formula: str) -> ParsedFormula:
    _check_parentheses(formula)
    tildes = [i for i, ch in enumerate(formula) if ch == "~"]
    if len(tildes) != 1:
        pos = tildes[1] if tildes else len(formula)
        raise FormulaError(
            "the formula needs exactly one '~' between the outcome and the terms:\n"
            + _where(formula, pos),
            hint="write 'outcome ~ terms'",
        )
    lhs, rhs = formula[: tildes[0]], formula[tildes[0] + 1 :]
    offset = tildes[0] + 1
    failures = None
    cbind = _CBIND.match(lhs)
    if cbind:
        args = [a.strip() for a in _split_top(cbind.group(1), ",")]
        if len(args) != 2 or not all(args):
            raise FormulaError(
                "cbind() needs two arguments, cbind(successes, failures):\n"
                + _where(formula, lhs.find("cbind")),
                hint="write e.g. 'cbind(recovered, not_recovered) ~ ...' or "
                "'cbind(events, size - events) ~ ...'",
            )
        for arg in args:
            expression_columns(arg)  # validates an arithmetic expression of columns
        response, failures = (_unquote(a) if _NAME.match(a) else a for a in args)
    elif _NAME.match(lhs):
        response = _unquote(lhs)
    else:
        raise FormulaError(
            "the outcome (left of '~') must be one column name or cbind(successes, failures):\n"
            + _where(formula, 0),
            value=lhs.strip(),
            hint="create the outcome as a column of the data first",
        )

    # Cut the parenthesised groups that contain a top-level bar out of the right-hand side.
    random: list[RandomTerm] = []
    kept: list[str] = []
    depth, open_at, last = 0, -1, 0
    for i, ch in enumerate(rhs):
        if ch == "(":
            if depth == 0:
                open_at = i
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                inner = rhs[open_at + 1 : i]
                if len(_split_top(inner, "|")) > 1:
                    random.append(_parse_random(formula, offset + open_at, inner))
                    kept.append(rhs[last:open_at])
                    last = i + 1
        elif ch == "|" and depth == 0:
            raise FormulaError(
                "a random-effects term must be in parentheses, e.g. '(1 | trial)':\n"
                + _where(formula, offset + i),
                hint="put parentheses around 'terms | trial'",
            )
    kept.append(rhs[last:])
    fixed = r_powers("".join(kept))
    random = [RandomTerm(r_powers(t.expr), t.group, t.correlated) for t in random]
    for _ in range(3):
        fixed = re.sub(r"\+\s*(?=\+|-|$)", "", fixed.strip())
    fixed = re.sub(r"^\s*\+", "", fixed).strip()
    if not fixed or fixed.startswith("-"):
        fixed = ("1 " + fixed).strip()
    groups = {t.group for t in random}
    if len(groups) > 1:
        raise FormulaError(
            f"random-effects terms use {len(groups)} grouping factors ({', '.join(sorted(groups))}); "
            "ipdma fits one grouping factor (the trial)",
            hint="use the same trial column in every '( ... | trial)' term",
        )
    try:
        for expr in (fixed, *(term.expr for term in random)):
            if simple_variables(expr) is None:  # else valid by construction
                from formulaic import Formula

                Formula(expr)
    except Exception as exc:  # formulaic's syntax errors carry their own position marker
        raise FormulaError(
            f"cannot read the formula {formula!r}: {exc}",
            hint="check operators and parentheses",
        ) from None
    return ParsedFormula(
        formula=formula, response=response, failures=failures, fixed=fixed, random=tuple(random)
    )
