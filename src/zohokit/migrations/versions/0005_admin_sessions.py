"""Admin sessions in the database (logout ends them on every instance), and the connect
flow's PKCE verifier beside its state.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0005_admin_sessions", "0003_bookings"


def upgrade() -> None:
    """Create ``admin_sessions`` and add ``oauth_states.code_verifier``."""
    op.create_table(
        "admin_sessions",
        # SHA-256 of the cookie's value: the value itself is never stored.
        sa.Column("session_hash", sa.String(64), primary_key=True),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("tenant", sa.String(64)),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index("ix_admin_sessions_expires_at", "admin_sessions", ["expires_at"])
    with op.batch_alter_table("oauth_states") as batch:
        batch.add_column(sa.Column("code_verifier", sa.Text))


def downgrade() -> None:
    """Drop both again."""
    with op.batch_alter_table("oauth_states") as batch:
        batch.drop_column("code_verifier")
    op.drop_index("ix_admin_sessions_expires_at", table_name="admin_sessions")
    op.drop_table("admin_sessions")
