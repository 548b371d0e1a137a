"""Teams: a schedule's hosts, each booking's hosts, and its CRM meeting.

``booking_schedules.team`` holds the team as JSON (hosts, mode, assignment); ``bookings.hosts``
the hosts a booking was given (JSON, NULL for a one-calendar schedule) and
``bookings.crm_meeting_id`` its Zoho CRM Events record. ``booking_hosts`` has one row per
booking and host: ``active_start`` is the start while the booking is active and NULL once
cancelled, under ``UNIQUE (tenant, host, active_start)``, so no host can hold two active
bookings at one start whatever the code does (the per-host form of the bookings guard).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from zohokit.migrations._columns import tenant, utc

revision, down_revision = "0013_booking_teams", "0012_sync_bulk_jobs"


def upgrade() -> None:
    """Add the team columns and the ``booking_hosts`` table."""
    with op.batch_alter_table("booking_schedules") as batch:
        batch.add_column(sa.Column("team", sa.Text))
    with op.batch_alter_table("bookings") as batch:
        batch.add_column(sa.Column("hosts", sa.Text))
        batch.add_column(sa.Column("crm_meeting_id", sa.String(32)))
    op.create_table(
        "booking_hosts",
        sa.Column("booking_id", sa.String(32), primary_key=True),
        sa.Column("host", sa.String(255), primary_key=True),
        tenant(),
        utc("start_utc", required=True),
        utc("end_utc", required=True),
        utc("active_start"),
        sa.Column("buffer_before_s", sa.Integer, nullable=False),
        sa.Column("buffer_after_s", sa.Integer, nullable=False),
        sa.Column("customer_key", sa.String(64)),
        utc("created_at", required=True),
        sa.UniqueConstraint("tenant", "host", "active_start", name="uq_booking_hosts_active"),
    )
    op.create_index(
        "ix_booking_hosts_tenant_host_start", "booking_hosts", ["tenant", "host", "start_utc"]
    )


def downgrade() -> None:
    """Drop them again."""
    op.drop_index("ix_booking_hosts_tenant_host_start", table_name="booking_hosts")
    op.drop_table("booking_hosts")
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("crm_meeting_id")
        batch.drop_column("hosts")
    with op.batch_alter_table("booking_schedules") as batch:
        batch.drop_column("team")
