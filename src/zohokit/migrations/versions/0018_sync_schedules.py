"""Scheduled syncs (``sync_schedules``) and the per-tenant guard of their runs
(``sync_tenant_leases``), as :mod:`zohokit.sync._schedule` describes them."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from zohokit.migrations._columns import tenant, timestamps, utc

revision, down_revision = "0018_sync_schedules", "0017_tenant_deliveries"


def upgrade() -> None:
    """Create ``sync_schedules`` and ``sync_tenant_leases``."""
    op.create_table(
        "sync_schedules",
        tenant(primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("module", sa.String(100), nullable=False),
        sa.Column("interval_seconds", sa.Integer, nullable=False),
        utc("anchor_at", required=True),
        sa.Column("spec", sa.Text, nullable=False),
        *timestamps(),
        utc("last_started_at"),
        utc("last_finished_at"),
        sa.Column("last_status", sa.String(32)),
        sa.Column("last_message", sa.Text),
        sa.Column("last_run_id", sa.String(32)),
    )
    op.create_table(
        "sync_tenant_leases",
        tenant(primary_key=True),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("schedule", sa.String(64), nullable=False),
        utc("acquired_at", required=True),
        utc("expires_at", required=True),
    )


def downgrade() -> None:
    """Drop both."""
    op.drop_table("sync_tenant_leases")
    op.drop_table("sync_schedules")
