"""Indexes for the console's pages at 50,000 sync runs and bookings: the fleet's latest runs,
the newest bookings (of the fleet and of one tenant) and the count of bookings Zoho does not
reflect yet (a partial index holding only those). Without them each was a scan and a sort of
the whole table: 90 to 120 ms apiece on SQLite (``bench/service.py --part pages``)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0020_console_indexes", "0019_budget_wanted"

#: As ``zohokit.scheduling._tables.UNSYNCED_WHERE`` (a migration keeps its own copy).
_UNSYNCED = {
    "sqlite": "event_synced IS 0 OR crm_synced IS 0",
    "postgresql": "event_synced IS false OR crm_synced IS false",
}


def upgrade() -> None:
    """Add the four indexes."""
    op.create_index("ix_sync_runs_started", "sync_runs", ["started_at"])
    op.create_index("ix_bookings_created", "bookings", ["created_at", "id"])
    op.create_index("ix_bookings_tenant_created", "bookings", ["tenant", "created_at", "id"])
    op.create_index(
        "ix_bookings_unsynced",
        "bookings",
        ["tenant"],
        sqlite_where=sa.text(_UNSYNCED["sqlite"]),
        postgresql_where=sa.text(_UNSYNCED["postgresql"]),
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_bookings_unsynced", table_name="bookings")
    op.drop_index("ix_bookings_tenant_created", table_name="bookings")
    op.drop_index("ix_bookings_created", table_name="bookings")
    op.drop_index("ix_sync_runs_started", table_name="sync_runs")
