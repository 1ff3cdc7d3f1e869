"""The `integrations:` entries of opsbook.yaml: named inbound endpoints, each with its
own token, so a leaked Prometheus token can be rotated without touching the scripts
that send generic events, and so every inbound alert says where it came from.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection, Iterable, Mapping, Sequence
from enum import StrEnum

from pydantic import Field, SecretStr, field_validator

from opsbook.config.base import Name, Section
from opsbook.inbound.limits import InboundError

MIN_TOKEN_LENGTH = 16
WWW_AUTHENTICATE = 'Bearer realm="opsbook"'
"""The header value a 401 answer carries (RFC 6750)."""


class IntegrationKind(StrEnum):
    ALERTMANAGER = "alertmanager"
    EVENTS = "events"


class Integration(Section):
    name: Name = Field(description="Part of the URL: /api/v1/inbound/<kind>/<name>.")
    kind: IntegrationKind = Field(
        description="alertmanager: Alertmanager webhook (version 4); events: "
        "trigger/acknowledge/resolve events, PagerDuty Events API v2 compatible."
    )
    token: SecretStr = Field(
        description="Shared secret, sent as 'Authorization: Bearer <token>', as ?token=, or "
        "(events) as the body's routing_key. Use ${ENV:NAME}; at least 16 characters."
    )
    service: Name | None = Field(
        default=None, description="The service label of alerts that do not carry one."
    )
    severity: Name = Field(
        description="The opsbook severity of alerts whose severity is missing or unmapped."
    )
    severity_map: dict[str, Name] = Field(
        default_factory=dict,
        description="Sender severity -> opsbook severity, e.g. {critical: P1, warning: P3}.",
    )
    description: str = ""

    @field_validator("token")
    @classmethod
    def _long_token(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if len(secret) < MIN_TOKEN_LENGTH:
            raise ValueError(
                f"token must be at least {MIN_TOKEN_LENGTH} characters, got {len(secret)}; "
                "generate one with: openssl rand -hex 24"
            )
        if secret != secret.strip() or any(ord(c) < 0x21 or ord(c) > 0x7E for c in secret):
            raise ValueError("token must be printable ASCII without spaces")
        return value

    @field_validator("severity_map")
    @classmethod
    def _sender_names(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not key or len(key) > 100:
                raise ValueError("severity_map keys must be 1 to 100 characters")
        return value

    def map_severity(self, sent: str | None, known: Collection[str] = ()) -> str:
        """The opsbook severity for what the sender called it.

        Mapped names win; a value that already is an opsbook severity (in `known`, or a
        target of the map) passes through, so opsbook's own webhook payloads round-trip;
        anything else, or nothing, gets the integration's default.
        """
        if not sent:
            return self.severity
        if sent in self.severity_map:
            return self.severity_map[sent]
        if sent in known or sent in self.severity_map.values() or sent == self.severity:
            return sent
        return self.severity

    def secrets(self) -> Iterable[str]:
        yield self.token.get_secret_value()


def integration_secrets(integrations: Sequence[Integration]) -> list[str]:
    """Every token, for the redactor (tokens written literally in the file included)."""
    return [secret for integration in integrations for secret in integration.secrets()]


def authenticate(
    integrations: Sequence[Integration],
    name: str,
    headers: Mapping[str, str],
    query: Mapping[str, str],
    *,
    kind: IntegrationKind | None = None,
    routing_key: str | None = None,
) -> Integration:
    """The integration `name` if the request proves it knows the token.

    Credentials may come as a Bearer token, a ``token`` query parameter, or (events)
    the body's ``routing_key``; every one given must match. 404: no such integration
    (or not of `kind`); 401: no usable credential; 403: a wrong one.
    """
    integration = next((i for i in integrations if i.name == name), None)
    if integration is None:
        raise InboundError(404, f"no integration named {_shown(name)!r}")
    if kind is not None and integration.kind is not kind:
        raise InboundError(
            404,
            f"integration {name!r} is of kind {integration.kind.value}; "
            f"POST to /api/v1/inbound/{integration.kind.value}/{name}",
        )
    given = _credentials(headers, query, routing_key)
    if not given:
        raise InboundError(
            401, "missing token: send 'Authorization: Bearer <token>' or ?token=<token>"
        )
    expected = _digest(integration.token.get_secret_value())
    # Every credential is compared, so timing does not reveal which of them was wrong.
    matches = [hmac.compare_digest(_digest(g), expected) for g in given]
    if not all(matches):
        raise InboundError(403, f"invalid token for integration {name!r}")
    return integration


def _credentials(
    headers: Mapping[str, str], query: Mapping[str, str], routing_key: str | None
) -> list[str]:
    given: list[str] = []
    authorization = next(
        (value for key, value in headers.items() if key.lower() == "authorization"), None
    )
    if authorization is not None and authorization.strip():
        scheme, _, credential = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            raise InboundError(
                401, f"unsupported authorization scheme {_shown(scheme)!r}; use Bearer"
            )
        given.append(credential.strip())
    if query.get("token"):
        given.append(query["token"])
    if routing_key:
        given.append(routing_key)
    return given


def _digest(value: str) -> bytes:
    """Hashing first makes the comparison independent of the guess's length too."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


def _shown(text: str) -> str:
    clean = "".join(c if c.isprintable() else "?" for c in text)
    return clean if len(clean) <= 40 else clean[:40] + "..."
