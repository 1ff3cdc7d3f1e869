"""The text form of a rule: ``p95(api-health.latency_ms, 5m) > 500``, parsed, never eval-ed.

Grammar (LALR, with a lexer that only tries the tokens the parser can accept next):

    start      := sum [COMPARATOR signed-number]
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := "-" unary | atom
    atom       := NUMBER | call | "(" sum ")"
    call       := NAME "(" ARG ["," DURATION] ["," "offset" "=" DURATION] ")"

Check names may contain ``-`` and ``.``, so the argument of a call is one token,
``[A-Za-z0-9][A-Za-z0-9_.-]*``, split at its last dot into check and sample. Because the
lexer only looks for that token right after ``name(``, ``avg(a-b.x, 5m) - avg(c.y, 5m)``
is a subtraction of two calls. A trailing comparison becomes the rule's critical bound.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from lark import Lark, Token, Tree, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from opsbook.config.types import Bound, parse_duration
from opsbook.rules.nodes import AGGREGATES, Aggregate, BinaryOp, Expr, Failures, Negate, Number

MAX_LENGTH = 2000
MAX_DEPTH = 64

_GRAMMAR = r"""
start: expr (COMPARATOR SIGNED)?
?expr: term | expr ADD term -> binop
?term: factor | term MUL factor -> binop
?factor: atom | MINUS factor -> neg
?atom: NUMBER -> number
     | NAME LPAR ARG (COMMA DURATION)? (COMMA OFFSET EQ DURATION)? RPAR -> call
     | LPAR expr RPAR
ADD: "+" | "-"
MINUS: "-"
MUL: "*" | "/"
COMPARATOR: ">=" | "<=" | "==" | "!=" | ">" | "<"
SIGNED: /-?\d+(\.\d+)?([eE][-+]?\d+)?/
NUMBER: /\d+(\.\d+)?([eE][-+]?\d+)?/
NAME: /[a-z_][a-z0-9_]*/
ARG: /[A-Za-z0-9][A-Za-z0-9_.\-]*/
DURATION: /(\d+(\.\d+)?(ms|s|m|h|d|w))+/
OFFSET: "offset"
EQ: "="
LPAR: "("
RPAR: ")"
COMMA: ","
%ignore /[ \t\r\n]+/
"""

_EXPECTED = {
    "NUMBER": "a number",
    "SIGNED": "a number",
    "NAME": "a function",
    "LPAR": "'('",
    "MINUS": "'-'",
    "COMMA": "','",
    "RPAR": "')'",
    "ARG": "a series (check.sample) or check name",
    "DURATION": "a duration like 5m",
    "OFFSET": "'offset='",
    "EQ": "'='",
    "ADD": "an operator",
    "MUL": "an operator",
    "COMPARATOR": "a comparison (> >= < <= == !=)",
    "$END": "the end",
}
_ORDER = list(_EXPECTED)

FUNCTIONS = (*AGGREGATES, "failures", "status")
_SAMPLE = re.compile(r"^[a-z_][a-z0-9_]*$")
_CHECK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class ExprError(ValueError):
    """A rule expression that cannot be read; the message names the column."""


@dataclass(frozen=True, slots=True)
class Parsed:
    """An expression and the bound its trailing comparison sets (None without one)."""

    expr: Expr
    bound: Bound | None


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(_GRAMMAR, parser="lalr", lexer="contextual", propagate_positions=False)


def _describe_expected(names: set[str]) -> str:
    seen: list[str] = []
    for name in sorted(names, key=lambda n: _ORDER.index(n) if n in _ORDER else len(_ORDER)):
        text = _EXPECTED.get(name, name)
        if text not in seen:
            seen.append(text)
    if len(seen) <= 1:
        return seen[0] if seen else "something else"
    return f"{', '.join(seen[:-1])} or {seen[-1]}"


def _expected(exc: UnexpectedToken | UnexpectedCharacters) -> str:
    """What could have come instead: asked of the parser in its failed state, which is exact
    (the table's lookahead sets of a state also list tokens only valid after reductions)."""
    interactive = getattr(exc, "interactive_parser", None)
    names = set(interactive.accepts()) if interactive is not None else set()
    if not names:
        names = set(exc.expected if isinstance(exc, UnexpectedToken) else exc.allowed or ())
    return _describe_expected(names)


def _syntax_error(text: str, exc: UnexpectedInput) -> ExprError:
    if isinstance(exc, UnexpectedToken):
        expected = _expected(exc)
        if exc.token.type == "$END":
            return ExprError(f"expected {expected} at column {len(text) + 1} (end of expression)")
        return ExprError(f"expected {expected} at column {exc.column}, got {exc.token.value!r}")
    if isinstance(exc, UnexpectedCharacters):
        position = exc.pos_in_stream or 0
        got = text[position] if position < len(text) else ""
        expected = _expected(exc)
        return ExprError(f"expected {expected} at column {exc.column}, got {got!r}")
    return ExprError(f"cannot read the expression at column {exc.column}")


def _depth(tree: Tree[Token]) -> int:
    deepest = 0
    stack: list[tuple[Tree[Token] | Token, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, Tree):
            stack.extend((child, depth + 1) for child in node.children)
    return deepest


def _unknown_function(token: Token) -> ExprError:
    hint = difflib.get_close_matches(str(token), FUNCTIONS, n=1, cutoff=0.6)
    also = f"did you mean {hint[0]!r}?" if hint else f"known: {', '.join(FUNCTIONS)}"
    return ExprError(f"unknown function {str(token)!r} at column {token.column}; {also}")


def _series(token: Token) -> tuple[str, str]:
    text = str(token)
    check, dot, sample = text.rpartition(".")
    if not dot or not check:
        raise ExprError(
            f"expected a series like check.sample at column {token.column}, got {text!r}"
        )
    if not _SAMPLE.match(sample):
        raise ExprError(
            f"invalid sample name {sample!r} at column {token.column}: use lowercase letters, "
            "digits and '_', starting with a letter"
        )
    if not _CHECK.match(check):
        raise ExprError(f"invalid check name {check!r} at column {token.column}")
    return check, sample


def _call(children: list[Any]) -> Expr:
    name: Token = children[0]
    arg: Token = children[2]
    fn = str(name)
    durations = [c for c in children if isinstance(c, Token) and c.type == "DURATION"]
    has_offset = any(isinstance(c, Token) and c.type == "OFFSET" for c in children)
    offset_token = durations.pop() if has_offset else None
    window_token = durations[0] if durations else None
    if fn not in FUNCTIONS:
        raise _unknown_function(name)
    column = name.column
    if fn in ("failures", "status"):
        if window_token is not None or offset_token is not None:
            raise ExprError(f"{fn}() takes only a check name, at column {column}: {fn}(check)")
        if not _CHECK.match(str(arg)):
            raise ExprError(f"invalid check name {str(arg)!r} at column {arg.column}")
        if fn == "failures":
            return Failures(str(arg), column=column)
        return Aggregate("last", str(arg), "status", column=column)
    check, sample = _series(arg)
    offset = parse_duration(str(offset_token)) if offset_token is not None else None
    if fn == "last":
        if window_token is not None:
            raise ExprError(
                f"last() takes no window, at column {window_token.column}: it reads the newest "
                "point (use avg/max/... for a window, offset= to look back)"
            )
        return Aggregate("last", check, sample, None, offset or timedelta(0), column)
    if window_token is None:
        raise ExprError(f"{fn}() needs a window at column {column}: {fn}({check}.{sample}, 5m)")
    window = parse_duration(str(window_token))
    if not window:
        raise ExprError(f"the window must be longer than 0s, at column {window_token.column}")
    return Aggregate(fn, check, sample, window, offset or timedelta(0), column)


def _build(node: Tree[Token] | Token) -> Expr:
    if isinstance(node, Token):  # pragma: no cover - the grammar wraps every token
        raise ExprError(f"unexpected {node.value!r} at column {node.column}")
    kind = node.data
    children = node.children
    if kind == "number":
        return Number(float(str(children[0])))
    if kind == "neg":
        return Negate(_build(children[1]))
    if kind == "binop":
        return BinaryOp(str(children[1]), _build(children[0]), _build(children[2]))
    if kind == "call":
        return _call(children)
    if kind == "atom":  # "(" expr ")"
        return _build(children[1])
    raise ExprError(f"unexpected {kind}")  # pragma: no cover - every rule is handled above


@lru_cache(maxsize=1024)
def parse_expr(text: str) -> Parsed:
    """Parse a rule expression; raises `ExprError` saying where and what was expected."""
    if not text.strip():
        raise ExprError("the expression is empty")
    if len(text) > MAX_LENGTH:
        raise ExprError(f"the expression is longer than {MAX_LENGTH} characters")
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None
    if _depth(tree) > MAX_DEPTH:
        raise ExprError(f"the expression is nested deeper than {MAX_DEPTH} levels")
    children = tree.children
    expr = _build(children[0])
    bound = None
    if len(children) == 3:
        bound = Bound(str(children[1]), float(str(children[2])))
    return Parsed(expr, bound)
