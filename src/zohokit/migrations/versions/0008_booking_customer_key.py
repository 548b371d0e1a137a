"""Booking customers sealed at rest: the e-mail's lookup hash beside the sealed customer, and
room for a sealed title.

The ``customer`` column keeps its type; from now on it and ``title`` (now ``Text``: a sealed
value is longer than 255 characters) hold values sealed with the token keys. Rows written
before stay readable as they are and are sealed by ``zohokit tokens rotate-key`` (a
migration has no keys to seal them with).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0008_booking_customer_key", "0007_sync_run_status"


def upgrade() -> None:
    """Add ``bookings.customer_key`` and its index; widen ``bookings.title``."""
    with op.batch_alter_table("bookings") as batch:
        batch.add_column(sa.Column("customer_key", sa.String(64)))
        batch.alter_column("title", type_=sa.Text, existing_type=sa.String(255))
    op.create_index("ix_bookings_tenant_customer_key", "bookings", ["tenant", "customer_key"])


def downgrade() -> None:
    """Drop them again."""
    op.drop_index("ix_bookings_tenant_customer_key", table_name="bookings")
    with op.batch_alter_table("bookings") as batch:
        batch.alter_column("title", type_=sa.String(255), existing_type=sa.Text)
        batch.drop_column("customer_key")
