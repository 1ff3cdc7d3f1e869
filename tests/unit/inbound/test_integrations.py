"""The `integrations:` config and who may post to an integration."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from opsbook.config.loader import load_config_text
from opsbook.errors import ConfigError
from opsbook.inbound import (
    WWW_AUTHENTICATE,
    InboundError,
    Integration,
    IntegrationKind,
    authenticate,
    integration_secrets,
)

from .inboundutil import PROMETHEUS, SCRIPTS, TOKEN

BOTH = [PROMETHEUS, SCRIPTS]
CONFIG = """
project: {name: practice-app}
integrations:
  - name: prometheus
    kind: alertmanager
    token: ${ENV:OPSBOOK_AM_TOKEN}
    service: api
    severity: P1
    severity_map: {critical: P1, warning: P3, info: P4, error: P2}
"""


def refused(status: int, *args: object, **kwargs: object) -> str:
    with pytest.raises(InboundError) as caught:
        authenticate(*args, **kwargs)  # type: ignore[arg-type]
    assert caught.value.status == status
    return caught.value.message


def test_the_config_loads_and_the_token_is_redacted() -> None:
    config = load_config_text(CONFIG, environ={"OPSBOOK_AM_TOKEN": TOKEN})
    [integration] = config.integrations
    assert integration.kind is IntegrationKind.ALERTMANAGER
    assert integration.token.get_secret_value() == TOKEN
    assert TOKEN not in repr(integration)
    assert config.redactor(f"Authorization: Bearer {TOKEN}") == "Authorization: Bearer ***"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("token: short-token", "at least 16 characters"),
        ("token: 'has spaces in the token'", "printable ASCII"),
        ("kind: pagerduty", "alertmanager"),
        ("name: 'bad name'", "name"),
        ("severity_map: {critical: 'not a name!'}", "severity_map"),
        ("extra_key: 1", "extra_key"),
    ],
)
def test_config_errors(change: str, message: str) -> None:
    key = change.split(":")[0]
    lines = [line for line in CONFIG.splitlines() if not line.strip().startswith(f"{key}:")]
    text = "\n".join([*lines, f"    {change}"])
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, environ={"OPSBOOK_AM_TOKEN": TOKEN})
    assert message in str(caught.value)


def test_severity_is_required() -> None:
    with pytest.raises(ValidationError, match="severity"):
        Integration(name="x", kind=IntegrationKind.EVENTS, token="t" * 16)  # type: ignore[call-arg]


def test_integration_secrets_lists_every_token() -> None:
    assert integration_secrets(BOTH) == [TOKEN, SCRIPTS.token.get_secret_value()]


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {TOKEN}"},
        {"authorization": f"bearer {TOKEN}"},
        {"AUTHORIZATION": f"  Bearer   {TOKEN}  "},
    ],
)
def test_bearer_token(headers: dict[str, str]) -> None:
    assert authenticate(BOTH, "prometheus", headers, {}) is PROMETHEUS


def test_query_token() -> None:
    assert authenticate(BOTH, "prometheus", {}, {"token": TOKEN}) is PROMETHEUS


def test_header_and_query_must_both_be_right() -> None:
    both = {"Authorization": f"Bearer {TOKEN}"}
    assert authenticate(BOTH, "prometheus", both, {"token": TOKEN}) is PROMETHEUS
    refused(403, BOTH, "prometheus", both, {"token": "wrong-token-0123456789"})


def test_unknown_integration_is_404() -> None:
    message = refused(404, BOTH, "grafana", {"Authorization": f"Bearer {TOKEN}"}, {})
    assert "no integration named 'grafana'" in message


def test_hostile_names_are_not_echoed_raw() -> None:
    message = refused(404, BOTH, "x\n\x1b[31m" + "y" * 500, {}, {})
    assert "\n" not in message and "\x1b" not in message and len(message) < 100


def test_wrong_kind_is_404_with_the_right_url() -> None:
    message = refused(404, BOTH, "prometheus", {}, {}, kind=IntegrationKind.EVENTS)
    assert "/api/v1/inbound/alertmanager/prometheus" in message
    assert authenticate(BOTH, "prometheus", {}, {"token": TOKEN}, kind=IntegrationKind.ALERTMANAGER)


def test_no_credentials_is_401() -> None:
    assert "Bearer" in refused(401, BOTH, "prometheus", {}, {})
    refused(401, BOTH, "prometheus", {"Authorization": ""}, {"token": ""})
    assert WWW_AUTHENTICATE.startswith("Bearer ")


def test_other_schemes_are_401() -> None:
    message = refused(401, BOTH, "prometheus", {"Authorization": "Basic dXNlcjpwYXNz"}, {})
    assert "'Basic'" in message
    refused(401, BOTH, "prometheus", {"Authorization": "Bearer"}, {})


def test_wrong_token_is_403() -> None:
    refused(403, BOTH, "prometheus", {"Authorization": "Bearer " + TOKEN[:-1]}, {})
    refused(403, BOTH, "prometheus", {"Authorization": "Bearer " + TOKEN + "x"}, {})
    refused(
        403, BOTH, "prometheus", {"Authorization": "Bearer " + SCRIPTS.token.get_secret_value()}, {}
    )
    refused(403, BOTH, "prometheus", {}, {"token": "\ud800 not even encodable"})


def test_the_token_never_appears_in_errors() -> None:
    message = refused(403, BOTH, "prometheus", {}, {"token": TOKEN[:-1]})
    assert TOKEN[:-1] not in message


@pytest.mark.parametrize(
    ("sent", "known", "expected"),
    [
        ("critical", (), "P1"),
        ("warning", (), "P3"),
        (None, (), "P2"),
        ("", (), "P2"),
        ("P4", (), "P4"),  # a target of the map
        ("P0", (), "P2"),  # unknown without the configured names
        ("P0", ("P0", "P1"), "P0"),
        ("disaster", ("P0",), "P2"),
    ],
)
def test_map_severity(sent: str | None, known: tuple[str, ...], expected: str) -> None:
    assert PROMETHEUS.map_severity(sent, known) == expected
