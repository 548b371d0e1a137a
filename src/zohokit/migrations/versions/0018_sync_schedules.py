"""Scheduled syncs (``sync_schedules``) and the per-tenant guard of their runs
(``sync_tenant_leases``), as :mod:`zohokit.sync._schedule` describes them."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0018_sync_schedules", "0017_tenant_deliveries"


def upgrade() -> None:
    """Create ``sync_schedules`` and ``sync_tenant_leases``."""
    op.create_table(
        "sync_schedules",
        sa.Column("tenant", sa.String(255), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("module", sa.String(100), nullable=False),
        sa.Column("interval_seconds", sa.Integer, nullable=False),
        sa.Column("anchor_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_started_at", sa.DateTime(timezone=True)),
        sa.Column("last_finished_at", sa.DateTime(timezone=True)),
        sa.Column("last_status", sa.String(32)),
        sa.Column("last_message", sa.Text),
        sa.Column("last_run_id", sa.String(32)),
    )
    op.create_table(
        "sync_tenant_leases",
        sa.Column("tenant", sa.String(255), primary_key=True),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("schedule", sa.String(64), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    """Drop both."""
    op.drop_table("sync_tenant_leases")
    op.drop_table("sync_schedules")
