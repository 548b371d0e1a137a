"""The bulk jobs a sync push started (``sync_bulk_jobs``), as :mod:`zohokit.sync._bulkjobs`
describes them: a rerun finds a job the killed run created and settles its rows."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from zohokit.migrations._columns import tenant_module, timestamps

revision, down_revision = "0012_sync_bulk_jobs", "0011_jobs"


def upgrade() -> None:
    """Create ``sync_bulk_jobs``."""
    op.create_table(
        "sync_bulk_jobs",
        *tenant_module(primary_key=True),
        sa.Column("job_key", sa.String(32), primary_key=True),
        sa.Column("job_id", sa.String(40)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("row_count", sa.Integer, nullable=False),
        sa.Column("rows", sa.Text, nullable=False),
        *timestamps(),
    )


def downgrade() -> None:
    """Drop ``sync_bulk_jobs``."""
    op.drop_table("sync_bulk_jobs")
