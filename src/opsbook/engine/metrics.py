"""The engine's own Prometheus metrics, exposed at /metrics.

A registry per engine (not the process-global default) keeps tests and several engines in
one process independent.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Probe durations from sub-millisecond (local TCP) to the longest sensible timeout.
_DURATION_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# Scheduler lateness: how late a probe starts after its due time.
_LATENESS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1, 5)


class EngineMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.checks_run = Counter(
            "opsbook_checks_run",
            "Check runs by kind and resulting status.",
            ["kind", "status"],
            registry=self.registry,
        )
        self.check_duration = Histogram(
            "opsbook_check_duration_seconds",
            "Time a probe took, by kind.",
            ["kind"],
            buckets=_DURATION_BUCKETS,
            registry=self.registry,
        )
        self.scheduler_lateness = Histogram(
            "opsbook_scheduler_lateness_seconds",
            "How late a check started after its scheduled time.",
            buckets=_LATENESS_BUCKETS,
            registry=self.registry,
        )
        self.skipped_runs = Counter(
            "opsbook_check_runs_skipped",
            "Runs skipped because the previous run of the same check was still going.",
            registry=self.registry,
        )
        self.alerts_firing = Gauge(
            "opsbook_alerts_firing",
            "Firing alerts by severity (muted ones included).",
            ["severity"],
            registry=self.registry,
        )
        self.notifications = Counter(
            "opsbook_notifications",
            "Notification delivery attempts by receiver and outcome.",
            ["receiver", "outcome"],
            registry=self.registry,
        )
        self.outbox_depth = Gauge(
            "opsbook_outbox_depth",
            "Notifications waiting to be delivered (pending or being sent).",
            registry=self.registry,
        )
        self.rule_evaluation = Histogram(
            "opsbook_rule_evaluation_seconds",
            "Time to evaluate rules and plan notifications in one pass.",
            buckets=_LATENESS_BUCKETS,
            registry=self.registry,
        )
        self.results_written = Counter(
            "opsbook_results_written",
            "Check results written to the store.",
            registry=self.registry,
        )
