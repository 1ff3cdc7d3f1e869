"""The expression tree every rule compiles to, whichever form it was written in.

A structured ``value:`` block and a text ``expr:`` produce the same frozen nodes, built
once when the config loads; evaluation walks the tree and never sees text again.
`format_expr` prints a tree back as text that `parse_expr` reads to an equal tree.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from opsbook.config.types import format_duration

AGGREGATES = (
    "last",
    "avg",
    "min",
    "max",
    "sum",
    "count",
    "p50",
    "p90",
    "p95",
    "p99",
    "rate",
    "increase",
)
"""Functions over one series; every one but `last` takes a window."""

QUANTILES = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}

PSEUDO_SAMPLES = frozenset({"status", "up"})
"""Samples every check has: `status` 0..3 (ok..unknown) and `up` (1 when ok, else 0)."""

OPERATORS = ("+", "-", "*", "/")


@dataclass(frozen=True, slots=True)
class Number:
    """A literal. Never negative: a leading minus is a `Negate` node."""

    value: float


@dataclass(frozen=True, slots=True)
class Aggregate:
    """`fn` over the points of one check's sample in [end - window, end], end = now - offset.

    `last` has no window: it takes the newest point no older than the rule's staleness.
    `column` is where the call starts in the rule's text form (1-based), for messages.
    """

    fn: str
    check: str
    sample: str
    window: timedelta | None = None
    offset: timedelta = timedelta(0)
    column: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Failures:
    """How many of the check's most recent results in a row were not OK."""

    check: str
    column: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Negate:
    operand: Expr


@dataclass(frozen=True, slots=True)
class BinaryOp:
    op: str  # one of OPERATORS
    left: Expr
    right: Expr


Expr = Number | Aggregate | Failures | Negate | BinaryOp


def walk(node: Expr) -> Iterator[Expr]:
    """Every node of the tree, parents before children, left to right."""
    stack: list[Expr] = [node]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, BinaryOp):
            stack.append(current.right)
            stack.append(current.left)
        elif isinstance(current, Negate):
            stack.append(current.operand)


def references(node: Expr) -> list[Aggregate | Failures]:
    """The series and checks a tree reads, in the order they appear."""
    return [n for n in walk(node) if isinstance(n, Aggregate | Failures)]


_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}
_UNARY = 3
_ATOM = 4


def _precedence(node: Expr) -> int:
    if isinstance(node, BinaryOp):
        return _PRECEDENCE[node.op]
    if isinstance(node, Negate):
        return _UNARY
    return _ATOM


def format_number(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _format_call(node: Aggregate) -> str:
    args = [f"{node.check}.{node.sample}"]
    if node.window is not None:
        args.append(format_duration(node.window))
    if node.offset:
        args.append(f"offset={format_duration(node.offset)}")
    return f"{node.fn}({', '.join(args)})"


def format_expr(node: Expr) -> str:
    """The text form of a tree, with only the parentheses its structure needs."""
    if isinstance(node, Number):
        return format_number(node.value)
    if isinstance(node, Aggregate):
        return _format_call(node)
    if isinstance(node, Failures):
        return f"failures({node.check})"
    if isinstance(node, Negate):
        inner = format_expr(node.operand)
        return f"-({inner})" if _precedence(node.operand) < _UNARY else f"-{inner}"
    own = _PRECEDENCE[node.op]
    left = format_expr(node.left)
    if _precedence(node.left) < own:
        left = f"({left})"
    right = format_expr(node.right)
    if _precedence(node.right) <= own:  # operators are left-associative
        right = f"({right})"
    return f"{left} {node.op} {right}"
