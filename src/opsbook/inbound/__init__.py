"""Inbound: alerts, events and heartbeat pings that other systems send to opsbook.

Pure and I/O-free: the HTTP routes and the store hand these functions bytes, headers
and the current time, and get back typed results or an `InboundError` whose `status`
and `message` are the 4xx answer. Everything that enters here becomes an `Alert` and
joins the pipeline at the alerts stage, like a rule transition.
"""

from opsbook.inbound.alertmanager import GO_ZERO_TIME, AlertmanagerPayload, parse_alertmanager
from opsbook.inbound.events import (
    EventAction,
    EventRequest,
    Image,
    InboundEvent,
    Link,
    build_event,
    parse_event,
    read_event,
    response_body,
)
from opsbook.inbound.heartbeats import (
    Heartbeat,
    HeartbeatState,
    HeartbeatStatus,
    Ping,
    PingKind,
    Verdict,
    apply_ping,
    find_heartbeat,
    heartbeat_alerts,
    judge,
    parse_ping,
)
from opsbook.inbound.integrations import (
    WWW_AUTHENTICATE,
    Integration,
    IntegrationKind,
    authenticate,
    integration_secrets,
)
from opsbook.inbound.limits import MAX_BODY, InboundError, check_content_type, read_json
from opsbook.inbound.signing import LinkClaims, LinkError, LinkFailure, sign, verify

__all__ = [
    "GO_ZERO_TIME",
    "MAX_BODY",
    "WWW_AUTHENTICATE",
    "AlertmanagerPayload",
    "EventAction",
    "EventRequest",
    "Heartbeat",
    "HeartbeatState",
    "HeartbeatStatus",
    "Image",
    "InboundError",
    "InboundEvent",
    "Integration",
    "IntegrationKind",
    "Link",
    "LinkClaims",
    "LinkError",
    "LinkFailure",
    "Ping",
    "PingKind",
    "Verdict",
    "apply_ping",
    "authenticate",
    "build_event",
    "check_content_type",
    "find_heartbeat",
    "heartbeat_alerts",
    "integration_secrets",
    "judge",
    "parse_alertmanager",
    "parse_event",
    "parse_ping",
    "read_event",
    "read_json",
    "response_body",
    "sign",
    "verify",
]
