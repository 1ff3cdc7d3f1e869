"""Annotation templates: checked at load, sandboxed, bounded, never fatal."""

from __future__ import annotations

import time

import pytest

from opsbook.rules.templates import check_template, render


@pytest.mark.parametrize(
    "template,expected",
    [
        ("{{ value | round(1) }}% failed", "6.2% failed"),
        ("{{ 'ab' * 3 }} {{ 2 ** 10 }} {{ [0] * 2 }}", "ababab 1024 [0, 0]"),
        ("{{ labels.service | upper }}", "API"),
        ("{% if value > 5 %}bad{% else %}fine{% endif %}", "bad"),
        ("<b>{{ labels.service }}</b>", "<b>api</b>"),  # not HTML-escaped
    ],
)
def test_rendering(template: str, expected: str) -> None:
    assert render(template, {"value": 6.24, "labels": {"service": "api"}}) == expected


@pytest.mark.parametrize(
    "template",
    [
        "{{ 'a' * 1000000000 }}",
        "{{ [1] * 1000000000 }}",
        "{{ 10 ** 100000000 }}",
        "{{ range(1000000000) | list | length }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ value.__class__ }}",
    ],
)
def test_abuse_is_refused_quickly_and_shows_the_template(template: str) -> None:
    started = time.perf_counter()
    assert render(template, {"value": 1.0}) in (template, "")
    assert time.perf_counter() - started < 1.0


def test_output_is_capped() -> None:
    text = render("{% for i in range(9000) %}x{% endfor %}", {})
    assert len(text) == 8000


@pytest.mark.parametrize("bad", ["{{ value ", "{% if %}", "{{ x | }}", "{% endfor %}"])
def test_syntax_errors_are_config_errors(bad: str) -> None:
    with pytest.raises(ValueError, match="template error on line 1"):
        check_template(bad)


def test_long_templates_are_refused() -> None:
    with pytest.raises(ValueError, match="longer than 4000"):
        check_template("x" * 4001)
