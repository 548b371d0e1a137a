"""The worker's tables: ``jobs`` (durable, leased) and ``job_runs`` (a row per run)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0011_jobs", "0010_notifications"
branch_labels = depends_on = None


def upgrade() -> None:
    """Create both tables as :mod:`zohokit.jobs._tables` describes them."""
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("tenant", sa.String(255)),
        sa.Column("due_at", ts),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("generation", sa.Integer, nullable=False, server_default="1"),
        sa.Column("lease_owner", sa.String(255)),
        sa.Column("lease_expires_at", ts),
        sa.Column("last_error", sa.Text),
        sa.Column("failed_at", ts),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("updated_at", ts, nullable=False),
        sa.UniqueConstraint("kind", "key", name="uq_jobs_kind_key"),
    )
    op.create_index("ix_jobs_due_at", "jobs", ["due_at"])
    op.create_table(
        "job_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("tenant", sa.String(255)),
        sa.Column("worker", sa.String(255), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("started_at", ts, nullable=False),
        sa.Column("finished_at", ts),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_job_runs_kind_started", "job_runs", ["kind", "started_at"])
    op.create_index("ix_job_runs_kind_key", "job_runs", ["kind", "key"])


def downgrade() -> None:
    """Drop both (and every scheduled job with them)."""
    op.drop_table("job_runs")
    op.drop_table("jobs")
