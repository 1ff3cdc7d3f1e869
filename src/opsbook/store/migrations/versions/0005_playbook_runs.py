"""playbook runs, their steps, approvals and locks

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsbook.store.tables import Id, UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "playbook_runs",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("playbook", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("started_by", sa.String(200), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime, nullable=True),
        sa.Column("heartbeat_at", UTCDateTime, nullable=False),
        sa.Column("worker", sa.String(200), nullable=False),
        sa.Column("lock_key", sa.String(300), nullable=True),
        sa.Column("incident_id", Id, nullable=True),
        sa.Column("alert", sa.String(32), nullable=True),
        sa.Column("parent_id", Id, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_playbook_runs"),
    )
    op.create_index("ix_playbook_runs_status", "playbook_runs", ["status"])
    op.create_index(
        "ix_playbook_runs_playbook_started_at", "playbook_runs", ["playbook", "started_at"]
    )
    op.create_table(
        "playbook_steps",
        sa.Column("run_id", Id, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("rendered", sa.Text, nullable=False),
        sa.Column("output", sa.Text, nullable=False),
        sa.Column("exit_code", sa.Integer, nullable=True),
        sa.Column("vars", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=True),
        sa.Column("finished_at", UTCDateTime, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("confirmed_by", sa.String(200), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["playbook_runs.id"], name="fk_playbook_steps_run_id_playbook_runs"
        ),
        sa.PrimaryKeyConstraint("run_id", "position", name="pk_playbook_steps"),
    )
    op.create_table(
        "playbook_approvals",
        sa.Column("run_id", Id, nullable=False),
        sa.Column("step", sa.String(100), nullable=False),
        sa.Column("person", sa.String(200), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["playbook_runs.id"], name="fk_playbook_approvals_run_id_playbook_runs"
        ),
        sa.PrimaryKeyConstraint("run_id", "step", "person", name="pk_playbook_approvals"),
    )
    op.create_table(
        "playbook_locks",
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("run_id", Id, nullable=False),
        sa.Column("acquired_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_playbook_locks"),
    )


def downgrade() -> None:
    for table in ("playbook_locks", "playbook_approvals", "playbook_steps", "playbook_runs"):
        op.drop_table(table)
