"""Create the sync engine's tables: sync_ledger, sync_cursors and sync_runs."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from zohokit.migrations._columns import tenant_module, utc

revision, down_revision = "0002", "0001"


def upgrade() -> None:
    """Create the tables as :mod:`zohokit.sync._ledger` describes them."""
    op.create_table(
        "sync_ledger",
        *tenant_module(primary_key=True),
        sa.Column("external_id", sa.String(512), primary_key=True),
        sa.Column("zoho_id", sa.String(32)),
        sa.Column("content_hash", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error_code", sa.String(100)),
        sa.Column("last_error_details", sa.Text),
        utc("zoho_modified_time"),
        utc("last_pushed_at"),
        utc("updated_at", required=True),
        sa.CheckConstraint(
            "status IN ('synced', 'pending', 'failed', 'parked', 'deleted')",
            name="ck_sync_ledger_status",
        ),
    )
    op.create_index("ix_sync_ledger_zoho_id", "sync_ledger", ["tenant", "module", "zoho_id"])
    op.create_table(
        "sync_cursors",
        *tenant_module(primary_key=True),
        sa.Column("stream", sa.String(16), primary_key=True),
        utc("cursor"),
        sa.Column("seen", sa.Text, nullable=False),
        utc("updated_at", required=True),
    )
    op.create_table(
        "sync_runs",
        sa.Column("run_id", sa.String(32), primary_key=True),
        *tenant_module(),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", sa.String(40), nullable=False),
        sa.Column("report", sa.Text, nullable=False),
    )
    op.create_index("ix_sync_runs_tenant_started", "sync_runs", ["tenant", "started_at"])


def downgrade() -> None:
    """Drop the sync tables (the ledger, cursors and reports)."""
    op.drop_index("ix_sync_runs_tenant_started", table_name="sync_runs")
    op.drop_table("sync_runs")
    op.drop_table("sync_cursors")
    op.drop_index("ix_sync_ledger_zoho_id", table_name="sync_ledger")
    op.drop_table("sync_ledger")
