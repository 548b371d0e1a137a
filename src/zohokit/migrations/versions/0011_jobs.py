"""The worker's tables: ``jobs`` (durable, leased) and ``job_runs`` (a row per run)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from zohokit.migrations._columns import lease, serial_id, timestamps, utc

revision, down_revision = "0011_jobs", "0010_notifications"


def _job_columns() -> list[sa.Column[Any]]:
    """What a job and a run of it both start with: an id, and which job (kind, key, tenant)."""
    return [
        serial_id(),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("tenant", sa.String(255)),
    ]


def upgrade() -> None:
    """Create both tables as :mod:`zohokit.jobs._tables` describes them."""
    op.create_table(
        "jobs",
        *_job_columns(),
        utc("due_at"),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("generation", sa.Integer, nullable=False, server_default="1"),
        *lease(255, until="lease_expires_at"),
        sa.Column("last_error", sa.Text),
        utc("failed_at"),
        *timestamps(),
        sa.UniqueConstraint("kind", "key", name="uq_jobs_kind_key"),
    )
    op.create_index("ix_jobs_due_at", "jobs", ["due_at"])
    op.create_table(
        "job_runs",
        *_job_columns(),
        sa.Column("worker", sa.String(255), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        utc("started_at", required=True),
        utc("finished_at"),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_job_runs_kind_started", "job_runs", ["kind", "started_at"])
    op.create_index("ix_job_runs_kind_key", "job_runs", ["kind", "key"])


def downgrade() -> None:
    """Drop both (and every scheduled job with them)."""
    op.drop_table("job_runs")
    op.drop_table("jobs")
