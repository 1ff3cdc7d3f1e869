"""check results, samples and probe state

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsbook.store.tables import Id, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "check_results",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("check_name", sa.String(100), nullable=False),
        sa.Column("service", sa.String(100), nullable=True),
        sa.Column("status", sa.SmallInteger, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_check_results"),
    )
    op.create_index(
        "ix_check_results_check_name_started_at", "check_results", ["check_name", "started_at"]
    )
    op.create_index("ix_check_results_started_at", "check_results", ["started_at"])
    op.create_table(
        "samples",
        sa.Column("result_id", Id, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("check_name", sa.String(100), nullable=False),
        sa.Column("ts", UTCDateTime, nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("result_id", "name", name="pk_samples"),
        sa.ForeignKeyConstraint(
            ["result_id"],
            ["check_results.id"],
            name="fk_samples_result_id_check_results",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_samples_check_name_name_ts", "samples", ["check_name", "name", "ts"])
    op.create_table(
        "probe_state",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_probe_state"),
    )


def downgrade() -> None:
    op.drop_table("probe_state")
    op.drop_index("ix_samples_check_name_name_ts", table_name="samples")
    op.drop_table("samples")
    op.drop_index("ix_check_results_started_at", table_name="check_results")
    op.drop_index("ix_check_results_check_name_started_at", table_name="check_results")
    op.drop_table("check_results")
