"""The engine's alert book on an injected clock: rules in, notifications out.

Timelines read like Alertmanager's acceptance tests: "latency crosses 200 ms at t=0,
warning notified at t=0; crosses 500 ms at t=60, critical notified, warning muted".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opsbook.alerts.matchers import parse_matcher
from opsbook.alerts.model import AlertState
from opsbook.alerts.silences import Silence
from opsbook.config.loader import load_config_text
from opsbook.config.models import Config
from opsbook.engine.book import AlertBook
from opsbook.rules.series import MemorySeries
from opsbook.status import Status

T0 = datetime(2026, 11, 29, 0, 0, tzinfo=UTC)  # a Sunday

CONFIG = """
project: {name: shop}
services:
  - {name: api, depends_on: [database]}
  - {name: database}
checks:
  - {name: api-health, service: api, interval: 10s, http: {url: "http://api/health", timeout: 5s}}
  - {name: pg, service: database, interval: 10s, tcp: {host: db, port: 5432, timeout: 5s}}
rules:
  - name: api-latency
    value: {check: api-health, sample: latency_ms}
    warning: "> 200"
    critical: "> 500"
  - name: api-errors
    value: {check: api-health, sample: status_code}
    critical: ">= 500"
    for: 2m
    keep_firing_for: 1m
  - name: api-down
    value: {consecutive_failures: api-health}
    critical: "> 3"
  - name: database-down
    expr: "last(pg.up)"
    critical: "< 1"
receivers:
  - {name: team, webhook: {url: "http://hooks/team"}}
  - {name: pager, webhook: {url: "http://hooks/pager"}}
route:
  receiver: team
  group_wait: 0s
  group_interval: 1m
  routes:
    - {matchers: ['severity="P1"'], receiver: pager}
maintenance:
  - name: weekly
    services: [database]
    schedule: "0 2 * * 0"
    duration: 2h
"""


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


class Harness:
    def __init__(self, text: str = CONFIG) -> None:
        self.config: Config = load_config_text(text, environ={})
        self.book = AlertBook(
            route=self.config.route,
            default_receiver="team",
            fallback_receiver=None,
            depends_on={s.name: list(s.depends_on) for s in self.config.services},
            windows=self.config.maintenance,
        )
        self.series = MemorySeries()
        self.sent: list[tuple[float, str, str, list[str]]] = []
        self.silences: list[Silence] = []

    def sample(self, seconds: float, check: str, **values: float) -> None:
        for name, value in values.items():
            self.series.add(check, name, at(seconds), value)

    def result(self, seconds: float, check: str, status: Status) -> None:
        self.series.add_result(check, status, at(seconds))

    def tick(self, seconds: float) -> None:
        changes = self.book.evaluate(self.config.rules, self.series, at(seconds), self.silences)
        for n in changes.notifications:
            alerts = sorted(
                f"{a.labels['alertname']}/{a.level.value}:{a.state.value}" for a in n.alerts
            )
            self.sent.append((seconds, n.receiver, n.status, alerts))

    def state(self, alertname: str, level: str = "critical") -> AlertState | None:
        for alert in self.book.alerts.values():
            if alert.labels["alertname"] == alertname and alert.level.value == level:
                return alert.state
        return None


def test_warning_then_critical_pages_once_at_the_worst_level() -> None:
    h = Harness()
    h.sample(0, "api-health", latency_ms=300)
    h.tick(0)
    assert h.sent == [(0, "team", "firing", ["api-latency/warning:firing"])]
    h.sample(60, "api-health", latency_ms=700)
    h.tick(60)
    assert h.sent[-1] == (60, "pager", "firing", ["api-latency/critical:firing"])
    assert h.state("api-latency", "warning") is AlertState.FIRING  # evaluated, visible...
    warning = next(a for a in h.book.alerts.values() if a.level.value == "warning")
    assert "critical level" in h.book.muted[warning.fingerprint]  # ...but muted
    h.sample(120, "api-health", latency_ms=100)
    h.tick(120)
    h.tick(180)
    statuses = {(r, s) for _, r, s, _ in h.sent}
    assert ("pager", "resolved") in statuses and ("team", "resolved") in statuses


def test_for_holds_pending_then_fires_and_hysteresis_delays_resolution() -> None:
    h = Harness()
    for second in range(0, 121, 10):
        h.sample(second, "api-health", status_code=503)
        h.tick(second)
        if second < 120:
            assert h.state("api-errors") is AlertState.PENDING, second
    assert h.state("api-errors") is AlertState.FIRING
    assert h.sent == [(120, "pager", "firing", ["api-errors/critical:firing"])]
    h.sample(130, "api-health", status_code=200)
    h.tick(130)
    h.tick(180)  # 60 s since last true (120): keep_firing_for 1m reached
    assert h.state("api-errors") is AlertState.RESOLVED
    h.tick(190)
    assert h.sent[-1][2:] == ("resolved", ["api-errors/critical:resolved"])


def test_consecutive_failures_more_than_three() -> None:
    # review-engine: automatic rollback trigger "Health check failures > 3"
    h = Harness()
    for i in range(4):
        h.result(i * 10, "api-health", Status.CRITICAL)
        h.tick(i * 10)
    assert h.state("api-down") is AlertState.FIRING
    assert h.sent[-1][3] == ["api-down/critical:firing"]


def test_database_down_inhibits_api_alerts() -> None:
    h = Harness()
    h.sample(0, "pg", up=0)
    h.result(0, "pg", Status.CRITICAL)
    h.sample(0, "api-health", latency_ms=900)
    h.tick(0)
    notified = [a for _, _, _, alerts in h.sent for a in alerts]
    assert notified == ["database-down/critical:firing"]
    assert h.state("api-latency") is AlertState.FIRING  # still evaluated
    reasons = [r for r in h.book.muted.values() if "database is down" in r]
    assert len(reasons) == 2  # api-latency warning and critical


def test_silence_mutes_but_keeps_evaluating_and_unmutes_when_expired() -> None:
    h = Harness()
    h.silences = [
        Silence(
            "s1", (parse_matcher('alertname="api-latency"'),), at(0), at(300), "alice", "deploy"
        )
    ]
    h.sample(0, "api-health", latency_ms=700)
    h.tick(0)
    assert h.sent == []
    assert h.state("api-latency") is AlertState.FIRING
    h.sample(300, "api-health", latency_ms=700)
    h.tick(300)
    assert {r for _, r, _, _ in h.sent} == {"pager"}


def test_recurring_maintenance_window_mutes_only_during_the_window() -> None:
    h = Harness()
    two_am = 2 * 3600
    h.sample(two_am + 60, "pg", up=0)
    h.tick(two_am + 60)
    assert h.sent == []
    alert = next(a for a in h.book.alerts.values() if a.labels["alertname"] == "database-down")
    assert h.book.muted[alert.fingerprint] == "maintenance window weekly"
    h.sample(4 * 3600 + 1, "pg", up=0)
    h.tick(4 * 3600 + 1)
    assert h.sent == [(4 * 3600 + 1, "pager", "firing", ["database-down/critical:firing"])]


def test_flapping_alert_is_notified_once_not_on_every_flip() -> None:
    h = Harness()
    for minute in range(12):
        value = 700 if minute % 2 == 0 else 100
        h.sample(minute * 60, "api-health", latency_ms=value)
        h.tick(minute * 60)
    pager = [s for s in h.sent if s[1] == "pager"]
    # fired at 0, resolved at 1 min (group interval elapsed) ... until 4 flips: flapping
    assert len(pager) <= 4, pager
    critical = next(a for a in h.book.alerts.values() if a.level.value == "critical")
    assert critical.flapping
    sent_before = len(h.sent)
    for minute in range(12, 20):
        value = 700 if minute % 2 == 0 else 100
        h.sample(minute * 60, "api-health", latency_ms=value)
        h.tick(minute * 60)
    assert len([s for s in h.sent[sent_before:] if s[1] == "pager"]) == 0


def test_restart_resumes_pending_timer_from_the_store_state() -> None:
    h = Harness()
    for second in (0, 10, 20):
        h.sample(second, "api-health", status_code=503)
        h.tick(second)
    saved = list(h.book.alerts.values())
    restarted = Harness()
    restarted.book.load(saved, h.book.groups)
    restarted.sample(110, "api-health", status_code=503)
    restarted.tick(110)
    assert restarted.state("api-errors") is AlertState.PENDING
    restarted.sample(120, "api-health", status_code=503)
    restarted.tick(120)
    assert restarted.state("api-errors") is AlertState.FIRING  # 2m after t=0, not after restart
