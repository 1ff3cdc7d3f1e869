"""The caller as routes see it: names in timelines, the CSRF form field."""

from __future__ import annotations

from datetime import UTC, datetime

from opsbook.store.api_tokens import ApiToken, Role
from opsbook.web.auth import Principal, actor, csrf_field


def test_users_and_tokens_are_named_apart_in_timelines() -> None:
    assert actor(Principal("alice", Role.RESPONDER, "user", "t")) == "alice"
    assert actor(Principal("grafana", Role.VIEWER, "token")) == "api:grafana"
    token = ApiToken("0" * 16, "ci-bot", Role.ADMIN, "root", datetime.now(UTC), None, None)
    assert actor(token) == "api:ci-bot"


def test_csrf_field_is_a_hidden_input_with_the_session_token() -> None:
    field = csrf_field(Principal("alice", Role.VIEWER, "user", "tok_en-1"))
    assert str(field) == '<input type="hidden" name="csrf" value="tok_en-1">'
    assert "__html__" in dir(field)  # Jinja2 inserts it as is


def test_csrf_field_escapes_and_tolerates_no_token() -> None:
    odd = csrf_field(Principal("x", Role.VIEWER, "user", '"><script>'))
    assert "<script>" not in str(odd) and "&#34;&gt;&lt;script&gt;" in str(odd)
    assert 'value=""' in str(csrf_field(Principal("bot", Role.VIEWER, "token")))
    assert 'value=""' in str(csrf_field(None))
