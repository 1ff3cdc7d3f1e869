"""`{{ params.x }}` and `{{ vars.y }}` in step fields, rendered in a Jinja2 sandbox.

A rendered template is always one value: one argv item, one environment value, one bind
parameter, one Redis argument. It never becomes shell text: fields that a shell or a SQL
parser would read (`shell.script`, `sql.query`) refuse templates at validation, and their
data arrives as environment variables or bind parameters instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated, Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import AfterValidator

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
_MARKERS = re.compile(r"\{\{|\{%|\{#")
MAX_RENDERED = 64 * 1024


class TemplateError(ValueError):
    """A template that cannot render (syntax, unknown name, sandbox refusal)."""


def has_template(text: str) -> bool:
    return bool(_MARKERS.search(text))


@lru_cache(maxsize=4096)
def _compile(text: str) -> Template:
    try:
        return _ENV.from_string(text)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template {text!r}: {exc.message}") from None


def check_template(text: str) -> str:
    """A field validator: the template compiles (names are checked when it renders)."""
    if has_template(text):
        _compile(text)
    return text


TemplateText = Annotated[str, AfterValidator(check_template)]
"""A config string that may hold `{{ … }}` templates, checked to compile at load."""


def forbid_template(text: str, field: str, instead: str) -> str:
    """A field validator for text a shell or SQL parser reads: data must not be spliced
    in; `instead` tells the author how to pass it safely."""
    if has_template(text):
        raise ValueError(f"{field} cannot contain templates ({{{{ … }}}}); {instead}")
    return text


def render(text: str, context: Mapping[str, Any]) -> str:
    """The text with its templates filled; plain text comes back unchanged."""
    if not has_template(text):
        return text
    try:
        value = _compile(text).render(**context)
    except UndefinedError as exc:
        raise TemplateError(f"template {text!r}: {exc.message}") from None
    except SecurityError as exc:
        raise TemplateError(f"template {text!r}: refused by the sandbox ({exc})") from None
    if len(value) > MAX_RENDERED:
        raise TemplateError(f"template {text!r} rendered more than {MAX_RENDERED} characters")
    return value
