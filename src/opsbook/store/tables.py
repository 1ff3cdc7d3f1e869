"""Table definitions (SQLAlchemy Core). Alembic migrations create and evolve them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
)

# Naming convention so Alembic autogenerate and hand-written migrations agree on names.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite has no BIGINT autoincrement; INTEGER PRIMARY KEY is its 64-bit rowid.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: identical behaviour on SQLite and PostgreSQL."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stamp = datetime.fromisoformat(value) if isinstance(value, str) else value
        assert isinstance(stamp, datetime)
        return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


check_results = Table(
    "check_results",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("check_name", String(100), nullable=False),
    Column("service", String(100), nullable=True),
    Column("status", SmallInteger, nullable=False),
    Column("message", Text, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("duration_ms", Float, nullable=False),
    Index(None, "check_name", "started_at"),
    Index(None, "started_at"),
)

samples = Table(
    "samples",
    metadata,
    Column(
        "result_id",
        Id,
        ForeignKey("check_results.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("name", String(100), primary_key=True),
    Column("check_name", String(100), nullable=False),
    Column("ts", UTCDateTime, nullable=False),
    Column("value", Float, nullable=False),
    Index(None, "check_name", "name", "ts"),
)

probe_state = Table(
    "probe_state",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# The notification outbox: a row is written in the same transaction as the alert state
# that caused it, then claimed by a delivery worker (conditional UPDATE; FOR UPDATE SKIP
# LOCKED on PostgreSQL). Status: pending -> sending -> delivered | failed | skipped.
notifications = Table(
    "notifications",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(500), nullable=False, unique=True),
    Column("receiver", String(100), nullable=False),
    Column("group_key", String(500), nullable=False),  # delivered in order within a group
    Column("kind", String(30), nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claimed_by", String(200), nullable=True),
    Column("claimed_at", UTCDateTime, nullable=True),
    Column("claim_expires_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Index(None, "status", "next_attempt_at"),
    Index(None, "receiver", "status"),
    Index(None, "receiver", "group_key", "id"),
)

notification_attempts = Table(
    "notification_attempts",
    metadata,
    Column(
        "notification_id",
        Id,
        ForeignKey("notifications.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("attempt", Integer, primary_key=True),
    Column("receiver", String(100), nullable=False),
    Column("worker", String(200), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("duration_ms", Float, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("error", Text, nullable=True),
    Index(None, "receiver", "started_at"),
)

# Alert state, one row per fingerprint: written with the outbox rows it causes, so a
# restart resumes pending timers and never re-notifies. Labels and flips are JSON text.
alerts = Table(
    "alerts",
    metadata,
    Column("fingerprint", String(32), primary_key=True),
    Column("rule", String(100), nullable=False),
    Column("level", String(10), nullable=False),
    Column("state", String(10), nullable=False),
    Column("labels", Text, nullable=False),
    Column("annotations", Text, nullable=False),
    Column("active_since", UTCDateTime, nullable=True),
    Column("fired_at", UTCDateTime, nullable=True),
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("last_true_at", UTCDateTime, nullable=True),
    Column("value", Float, nullable=True),
    Column("fired_value", Float, nullable=True),
    Column("flips", Text, nullable=False),
    Column("flapping", Boolean, nullable=False),
    Column("muted", Text, nullable=True),
    Column("updated_at", UTCDateTime, nullable=True),
    Index(None, "state"),
)

# Every transition an alert made (pending, firing, resolved, ...): the history behind
# `opsbook alerts --history` and, later, incident timelines.
alert_events = Table(
    "alert_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("fingerprint", String(32), nullable=False),
    Column("rule", String(100), nullable=False),
    Column("event", String(20), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("value", Float, nullable=True),
    Column("labels", Text, nullable=False),
    Index(None, "fingerprint", "at"),
    Index(None, "at"),
)

silences = Table(
    "silences",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("matchers", Text, nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("comment", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "ends_at"),
)

# Notification groups (Alertmanager's aggregation groups): what each group last sent.
notification_groups = Table(
    "notification_groups",
    metadata,
    Column("key", String(500), primary_key=True),
    Column("route_id", String(200), nullable=False),
    Column("receiver", String(100), nullable=False),
    Column("labels", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_sent_at", UTCDateTime, nullable=True),
    Column("sent_firing", Text, nullable=False),
    Column("sent_flapping", Text, nullable=False),
    Column("seq", Integer, nullable=False),
)

# Roll-ups of samples per minute (resolution 60) and per hour (3600): enough to answer
# avg/min/max/sum/count exactly and percentiles approximately (log-bucket histogram).
sample_rollups = Table(
    "sample_rollups",
    metadata,
    Column("check_name", String(100), primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("resolution", Integer, primary_key=True),
    Column("bucket", UTCDateTime, primary_key=True),
    Column("count", Integer, nullable=False),
    Column("sum", Float, nullable=False),
    Column("min", Float, nullable=False),
    Column("max", Float, nullable=False),
    Column("histogram", Text, nullable=False),
    Index(None, "resolution", "bucket"),
)

# Incidents: state lives only here (no engine cache), so the CLI, the API and every engine
# node see one truth. `open_key` is the group key of the alerts that opened an incident; it
# is unique while the incident is open (cleared on resolve), which is what stops two nodes,
# or a restarted engine, from opening a second incident for the same alerts.
incidents = Table(
    "incidents",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("title", Text, nullable=False),
    Column("severity", String(100), nullable=False),
    Column("status", String(20), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("detected_at", UTCDateTime, nullable=True),
    Column("acknowledged_at", UTCDateTime, nullable=True),
    Column("acknowledged_by", String(200), nullable=True),
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("services", Text, nullable=False),
    Column("roles", Text, nullable=False),
    Column("impact", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("open_key", String(500), nullable=True, unique=True),
    Column("deploys", Text, nullable=False),
    Column("escalation_policy", String(100), nullable=True),
    Column("escalation_round", Integer, nullable=False),
    Column("escalation_level", Integer, nullable=False),
    Column("next_escalation_at", UTCDateTime, nullable=True),
    Column("ack_expires_at", UTCDateTime, nullable=True),
    Column("last_update_at", UTCDateTime, nullable=True),
    Column("next_reminder_at", UTCDateTime, nullable=True),
    Column("created_by", String(200), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "status"),
    Index(None, "next_escalation_at"),
    Index(None, "next_reminder_at"),
)

incident_alerts = Table(
    "incident_alerts",
    metadata,
    Column("incident_id", Id, ForeignKey("incidents.id"), primary_key=True),
    Column("fingerprint", String(32), primary_key=True),
    Column("linked_at", UTCDateTime, nullable=False),
    Index(None, "fingerprint"),
)

# The timeline is append-only: rows are inserted, never updated or deleted.
incident_events = Table(
    "incident_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("incident_id", Id, ForeignKey("incidents.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(30), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("text", Text, nullable=False),
    Column("data", Text, nullable=False),
    Column("public", Boolean, nullable=False),
    Index(None, "incident_id", "id"),
)

incident_actions = Table(
    "incident_actions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("incident_id", Id, ForeignKey("incidents.id"), nullable=False),
    Column("text", Text, nullable=False),
    Column("owner", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("done_at", UTCDateTime, nullable=True),
    Index(None, "incident_id"),
)

heartbeat_state = Table(
    "heartbeat_state",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("last_ping_at", UTCDateTime, nullable=True),
    Column("last_start_at", UTCDateTime, nullable=True),
    Column("last_outcome", String(10), nullable=True),
    Column("last_exit_code", Integer, nullable=True),
    Column("last_failure_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),  # monitoring began
    Column("updated_at", UTCDateTime, nullable=False),
)

# Requests and links that must take effect once: inbound requests carrying an
# Idempotency-Key, and signed one-click links (by nonce). A replay finds its row.
used_tokens = Table(
    "used_tokens",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("used_at", UTCDateTime, nullable=False),
    Column("outcome", Text, nullable=False),
)

# Values the store keeps for itself, e.g. the key that signs one-click links (generated
# on first use, so links survive restarts without any configuration).
store_settings = Table(
    "store_settings",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

# API tokens: only a SHA-256 of the secret part is kept (the secret is 32 random bytes,
# so a slow password hash would add nothing); the token is shown once, at creation.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("role", String(20), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
)

# Playbook runs: the audit record (who, when, params, every step's rendered command,
# output, exit code, duration) and the state a resumed run continues from.
playbook_runs = Table(
    "playbook_runs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("playbook", String(100), nullable=False),
    Column("status", String(20), nullable=False),
    Column("params", Text, nullable=False),  # secret parameters masked
    Column("started_by", String(200), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("heartbeat_at", UTCDateTime, nullable=False),
    Column("worker", String(200), nullable=False),  # host:pid of the process running it
    Column("lock_key", String(300), nullable=True),
    Column("incident_id", Id, nullable=True),
    Column("alert", String(32), nullable=True),  # fingerprint of the alert that started it
    Column("parent_id", Id, nullable=True),
    Column("error", Text, nullable=True),
    Index(None, "status"),
    Index(None, "playbook", "started_at"),
)

playbook_steps = Table(
    "playbook_steps",
    metadata,
    Column("run_id", Id, ForeignKey("playbook_runs.id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("rendered", Text, nullable=False),
    Column("output", Text, nullable=False),
    Column("exit_code", Integer, nullable=True),
    Column("vars", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("error", Text, nullable=True),
    Column("confirmed_by", String(200), nullable=True),
)

playbook_approvals = Table(
    "playbook_approvals",
    metadata,
    Column("run_id", Id, ForeignKey("playbook_runs.id"), primary_key=True),
    Column("step", String(100), primary_key=True),
    Column("person", String(200), primary_key=True),
    Column("at", UTCDateTime, nullable=False),
)

# One row per target being worked on: the insert that creates it is the lock (a second
# run on the same target finds the row and refuses to start).
playbook_locks = Table(
    "playbook_locks",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("run_id", Id, nullable=False),
    Column("acquired_at", UTCDateTime, nullable=False),
)

# Local users who sign in to the web dashboard: an argon2id hash of the password, never
# the password; a disabled user keeps its row (the audit log names it) but cannot sign in.
users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled_at", UTCDateTime, nullable=True),
)

# Signed-in browsers: only a SHA-256 of the cookie's 32 random bytes is kept, so a copy of
# the database does not let anyone sign in. The CSRF token is per session.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Index(None, "user_id"),
    Index(None, "expires_at"),
)

# Who did what, from where: sign-ins (and failed ones), user and token changes, and every
# state-changing request to the API and the dashboard. Append-only; detail is JSON text.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(50), nullable=False),
    Column("target", String(500), nullable=False),
    Column("detail", Text, nullable=False),
    Column("ip", String(64), nullable=True),
    Index(None, "at"),
)
