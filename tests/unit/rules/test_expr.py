"""The text form of rules: what parses to what, where errors point, and round-trips."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsbook.config.types import Bound
from opsbook.rules.expr import MAX_DEPTH, ExprError, parse_expr
from opsbook.rules.nodes import (
    AGGREGATES,
    Aggregate,
    BinaryOp,
    Expr,
    Failures,
    Negate,
    Number,
    format_expr,
    references,
)

M5 = timedelta(minutes=5)


def avg(check: str, sample: str, window: timedelta = M5) -> Aggregate:
    return Aggregate("avg", check, sample, window)


def test_hyphenated_check_names_do_not_swallow_the_minus_between_calls() -> None:
    parsed = parse_expr("avg(a-b.x, 5m) - avg(c.y, 5m)")
    assert parsed.expr == BinaryOp("-", avg("a-b", "x"), avg("c", "y"))
    assert parse_expr("avg(a-b.x,5m)-avg(c.y,5m)").expr == parsed.expr


def test_the_last_dot_splits_check_and_sample() -> None:
    assert parse_expr("last(db.primary.replication_lag_s)").expr == Aggregate(
        "last", "db.primary", "replication_lag_s"
    )


def test_error_rate_with_its_own_comparison() -> None:
    """practice-app: "High Error Rate: > 5% error rate for 5 minutes"."""
    parsed = parse_expr("sum(app-log.errors, 5m) / sum(app-log.lines, 5m) * 100 > 5")
    ratio = BinaryOp(
        "/",
        Aggregate("sum", "app-log", "errors", M5),
        Aggregate("sum", "app-log", "lines", M5),
    )
    assert parsed.expr == BinaryOp("*", ratio, Number(100))
    assert parsed.bound == Bound(">", 5)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("1 + 2 * 3", BinaryOp("+", Number(1), BinaryOp("*", Number(2), Number(3)))),
        ("(1 + 2) * 3", BinaryOp("*", BinaryOp("+", Number(1), Number(2)), Number(3))),
        ("8 / 4 / 2", BinaryOp("/", BinaryOp("/", Number(8), Number(4)), Number(2))),
        ("1 - 2 - 3", BinaryOp("-", BinaryOp("-", Number(1), Number(2)), Number(3))),
        ("-2 * 3", BinaryOp("*", Negate(Number(2)), Number(3))),
        ("- -2", Negate(Negate(Number(2)))),
        ("2.5e3", Number(2500)),
        ("((7))", Number(7)),
        ("failures(api-health)", Failures("api-health")),
        ("status(api-health)", Aggregate("last", "api-health", "status")),
        ("rate(pg.deadlocks, 1h)", Aggregate("rate", "pg", "deadlocks", timedelta(hours=1))),
        (
            "avg(users.active, 1h, offset=7d)",
            Aggregate("avg", "users", "active", timedelta(hours=1), timedelta(days=7)),
        ),
        ("last(x.y, offset=1h)", Aggregate("last", "x", "y", None, timedelta(hours=1))),
        (
            "p95(api.latency_ms, 1h30m)",
            Aggregate("p95", "api", "latency_ms", timedelta(minutes=90)),
        ),
    ],
)
def test_parses(text: str, expected: Expr) -> None:
    assert parse_expr(text).expr == expected
    assert parse_expr(text).bound is None


@pytest.mark.parametrize(
    "text,bound",
    [
        ("x > 1", Bound(">", 1)),
        ("x >= -2.5", Bound(">=", -2.5)),
        ("x < 0.8", Bound("<", 0.8)),
        ("x <= 3", Bound("<=", 3)),
        ("x == 0", Bound("==", 0)),
        ("x != 1e3", Bound("!=", 1000)),
    ],
)
def test_trailing_comparisons(text: str, bound: Bound) -> None:
    assert parse_expr(text.replace("x", "last(a.b)")).bound == bound


@pytest.mark.parametrize(
    "text,message",
    [
        ("p95(api-health.latency_ms, 5m", "expected ',' or ')' at column 30 (end of expression)"),
        ("avg(x.y, 5m, offset=1h, 3)", "expected ')' at column 23, got ','"),
        ("avg(x.y 5m)", "expected ',' or ')' at column 9, got '5m'"),
        ("1 +", "expected a number, a function, '(' or '-' at column 4 (end of expression)"),
        (
            "2 & 3",
            "expected an operator, a comparison (> >= < <= == !=) or the end at column 3, got '&'",
        ),
        ("avg(x.y, 5)", "expected a duration like 5m or 'offset=' at column 10, got '5'"),
        ("last(a.b) > x", "expected a number at column 13, got 'x'"),
        ("last(a.b) > 1 > 2", "expected the end at column 15, got '>'"),
        ("avgg(a.b, 5m)", "unknown function 'avgg' at column 1; did you mean 'avg'?"),
        ("1 + quux(a.b)", "unknown function 'quux' at column 5; known: last, avg"),
        ("avg(a.b)", "avg() needs a window at column 1: avg(a.b, 5m)"),
        ("rate(a.b)", "rate() needs a window at column 1"),
        ("last(a.b, 5m)", "last() takes no window, at column 11"),
        ("avg(a.b, 0s)", "the window must be longer than 0s, at column 10"),
        ("avg(api, 5m)", "expected a series like check.sample at column 5, got 'api'"),
        ("avg(api.Latency, 5m)", "invalid sample name 'Latency' at column 5"),
        ("failures(api, 5m)", "failures() takes only a check name, at column 1"),
        ("", "the expression is empty"),
        ("   ", "the expression is empty"),
    ],
)
def test_errors_say_where_and_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(ExprError) as caught:
        parse_expr(text)
    assert message in str(caught.value)


def test_deep_nesting_and_long_text_are_refused_not_crashing() -> None:
    with pytest.raises(ExprError, match=f"nested deeper than {MAX_DEPTH}"):
        parse_expr("-" * 500 + "1")
    with pytest.raises(ExprError, match=f"nested deeper than {MAX_DEPTH}"):
        parse_expr("(" * 300 + "1" + ")" * 300)
    with pytest.raises(ExprError, match="longer than 2000"):
        parse_expr("1" + " + 1" * 600)


def test_nothing_is_evaluated_as_python() -> None:
    for text in ("__import__('os').system('true')", "open('/etc/passwd')", "1; 2", "a.b"):
        with pytest.raises(ExprError):
            parse_expr(text)


def test_references_keep_the_column_of_each_call() -> None:
    refs = references(parse_expr("avg(a-b.x, 5m) - failures(c)").expr)
    assert [(type(r).__name__, r.check, r.column) for r in refs] == [
        ("Aggregate", "a-b", 1),
        ("Failures", "c", 18),
    ]


# -- round trip: any tree prints to text that parses back to the same tree -------------------

_names = st.from_regex(r"[a-z0-9][a-z0-9_.-]{0,12}", fullmatch=True).filter(
    lambda n: not n.endswith(".")
)
_samples = st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True)
_durations = st.integers(min_value=1, max_value=10**9).map(lambda ms: timedelta(milliseconds=ms))
_offsets = st.one_of(st.just(timedelta(0)), _durations)


@st.composite
def _aggregates(draw: st.DrawFn) -> Aggregate:
    fn = draw(st.sampled_from(AGGREGATES))
    window = None if fn == "last" else draw(_durations)
    return Aggregate(fn, draw(_names), draw(_samples), window, draw(_offsets))


_leaves = st.one_of(
    st.floats(min_value=0, max_value=1e18, allow_nan=False, allow_infinity=False).map(Number),
    st.integers(min_value=0, max_value=10**6).map(lambda i: Number(float(i))),
    _aggregates(),
    _names.map(Failures),
)
_trees = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        inner.map(Negate),
        st.builds(BinaryOp, st.sampled_from(["+", "-", "*", "/"]), inner, inner),
    ),
    max_leaves=12,
)


@given(_trees)
def test_printed_trees_parse_back_to_equal_trees(tree: Expr) -> None:
    text = format_expr(tree)
    assert parse_expr(text).expr == tree, text


@given(_trees, st.sampled_from([">", ">=", "<", "<=", "==", "!="]), st.integers(-1000, 1000))
def test_a_comparison_after_any_tree_becomes_its_bound(tree: Expr, op: str, limit: int) -> None:
    parsed = parse_expr(f"{format_expr(tree)} {op} {limit}")
    assert parsed.expr == tree
    assert parsed.bound == Bound(op, float(limit))
