"""Create the booking tables: booking_schedules, booking_holds and bookings.

The fourth step of the chain. Its revision id keeps the name it shipped under
(``0003_bookings``): databases already upgraded record that id in ``alembic_version``, and a
new id would leave them unable to upgrade.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from zohokit.migrations._columns import lease, tenant, timestamps, utc

revision, down_revision = "0003_bookings", "0003_server"


def _slot_columns() -> list[sa.Column[Any]]:
    """The first columns of a hold and of a booking: which tenant's calendar, and when."""
    return [
        sa.Column("id", sa.String(32), primary_key=True),
        tenant(),
        sa.Column("calendar_id", sa.String(255), nullable=False),
        utc("start_utc", required=True),
        utc("end_utc", required=True),
    ]


def upgrade() -> None:
    """Create the tables as :mod:`zohokit.scheduling._store` describes them."""
    op.create_table(
        "booking_schedules",
        tenant(primary_key=True),
        sa.Column("schedule", sa.Text, nullable=False),
        sa.Column("calendar_id", sa.String(255)),
        sa.Column("user_email", sa.String(320)),
        utc("updated_at", required=True),
    )
    op.create_table(
        "booking_holds",
        *_slot_columns(),
        sa.Column("buffer_before_s", sa.Integer, nullable=False),
        sa.Column("buffer_after_s", sa.Integer, nullable=False),
        utc("expires_at", required=True),
        utc("created_at", required=True),
    )
    op.create_index("ix_booking_holds_tenant_start", "booking_holds", ["tenant", "start_utc"])
    op.create_table(
        "bookings",
        *_slot_columns(),
        utc("active_start"),
        sa.Column("buffer_before_s", sa.Integer, nullable=False),
        sa.Column("buffer_after_s", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("event_synced", sa.Boolean, nullable=False),
        sa.Column("crm_synced", sa.Boolean, nullable=False),
        sa.Column("pending_reason", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("booker_zone", sa.String(64), nullable=False),
        sa.Column("customer", sa.Text, nullable=False),
        sa.Column("idempotency_key", sa.String(255)),
        sa.Column("zoho_event_uid", sa.String(255)),
        sa.Column("zoho_event_etag", sa.String(64)),
        sa.Column("crm_module", sa.String(100)),
        sa.Column("crm_record_id", sa.String(32)),
        *lease(),
        *timestamps(),
        utc("cancelled_at"),
        sa.CheckConstraint("state IN ('active', 'cancelled')", name="ck_bookings_state"),
        # NULL once cancelled; NULLs are distinct on SQLite and PostgreSQL alike, so only
        # active bookings compete for a start.
        sa.UniqueConstraint(
            "tenant", "calendar_id", "active_start", name="uq_bookings_active_slot"
        ),
        sa.UniqueConstraint("tenant", "idempotency_key", name="uq_bookings_idempotency_key"),
    )
    op.create_index("ix_bookings_tenant_start", "bookings", ["tenant", "start_utc"])


def downgrade() -> None:
    """Drop the booking tables."""
    op.drop_index("ix_bookings_tenant_start", table_name="bookings")
    op.drop_table("bookings")
    op.drop_index("ix_booking_holds_tenant_start", table_name="booking_holds")
    op.drop_table("booking_holds")
    op.drop_table("booking_schedules")
