"""Browser sessions: the cookie, CSRF tokens, safe redirects and the sign-in throttle.

Small pure pieces, each with its unit test; the routes are in `login.py` and the checks
on every request in `auth.py`.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from collections import deque
from collections.abc import Callable, Mapping
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import HTTPConnection, Request

COOKIE = "opsbook_session"
LOGIN_COOKIE = "opsbook_login"  # binds the sign-in form's CSRF token to this browser
LIFETIME = timedelta(hours=12)
LOGIN_FORM_LIFETIME = timedelta(hours=1)
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_LIMIT = 1024 * 1024  # a form body read for its CSRF field is never larger
COOKIE_VALUE = re.compile(r"[A-Za-z0-9_-]{0,200}")


def cookie_header(name: str, value: str, *, secure: bool, max_age: int, path: str = "/") -> str:
    """A Set-Cookie value: HttpOnly (no script reads it), SameSite=Lax (not sent on
    cross-site POSTs), Secure when the page came over https. `max_age` 0 deletes it."""
    if COOKIE_VALUE.fullmatch(value) is None:
        raise ValueError("cookie values here are URL-safe tokens")
    parts = [f"{name}={value}", f"Path={path}", f"Max-Age={max_age}", "HttpOnly", "SameSite=Lax"]
    if max_age <= 0:
        parts.insert(2, "Expires=Thu, 01 Jan 1970 00:00:00 GMT")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def is_https(connection: HTTPConnection) -> bool:
    """Whether the browser reached us over https. Behind a TLS-terminating proxy on the
    same host, uvicorn already takes the scheme from X-Forwarded-Proto."""
    return connection.url.scheme == "https"


def client_ip(connection: HTTPConnection) -> str | None:
    return connection.client.host if connection.client else None


def safe_next(target: str | None, default: str = "/") -> str:
    """`target` if it is a path on this site, else `default`: never another host
    (``//evil.com``, ``https://…``, ``/\\evil.com``, ``javascript:``)."""
    if not target or len(target) > 2000 or not target.startswith("/"):
        return default
    if target.startswith("//") or "\\" in target:
        return default
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def login_csrf(key: bytes, nonce: str) -> str:
    """The sign-in form's CSRF token: an HMAC of the nonce in the browser's login cookie."""
    return hmac.new(key, f"login:{nonce}".encode(), hashlib.sha256).hexdigest()


def same_token(expected: str | None, given: str | None) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def parse_form(body: bytes) -> dict[str, str]:
    """An application/x-www-form-urlencoded body; the first value of a repeated field."""
    form: dict[str, str] = {}
    for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        form.setdefault(key, value)
    return form


def is_form(headers: Mapping[str, str]) -> bool:
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    return media == "application/x-www-form-urlencoded"


async def request_csrf(request: Request) -> str | None:
    """The CSRF token a request carries: the X-CSRF-Token header, else the `csrf` field
    of a URL-encoded form body (read once; the route can still read the body)."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if not is_form(request.headers):
        return None
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > FORM_LIMIT:
        return None
    try:
        body = await request.body()
    except RuntimeError:  # the route's own form parsing consumed the stream: use its result
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    if len(body) > FORM_LIMIT:
        return None
    return parse_form(body).get(CSRF_FIELD)


class LoginThrottle:
    """At most `limit` failed sign-ins per (client address, user name) in `window`
    seconds; the counters live in memory and hold at most `max_keys` pairs (the oldest
    pair is dropped first). `clock` is monotonic seconds."""

    def __init__(
        self,
        clock: Callable[[], float],
        limit: int = 5,
        window: float = 300.0,
        max_keys: int = 10_000,
    ) -> None:
        self._clock = clock
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._failures: dict[tuple[str, str], deque[float]] = {}

    @staticmethod
    def key(ip: str | None, name: str) -> tuple[str, str]:
        return (ip or "-", name.strip().casefold()[:100])

    def retry_after(self, key: tuple[str, str]) -> int | None:
        """Seconds until `key` may try again, or None when it may now."""
        times = self._recent(key)
        if times is None or len(times) < self.limit:
            return None
        return max(1, math.ceil(times[0] + self.window - self._clock()))

    def failed(self, key: tuple[str, str]) -> None:
        times = self._recent(key)
        if times is None:
            if len(self._failures) >= self.max_keys:
                self._evict()
            times = self._failures[key] = deque(maxlen=self.limit)
        times.append(self._clock())

    def succeeded(self, key: tuple[str, str]) -> None:
        self._failures.pop(key, None)

    def __len__(self) -> int:
        return len(self._failures)

    def _recent(self, key: tuple[str, str]) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        horizon = self._clock() - self.window
        while times and times[0] <= horizon:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def _evict(self) -> None:
        horizon = self._clock() - self.window
        for key in [k for k, times in self._failures.items() if times[-1] <= horizon]:
            del self._failures[key]
        while len(self._failures) >= self.max_keys:
            del self._failures[next(iter(self._failures))]
