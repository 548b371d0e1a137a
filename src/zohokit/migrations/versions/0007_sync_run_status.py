"""Room for a sync run's ``completed_with_errors`` status (21 characters; it held 16)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0007_sync_run_status", "0006_token_failures"


def upgrade() -> None:
    """Widen ``sync_runs.status`` to 32 characters."""
    with op.batch_alter_table("sync_runs") as batch:
        batch.alter_column("status", type_=sa.String(32), existing_type=sa.String(16))


def downgrade() -> None:
    """Back to 16 characters (a ``completed_with_errors`` run reads ``completed`` again)."""
    op.execute("UPDATE sync_runs SET status = 'completed' WHERE status = 'completed_with_errors'")
    with op.batch_alter_table("sync_runs") as batch:
        batch.alter_column("status", type_=sa.String(16), existing_type=sa.String(32))
