"""docs/inbound.md stays true: its config validates, its samples are accepted by the
parsers, its limits are the code's; and the package's public API is exactly `__all__`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import opsbook.inbound as inbound
from opsbook.config.loader import load_config_text
from opsbook.config.models import Config
from opsbook.inbound import (
    IntegrationKind,
    authenticate,
    events,
    find_heartbeat,
    limits,
    parse_event,
    parse_ping,
    response_body,
)

from .inboundutil import T0

DOC = (Path(__file__).parents[3] / "docs" / "inbound.md").read_text()
ENV = {
    "OPSBOOK_AM_TOKEN": "am-token-0123456789abcdef",
    "OPSBOOK_EVENTS_TOKEN": "events-token-0123456789abcdef",
}


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC, re.DOTALL)


def config() -> Config:
    [example] = [b for b in blocks("yaml") if b.startswith("project:")]
    return load_config_text(example, environ=ENV)


def test_the_example_validates() -> None:
    loaded = config()
    assert [(i.name, i.kind) for i in loaded.integrations] == [
        ("prometheus", IntegrationKind.ALERTMANAGER),
        ("backup-scripts", IntegrationKind.EVENTS),
    ]
    assert [h.name for h in loaded.heartbeats] == ["nightly-backup", "memoapp-backup"]


def test_the_alertmanager_snippet_points_at_the_integration() -> None:
    [snippet] = [b for b in blocks("yaml") if "webhook_configs" in b]
    url = re.search(r"url: (\S+)", snippet)
    assert url is not None
    kind, name = url.group(1).rsplit("/", 2)[-2:]
    found = authenticate(
        config().integrations,
        name,
        {"Authorization": f"Bearer {ENV['OPSBOOK_AM_TOKEN']}"},
        {},
        kind=IntegrationKind(kind),
    )
    assert found.name == "prometheus"
    assert "type: Bearer" in snippet and "credentials:" in snippet


def test_the_curl_event_is_accepted_and_answered_as_shown() -> None:
    trigger = blocks("bash")[0]
    body = re.search(r"-d '(.*?)'\n", trigger, re.DOTALL)
    assert body is not None
    integration = next(i for i in config().integrations if i.name == "backup-scripts")
    event = parse_event(body.group(1).encode(), "application/json", integration, T0)
    assert event.alert is not None and event.alert.labels["severity"] == "P2"
    [answer] = blocks("json")
    assert json.loads(answer) == response_body(event)


def test_the_ping_urls_in_the_doc_work() -> None:
    heartbeats = config().heartbeats
    suffixes = re.findall(r"/ping/([0-9a-f-]{36}(?:/start|/fail|/\$\?)?)", DOC)
    assert len(suffixes) >= 6
    for suffix in suffixes:
        ping = parse_ping(suffix.replace("$?", "1"))
        find_heartbeat(heartbeats, ping.id)


def test_the_limits_table_is_the_codes() -> None:
    table = DOC.split("## Limits", 1)[1].split("## Status codes", 1)[0]
    for value in (
        f"{limits.MAX_BODY // 1024} KiB ({limits.MAX_BODY} bytes)",
        f"{limits.MAX_JSON_DEPTH} levels",
        f"| {limits.MAX_NUMBER_DIGITS} |",
        f"{limits.MAX_ALERTS} (set `max_alerts: {limits.MAX_ALERTS}`",
        f"| {limits.MAX_LABELS} sent",
        f"at most {limits.MAX_LABEL_NAME} characters",
        f"at most {limits.MAX_LABEL_VALUE} characters",
        f"at most {limits.MAX_ANNOTATION // 1024} KiB",
        f"{limits.MAX_DETAILS_DEPTH} levels, {limits.MAX_DETAILS_KEYS} keys",
        f"from {limits.MIN_TIME.year} to {limits.MAX_TIME.year - 1}",
    ):
        assert value in table, value
    assert f"Up to {events.MAX_LINKS} each" in DOC
    assert f"1 to {events.MAX_DEDUP_KEY} characters" in DOC


def test_every_status_is_explained() -> None:
    table = DOC.split("## Status codes", 1)[1]
    for status in (202, 400, 401, 403, 404, 410, 413, 415, 422):
        assert f"| {status} |" in table


def test_public_api_is_all() -> None:
    modules = {"alertmanager", "events", "heartbeats", "integrations", "limits", "signing"}
    public = {n for n in vars(inbound) if not n.startswith("_")} - modules
    assert public == set(inbound.__all__)
    assert sorted(inbound.__all__) == sorted(set(inbound.__all__))
