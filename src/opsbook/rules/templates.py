"""Annotation templates: Jinja2 in a sandbox, checked at load, never fatal at render time.

``summary: "API p95 latency {{ value | round(0) }} ms"``. The sandbox refuses attribute
tricks (``{{ ''.__class__ }}``); an undefined name renders as nothing; a template that
fails while rendering (``round`` of a missing value) is shown as written, because an
alert with a raw summary is better than no alert.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, Template, TemplateSyntaxError
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

MAX_TEMPLATE_LENGTH = 4000
MAX_RENDERED_LENGTH = 8000

MAX_REPEAT = 10_000
MAX_EXPONENT = 1_000


class _Sandbox(SandboxedEnvironment):
    """The sandbox, also refusing the two operators that can build huge values from a
    short template: repeating a string or list (``'a' * 10**9``) and big powers."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"exponent over {MAX_EXPONENT}")
        if operator == "*":
            for count, other in ((left, right), (right, left)):
                sized = isinstance(other, str | list | tuple)
                if sized and isinstance(count, int) and count > MAX_REPEAT:
                    raise SecurityError(f"repeat over {MAX_REPEAT}")
        return super().call_binop(context, operator, left, right)


_ENV = _Sandbox(autoescape=False, undefined=ChainableUndefined)


@lru_cache(maxsize=2048)
def _compile(text: str) -> Template:
    return _ENV.from_string(text)


def check_template(text: str) -> str:
    """Validate a template's syntax (for the config models); returns it unchanged."""
    if len(text) > MAX_TEMPLATE_LENGTH:
        raise ValueError(f"template longer than {MAX_TEMPLATE_LENGTH} characters")
    try:
        _compile(text)
    except TemplateSyntaxError as exc:
        raise ValueError(f"template error on line {exc.lineno}: {exc.message}") from None
    return text


def render(text: str, context: Mapping[str, Any]) -> str:
    """The rendered template, or the template itself if rendering fails for any reason."""
    if "{" not in text:
        return text
    try:
        rendered = _compile(text).render(**context)
    except Exception:  # a template must never break alerting; the raw text is the fallback
        return text
    return rendered[:MAX_RENDERED_LENGTH]
