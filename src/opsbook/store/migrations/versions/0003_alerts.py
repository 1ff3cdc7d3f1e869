"""alerts, alert events, silences, notification groups, sample roll-ups

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsbook.store.tables import Id, UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("labels", sa.Text, nullable=False),
        sa.Column("annotations", sa.Text, nullable=False),
        sa.Column("active_since", UTCDateTime, nullable=True),
        sa.Column("fired_at", UTCDateTime, nullable=True),
        sa.Column("resolved_at", UTCDateTime, nullable=True),
        sa.Column("last_true_at", UTCDateTime, nullable=True),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("fired_value", sa.Float, nullable=True),
        sa.Column("flips", sa.Text, nullable=False),
        sa.Column("flapping", sa.Boolean, nullable=False),
        sa.Column("muted", sa.Text, nullable=True),
        sa.Column("updated_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("fingerprint", name="pk_alerts"),
    )
    op.create_index("ix_alerts_state", "alerts", ["state"])
    op.create_table(
        "alert_events",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("event", sa.String(20), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("labels", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alert_events"),
    )
    op.create_index("ix_alert_events_fingerprint_at", "alert_events", ["fingerprint", "at"])
    op.create_index("ix_alert_events_at", "alert_events", ["at"])
    op.create_table(
        "silences",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("matchers", sa.Text, nullable=False),
        sa.Column("starts_at", UTCDateTime, nullable=False),
        sa.Column("ends_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_silences"),
    )
    op.create_index("ix_silences_ends_at", "silences", ["ends_at"])
    op.create_table(
        "notification_groups",
        sa.Column("key", sa.String(500), nullable=False),
        sa.Column("route_id", sa.String(200), nullable=False),
        sa.Column("receiver", sa.String(100), nullable=False),
        sa.Column("labels", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("last_sent_at", UTCDateTime, nullable=True),
        sa.Column("sent_firing", sa.Text, nullable=False),
        sa.Column("sent_flapping", sa.Text, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_notification_groups"),
    )
    op.create_table(
        "sample_rollups",
        sa.Column("check_name", sa.String(100), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("resolution", sa.Integer, nullable=False),
        sa.Column("bucket", UTCDateTime, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("sum", sa.Float, nullable=False),
        sa.Column("min", sa.Float, nullable=False),
        sa.Column("max", sa.Float, nullable=False),
        sa.Column("histogram", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint(
            "check_name", "name", "resolution", "bucket", name="pk_sample_rollups"
        ),
    )
    op.create_index(
        "ix_sample_rollups_resolution_bucket", "sample_rollups", ["resolution", "bucket"]
    )


def downgrade() -> None:
    op.drop_index("ix_sample_rollups_resolution_bucket", table_name="sample_rollups")
    op.drop_table("sample_rollups")
    op.drop_table("notification_groups")
    op.drop_index("ix_silences_ends_at", table_name="silences")
    op.drop_table("silences")
    op.drop_index("ix_alert_events_at", table_name="alert_events")
    op.drop_index("ix_alert_events_fingerprint_at", table_name="alert_events")
    op.drop_table("alert_events")
    op.drop_index("ix_alerts_state", table_name="alerts")
    op.drop_table("alerts")
