"""The pure pieces of browser sessions: cookies, redirects, CSRF tokens, the throttle."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsbook.web.sessions import (
    COOKIE,
    LoginThrottle,
    cookie_header,
    login_csrf,
    parse_form,
    safe_next,
    same_token,
)


def attributes(header: str) -> tuple[str, set[str]]:
    first, *rest = header.split("; ")
    return first, set(rest)


def test_session_cookie_is_httponly_lax_and_scoped_to_the_site() -> None:
    first, attrs = attributes(cookie_header(COOKIE, "abc_DEF-1", secure=False, max_age=43200))
    assert first == "opsbook_session=abc_DEF-1"
    assert attrs == {"Path=/", "Max-Age=43200", "HttpOnly", "SameSite=Lax"}


def test_session_cookie_is_secure_over_https() -> None:
    _, attrs = attributes(cookie_header(COOKIE, "abc", secure=True, max_age=60))
    assert "Secure" in attrs and "HttpOnly" in attrs and "SameSite=Lax" in attrs


def test_deleting_a_cookie_expires_it() -> None:
    first, attrs = attributes(cookie_header(COOKIE, "", secure=False, max_age=0, path="/login"))
    assert first == "opsbook_session="
    assert {"Max-Age=0", "Path=/login", "Expires=Thu, 01 Jan 1970 00:00:00 GMT"} <= attrs


@pytest.mark.parametrize("value", ["a;b", "a b", "a\r\nSet-Cookie: x=y", "é"])
def test_cookie_values_cannot_inject_attributes(value: str) -> None:
    with pytest.raises(ValueError):
        cookie_header(COOKIE, value, secure=False, max_age=1)


@pytest.mark.parametrize(
    "target",
    ["/", "/incidents/4", "/incidents?status=open&x=1", "/a/b#frag", "/%2F%2Fevil.com"],
)
def test_local_paths_are_kept(target: str) -> None:
    assert safe_next(target) == target


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "//evil.com",
        "//evil.com/path",
        "https://evil.com",
        "http://evil.com/",
        "\\\\evil.com",
        "/\\evil.com",
        "\\/evil.com",
        "javascript:alert(1)",
        "evil.com",
        "/\t/evil.com",
        "/\n/evil.com",
        "///evil.com",
        "/" + "a" * 2001,
    ],
)
def test_other_targets_fall_back_to_the_default(target: str | None) -> None:
    assert safe_next(target) == "/"
    assert safe_next(target, "/incidents") == "/incidents"


@given(st.text(max_size=60))
def test_a_kept_target_never_names_another_host(target: str) -> None:
    kept = safe_next(target)
    assert kept == "/" or kept == target
    assert kept.startswith("/") and not kept.startswith("//") and "\\" not in kept


def test_login_csrf_depends_on_key_and_nonce() -> None:
    token = login_csrf(b"k" * 32, "nonce")
    assert token == login_csrf(b"k" * 32, "nonce")
    assert token != login_csrf(b"k" * 32, "other")
    assert token != login_csrf(b"j" * 32, "nonce")


def test_same_token_refuses_missing_values() -> None:
    assert same_token("abc", "abc")
    assert not same_token("abc", "abd")
    assert not same_token("abc", None)
    assert not same_token(None, None)
    assert not same_token("", "")


def test_parse_form_keeps_the_first_of_repeated_fields() -> None:
    form = parse_form(b"name=al%20ice&csrf=one&csrf=two&empty=")
    assert form == {"name": "al ice", "csrf": "one", "empty": ""}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_five_failures_in_five_minutes_lock_the_pair() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock)
    key = throttle.key("10.0.0.1", "alice")
    for _ in range(4):
        throttle.failed(key)
        clock.now += 10
        assert throttle.retry_after(key) is None
    throttle.failed(key)  # t=1040: the fifth failure; the first was at t=1000
    assert throttle.retry_after(key) == 260
    assert throttle.retry_after(throttle.key("10.0.0.2", "alice")) is None
    assert throttle.retry_after(throttle.key("10.0.0.1", "bob")) is None
    assert throttle.retry_after(throttle.key("10.0.0.1", " ALICE ")) == 260  # same name
    clock.now = 1300.0  # the first failure has left the window
    assert throttle.retry_after(key) is None


def test_success_clears_the_failures() -> None:
    throttle = LoginThrottle(Clock(), limit=2)
    key = throttle.key(None, "alice")
    throttle.failed(key)
    throttle.succeeded(key)
    throttle.failed(key)
    assert throttle.retry_after(key) is None


def test_the_counters_stay_bounded() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock, max_keys=100)
    for n in range(1000):
        throttle.failed(throttle.key(f"10.0.{n // 250}.{n % 250}", "alice"))
        clock.now += 0.01
    assert len(throttle) <= 100
    newest = throttle.key("10.0.3.249", "alice")
    throttle.failed(newest)
    assert newest in throttle._failures  # the oldest pairs were dropped, not the newest


def test_expired_pairs_are_forgotten_first() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock, max_keys=2)
    old = throttle.key("1.1.1.1", "a")
    throttle.failed(old)
    clock.now += 400
    recent = throttle.key("2.2.2.2", "b")
    throttle.failed(recent)
    throttle.failed(throttle.key("3.3.3.3", "c"))
    assert len(throttle) == 2 and old not in throttle._failures
