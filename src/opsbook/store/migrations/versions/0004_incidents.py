"""incidents, their alerts, timeline and action items; heartbeat state; tokens

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsbook.store.tables import Id, UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("severity", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("opened_at", UTCDateTime, nullable=False),
        sa.Column("detected_at", UTCDateTime, nullable=True),
        sa.Column("acknowledged_at", UTCDateTime, nullable=True),
        sa.Column("acknowledged_by", sa.String(200), nullable=True),
        sa.Column("resolved_at", UTCDateTime, nullable=True),
        sa.Column("services", sa.Text, nullable=False),
        sa.Column("roles", sa.Text, nullable=False),
        sa.Column("impact", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("open_key", sa.String(500), nullable=True),
        sa.Column("deploys", sa.Text, nullable=False),
        sa.Column("escalation_policy", sa.String(100), nullable=True),
        sa.Column("escalation_round", sa.Integer, nullable=False),
        sa.Column("escalation_level", sa.Integer, nullable=False),
        sa.Column("next_escalation_at", UTCDateTime, nullable=True),
        sa.Column("ack_expires_at", UTCDateTime, nullable=True),
        sa.Column("last_update_at", UTCDateTime, nullable=True),
        sa.Column("next_reminder_at", UTCDateTime, nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_incidents"),
        sa.UniqueConstraint("open_key", name="uq_incidents_open_key"),
    )
    op.create_index("ix_incidents_status", "incidents", ["status"])
    op.create_index("ix_incidents_next_escalation_at", "incidents", ["next_escalation_at"])
    op.create_index("ix_incidents_next_reminder_at", "incidents", ["next_reminder_at"])
    op.create_table(
        "incident_alerts",
        sa.Column("incident_id", Id, nullable=False),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("linked_at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name="fk_incident_alerts_incident_id_incidents"
        ),
        sa.PrimaryKeyConstraint("incident_id", "fingerprint", name="pk_incident_alerts"),
    )
    op.create_index("ix_incident_alerts_fingerprint", "incident_alerts", ["fingerprint"])
    op.create_table(
        "incident_events",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("incident_id", Id, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("public", sa.Boolean, nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name="fk_incident_events_incident_id_incidents"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_incident_events"),
    )
    op.create_index("ix_incident_events_incident_id_id", "incident_events", ["incident_id", "id"])
    op.create_table(
        "incident_actions",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("incident_id", Id, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("done_at", UTCDateTime, nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name="fk_incident_actions_incident_id_incidents"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_incident_actions"),
    )
    op.create_index("ix_incident_actions_incident_id", "incident_actions", ["incident_id"])
    op.create_table(
        "heartbeat_state",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("last_ping_at", UTCDateTime, nullable=True),
        sa.Column("last_start_at", UTCDateTime, nullable=True),
        sa.Column("last_outcome", sa.String(10), nullable=True),
        sa.Column("last_exit_code", sa.Integer, nullable=True),
        sa.Column("last_failure_at", UTCDateTime, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_heartbeat_state"),
    )
    op.create_table(
        "used_tokens",
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("used_at", UTCDateTime, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_used_tokens"),
    )
    op.create_table(
        "store_settings",
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_store_settings"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("last_used_at", UTCDateTime, nullable=True),
        sa.Column("revoked_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
    )


def downgrade() -> None:
    for table in (
        "api_tokens",
        "store_settings",
        "used_tokens",
        "heartbeat_state",
        "incident_actions",
        "incident_events",
        "incident_alerts",
        "incidents",
    ):
        op.drop_table(table)
