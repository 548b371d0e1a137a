"""The transactional outbox (``outbox_events``) and webhook delivery (``webhook_endpoints``,
``webhook_deliveries``, ``webhook_attempts``), as :mod:`zohokit.events` and
:mod:`zohokit.webhooks._tables` describe them."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from zohokit.migrations._columns import lease, serial_id, tenant, timestamps, utc

revision, down_revision = "0009_outbox_webhooks", "0008_booking_customer_key"


def upgrade() -> None:
    """Create the four tables and their indexes."""
    op.create_table(
        "outbox_events",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("type", sa.String(64), nullable=False),
        tenant(),
        utc("created_at", required=True),
        sa.Column("data", sa.Text, nullable=False),
        utc("dispatched_at"),
    )
    op.create_index("ix_outbox_events_dispatched_at", "outbox_events", ["dispatched_at"])
    op.create_index("ix_outbox_events_tenant_created_at", "outbox_events", ["tenant", "created_at"])
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("description", sa.String(255), nullable=False),
        sa.Column("tenant", sa.String(255)),
        sa.Column("event_types", sa.Text, nullable=False),
        sa.Column("secret_enc", sa.Text, nullable=False),
        sa.Column("previous_secret_enc", sa.Text),
        utc("previous_expires_at"),
        sa.Column("enabled", sa.Boolean, nullable=False),
        *timestamps(),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("endpoint_id", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        utc("next_attempt_at"),
        utc("round_started_at", required=True),
        utc("last_attempt_at"),
        sa.Column("last_status_code", sa.Integer),
        sa.Column("last_error", sa.Text),
        *lease(),
        *timestamps(),
        sa.UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
    )
    op.create_index(
        "ix_webhook_deliveries_status_next", "webhook_deliveries", ["status", "next_attempt_at"]
    )
    op.create_table(
        "webhook_attempts",
        serial_id(),
        sa.Column("delivery_id", sa.String(32), nullable=False),
        sa.Column("endpoint_id", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        utc("attempted_at", required=True),
        sa.Column("status_code", sa.Integer),
        sa.Column("error", sa.Text),
        sa.Column("duration_ms", sa.Integer, nullable=False),
    )
    op.create_index("ix_webhook_attempts_delivery", "webhook_attempts", ["delivery_id"])
    op.create_index(
        "ix_webhook_attempts_endpoint_time", "webhook_attempts", ["endpoint_id", "attempted_at"]
    )


def downgrade() -> None:
    """Drop the four tables."""
    for table in ("webhook_attempts", "webhook_deliveries", "webhook_endpoints", "outbox_events"):
        op.drop_table(table)
