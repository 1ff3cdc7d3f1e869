"""The http step's config and the request a dry run shows."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import ValidationError

from opsbook.playbooks.steps import http
from tests.unit.playbooks.steps.stepctx import config, context, describe, spec

HEALTH = "https://api.guesslyfe.com/api/v1/health"


def error(block: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        spec("http", block)
    return str(caught.value)


def test_defaults_get_and_any_2xx() -> None:
    parsed = spec("http", {"url": HEALTH})
    assert isinstance(parsed, http.HttpStepConfig)
    assert parsed.method == "GET"
    assert parsed.expect.status == ((200, 299),)


def test_scheme_and_host_must_be_written_out() -> None:
    assert "with a fixed host" in error({"url": "api.guesslyfe.com/health"})
    assert "with a fixed host" in error({"url": "{{ params.base }}/api/v1/health"})
    assert "with a fixed host" in error({"url": "https://{{ params.host }}/api/v1/health"})
    assert "with a fixed host" in error({"url": "https://api{{ params.env }}.guesslyfe.com/"})
    spec("http", {"url": "https://api.guesslyfe.com/api/v1/users/{{ params.user }}?x={{ vars.y }}"})


def test_bad_input_is_refused_with_the_reason() -> None:
    assert "either json or body" in error({"url": HEALTH, "json": {"a": 1}, "body": "a=1"})
    assert "line break or NUL" in error({"url": HEALTH, "headers": {"X-A": "a\r\nX-B: b"}})
    assert "expected status codes like" in error({"url": HEALTH, "expect": {"status": "abc"}})
    assert "invalid JSON path" in error({"url": HEALTH, "expect": {"json": ["$[[[ == 1"]}})
    assert "unexpected end of template" in error({"url": HEALTH, "json": {"v": "{{ params.v"}})
    assert "Input should be 'GET'" in error({"url": HEALTH, "method": "FETCH"})
    assert "Extra inputs are not permitted" in error({"url": HEALTH, "expect_status": 200})


def test_describe_shows_the_request_as_sent_with_credentials_masked() -> None:
    cfg = config(environ={})
    ctx = context(cfg, params={"revision": "guesslyfe-backend-00042-abc", "who": "alice"})
    block = {
        "method": "POST",
        "url": "https://deploy.example.com/services/guesslyfe-backend/traffic?by={{ params.who }}",
        "headers": {"Authorization": "Bearer abc123def456", "X-Reason": "rollback"},
        "json": {"revisions": {"{{ params.revision }}": 100},
                 "to": "{{ params.revision }}", "percent": 100},
    }  # fmt: skip
    assert describe("http", block, ctx) == (
        "POST https://deploy.example.com/services/guesslyfe-backend/traffic?by=alice\n"
        "Authorization: ***\n"
        "X-Reason: rollback\n"
        "\n"
        '{"revisions": {"guesslyfe-backend-00042-abc": 100}, '
        '"to": "guesslyfe-backend-00042-abc", "percent": 100}'
    )


def test_describe_of_a_plain_health_check() -> None:
    assert describe("http", {"url": HEALTH}) == f"GET {HEALTH}"


def test_describe_masks_secrets_from_the_environment() -> None:
    cfg = config(
        """
        playbooks:
          - name: page
            steps:
              - name: status
                http:
                  method: POST
                  url: https://status.example.com/update
                  headers: {X-Token: "${ENV:STATUS_TOKEN}"}
                  body: "Experiencing slow performance. Team investigating."
        """,
        environ={"STATUS_TOKEN": "st-0123456789"},
    )
    step = cfg.playbooks[0].steps[0]
    assert step.kind_info.describe(step.spec, context(cfg)) == (
        "POST https://status.example.com/update\nX-Token: ***\n\n"
        "Experiencing slow performance. Team investigating."
    )


def test_a_value_that_breaks_the_url_or_a_header_is_refused_at_render() -> None:
    ctx = context(params={"v": "a\r\nInjected: yes"})
    with pytest.raises(ValueError, match="line break or NUL"):
        describe("http", {"url": HEALTH, "headers": {"X-V": "{{ params.v }}"}}, ctx)


def test_values_in_a_url_are_percent_encoded_whole() -> None:
    ctx = context(params={"v": "a\r\nInjected: yes&admin=1", "user": "../../admin/x y"})
    url = "https://api.guesslyfe.com/api/v1/users/{{ params.user }}?v={{ params.v }}"
    assert describe("http", {"url": url}, ctx) == (
        "GET https://api.guesslyfe.com/api/v1/users/..%2F..%2Fadmin%2Fx%20y"
        "?v=a%0D%0AInjected%3A%20yes%26admin%3D1"
    )


def test_a_value_that_would_climb_the_path_is_refused() -> None:
    for value in ("..", "."):
        ctx = context(params={"user": value})
        url = "https://api.guesslyfe.com/api/v1/users/{{ params.user }}/sessions"
        with pytest.raises(ValueError, match=r"has a \. or \.\. path segment"):
            describe("http", {"url": url}, ctx)


@given(st.text(max_size=40))
def test_any_value_stays_one_path_segment(value: str) -> None:
    assume(value not in (".", ".."))
    ctx = context(params={"user": value})
    url = "https://api.guesslyfe.com/api/v1/users/{{ params.user }}/sessions?v={{ params.user }}"
    parts = urlsplit(describe("http", {"url": url}, ctx).removeprefix("GET "))
    segments = parts.path.split("/")
    assert segments[:4] == ["", "api", "v1", "users"] and segments[5:] == ["sessions"]
    assert unquote(segments[4]) == value
    assert unquote(parts.query) == f"v={value}"
