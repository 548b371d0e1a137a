"""Create the service's tables: tenants, and oauth_states (the connect flow's states)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0003_server", "0002"


def upgrade() -> None:
    """Create the tables as :mod:`zohokit.server._tables` describes them."""
    epoch = sa.Float  # the service's times are epoch seconds
    op.create_table(
        "tenants",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("data_center", sa.String(16), nullable=False),
        sa.Column("created_at", epoch, nullable=False),
    )
    op.create_table(
        "oauth_states",
        # SHA-256 of the state: the state itself is never stored.
        sa.Column("state_hash", sa.String(64), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("redirect_uri", sa.Text, nullable=False),
        sa.Column("created_at", epoch, nullable=False),
        sa.Column("expires_at", epoch, nullable=False),
        sa.Column("used_at", epoch),
    )
    op.create_index("ix_oauth_states_expires_at", "oauth_states", ["expires_at"])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_index("ix_oauth_states_expires_at", table_name="oauth_states")
    op.drop_table("oauth_states")
    op.drop_table("tenants")
