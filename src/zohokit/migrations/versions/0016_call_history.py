"""The Zoho call history: ``zoho_call_hours`` (see ``zohokit.traffic._tables``)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from zohokit.migrations._columns import tenant

revision, down_revision = "0016_call_history", "0015_tenant_list"


def upgrade() -> None:
    """Create ``zoho_call_hours`` and its index by hour."""
    op.create_table(
        "zoho_call_hours",
        tenant(primary_key=True),
        sa.Column("provider", sa.String(16), primary_key=True),
        sa.Column("hour", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("calls", sa.Integer, nullable=False),
        sa.Column("throttled", sa.Integer, nullable=False),
        sa.Column("errors", sa.Integer, nullable=False),
        sa.Column("credits", sa.Integer, nullable=False),
    )
    op.create_index("ix_zoho_call_hours_hour", "zoho_call_hours", ["hour"])


def downgrade() -> None:
    """Drop it."""
    op.drop_index("ix_zoho_call_hours_hour", table_name="zoho_call_hours")
    op.drop_table("zoho_call_hours")
