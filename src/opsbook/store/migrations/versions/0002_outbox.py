"""notification outbox and delivery attempts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsbook.store.tables import Id, UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(500), nullable=False),
        sa.Column("receiver", sa.String(100), nullable=False),
        sa.Column("group_key", sa.String(500), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UTCDateTime, nullable=False),
        sa.Column("claimed_by", sa.String(200), nullable=True),
        sa.Column("claimed_at", UTCDateTime, nullable=True),
        sa.Column("claim_expires_at", UTCDateTime, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("delivered_at", UTCDateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
        sa.UniqueConstraint("idempotency_key", name="uq_notifications_idempotency_key"),
    )
    op.create_index(
        "ix_notifications_status_next_attempt_at", "notifications", ["status", "next_attempt_at"]
    )
    op.create_index("ix_notifications_receiver_status", "notifications", ["receiver", "status"])
    op.create_index(
        "ix_notifications_receiver_group_key_id", "notifications", ["receiver", "group_key", "id"]
    )
    op.create_table(
        "notification_attempts",
        sa.Column("notification_id", Id, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("receiver", sa.String(100), nullable=False),
        sa.Column("worker", sa.String(200), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("notification_id", "attempt", name="pk_notification_attempts"),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name="fk_notification_attempts_notification_id_notifications",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_notification_attempts_receiver_started_at",
        "notification_attempts",
        ["receiver", "started_at"],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_notification_attempts_receiver_started_at", table_name="notification_attempts"
    )
    op.drop_table("notification_attempts")
    op.drop_index("ix_notifications_receiver_group_key_id", table_name="notifications")
    op.drop_index("ix_notifications_receiver_status", table_name="notifications")
    op.drop_index("ix_notifications_status_next_attempt_at", table_name="notifications")
    op.drop_table("notifications")
