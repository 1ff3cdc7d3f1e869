"""Reading the dashboard's form posts and answering them, with or without htmx.

Every form works without JavaScript: a plain POST is answered with a redirect back to
the page (303). With htmx the same POST is answered with the fragment to swap in. The
CSRF field was already checked by `page_user` before the route runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.responses import RedirectResponse

from opsbook.web.sessions import FORM_LIMIT, safe_next


class FormError(ValueError):
    """A form that cannot be read (too large, or not URL-encoded)."""


@dataclass(frozen=True)
class Form:
    """A URL-encoded form: every value of every field, in order."""

    fields: dict[str, list[str]] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        values = self.fields.get(name)
        return values[0] if values else default

    def all(self, name: str) -> list[str]:
        return list(self.fields.get(name, []))

    def checked(self, name: str) -> bool:
        return self.get(name) in ("on", "true", "1", "yes")


async def read_form(request: Request) -> Form:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > FORM_LIMIT:
        raise FormError("the form is too large")
    body = await request.body()  # already read (and kept) by the CSRF check
    if len(body) > FORM_LIMIT:
        raise FormError("the form is too large")
    fields: dict[str, list[str]] = {}
    text = body.decode("utf-8", "replace")
    for key, value in parse_qsl(text, keep_blank_values=True, max_num_fields=1000):
        fields.setdefault(key, []).append(value)
    return Form(fields)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def back_to(target: str, default: str = "/") -> RedirectResponse:
    """303 to a page of this site (never elsewhere, whatever a form said)."""
    return RedirectResponse(safe_next(target, default), status_code=303)
