"""Create the tables of CRM notifications: notification_channels, notification_inbox and
sync_remote (as :mod:`zohokit.notifications._tables` describes them)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from zohokit.migrations._columns import lease, serial_id, tenant_module, timestamps, utc

revision, down_revision = "0010_notifications", "0009_outbox_webhooks"


def upgrade() -> None:
    """Create the three tables and their indexes."""
    op.create_table(
        "notification_channels",
        sa.Column("channel_id", sa.String(20), primary_key=True),
        *tenant_module(),
        sa.Column("token", sa.Text, nullable=False),
        sa.Column("notify_url", sa.Text, nullable=False),
        sa.Column("events", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        utc("expires_at"),
        utc("renewed_at"),
        sa.Column("last_error", sa.Text),
        *timestamps(),
    )
    op.create_index(
        "ux_notification_channels_tenant_module",
        "notification_channels",
        ["tenant", "module"],
        unique=True,
    )
    op.create_table(
        "notification_inbox",
        serial_id(),
        sa.Column("dedupe_key", sa.String(64), nullable=False),
        sa.Column("channel_id", sa.String(20), nullable=False),
        *tenant_module(),
        sa.Column("operation", sa.String(16), nullable=False),
        sa.Column("ids", sa.Text, nullable=False),
        sa.Column("affected_fields", sa.Text, nullable=False),
        sa.Column("server_time", sa.BigInteger, nullable=False),
        utc("received_at", required=True),
        utc("processed_at"),
        *lease(),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
    )
    op.create_index(
        "ux_notification_inbox_dedupe_key", "notification_inbox", ["dedupe_key"], unique=True
    )
    op.create_index(
        "ix_notification_inbox_pending", "notification_inbox", ["processed_at", "tenant"]
    )
    op.create_table(
        "sync_remote",
        *tenant_module(primary_key=True),
        sa.Column("record_id", sa.String(32), primary_key=True),
        utc("modified_time"),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("content_hash", sa.String(64)),
        sa.Column("via", sa.String(16), nullable=False),
        utc("updated_at", required=True),
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_table("sync_remote")
    op.drop_index("ix_notification_inbox_pending", table_name="notification_inbox")
    op.drop_index("ux_notification_inbox_dedupe_key", table_name="notification_inbox")
    op.drop_table("notification_inbox")
    op.drop_index("ux_notification_channels_tenant_module", table_name="notification_channels")
    op.drop_table("notification_channels")
