"""`when:` conditions on parameters and earlier steps, parsed with lark, never eval-ed.

    when: "steps.queue.vars.length > 100 and not params.dry"
    when: 'steps.verify.status == "failed" or params.env == "production"'

Grammar: comparisons (`== != > >= < <=`) of references and literals, combined with
`and`, `or`, `not` and parentheses. References are `params.NAME`,
`steps.STEP.status|exit_code|output|vars.NAME` and `alert.labels.NAME`; literals are
numbers, quoted strings, `true`, `false` and `null`. A reference to something that does
not exist (a step that was skipped, a variable never set) is null, and comparing null
with `>`/`<` is false, so a condition never raises while a playbook runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any

from lark import Lark, Token, Tree, UnexpectedInput
from pydantic import AfterValidator

MAX_LENGTH = 1000

_GRAMMAR = r"""
?start: or_
?or_: and_ ("or" and_)*  -> any_
?and_: not_ ("and" not_)* -> all_
?not_: "not" not_ -> negate
     | comparison
?comparison: operand (COMPARATOR operand)?
?operand: REFERENCE -> ref
        | NUMBER -> number
        | STRING -> string
        | "true" -> true
        | "false" -> false
        | "null" -> null
        | "(" or_ ")"
COMPARATOR: "==" | "!=" | ">=" | "<=" | ">" | "<"
REFERENCE: /(params|steps|alert)(\.[A-Za-z0-9_][A-Za-z0-9_-]*)+/
NUMBER: /-?\d+(\.\d+)?/
STRING: /"[^"\\\n]*"|'[^'\\\n]*'/
%ignore /[ \t]+/
"""

_PARSER = Lark(_GRAMMAR, parser="lalr")


class ConditionError(ValueError):
    """A condition that does not parse; the message points at the problem."""


@dataclass(frozen=True, slots=True)
class Condition:
    text: str
    tree: Tree[Token]

    def references(self) -> list[tuple[str, ...]]:
        return [
            tuple(str(t).split("."))
            for t in self.tree.scan_values(lambda v: isinstance(v, Token) and v.type == "REFERENCE")
        ]

    def holds(self, context: Mapping[str, Any]) -> bool:
        return bool(_evaluate(self.tree, context))


@lru_cache(maxsize=1024)
def parse_condition(text: str) -> Condition:
    if len(text) > MAX_LENGTH:
        raise ConditionError(f"a condition is at most {MAX_LENGTH} characters")
    try:
        return Condition(text, _PARSER.parse(text))
    except UnexpectedInput as exc:
        column = getattr(exc, "column", 0)
        raise ConditionError(
            f"cannot parse condition at column {column}: {text!r}; expected comparisons "
            'like `steps.check.status == "ok"` joined by and / or / not'
        ) from None


def check_condition(text: str) -> str:
    """A config field validator: the condition parses (ConditionError says where not)."""
    parse_condition(text)
    return text


ConditionText = Annotated[str, AfterValidator(check_condition)]
"""A config string holding a condition, parsed once at load."""


def _lookup(path: Sequence[str], context: Mapping[str, Any]) -> Any:
    value: Any = context
    for part in path:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        else:
            return None
    return value


_ORDERED = {">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b}  # fmt: skip


def _compare(left: Any, op: str, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, int | float) and not isinstance(right, bool):
        left = _number(left)
    if isinstance(right, str) and isinstance(left, int | float) and not isinstance(left, bool):
        right = _number(right)
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if left is None or right is None or type(left) is bool or type(right) is bool:
        return False
    try:
        return bool(_ORDERED[op](left, right))
    except TypeError:
        return False


def _number(text: str) -> float | str:
    try:
        return float(text.strip())
    except ValueError:
        return text


def _evaluate(node: Tree[Token] | Token, context: Mapping[str, Any]) -> Any:
    if isinstance(node, Token):
        raise AssertionError(f"unexpected token {node!r}")
    kind = node.data
    children = node.children
    if kind == "any_":
        return any(_evaluate(c, context) for c in children)
    if kind == "all_":
        return all(_evaluate(c, context) for c in children)
    if kind == "negate":
        return not _evaluate(children[0], context)
    if kind == "comparison":
        left, op, right = children
        return _compare(_evaluate(left, context), str(op), _evaluate(right, context))
    if kind == "ref":
        return _lookup(str(children[0]).split("."), context)
    if kind == "number":
        text = str(children[0])
        return float(text) if "." in text else int(text)
    if kind == "string":
        return str(children[0])[1:-1]
    return {"true": True, "false": False, "null": None}[str(kind)]
