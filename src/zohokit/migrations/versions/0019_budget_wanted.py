"""The budget's wanted signal: each grant row says how many slots its callers wait for, so
processes holding slots they do not need give them back at once (``zohokit.budget``)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0019_budget_wanted", "0018_sync_schedules"


def upgrade() -> None:
    """Add ``budget_grants.wanted`` (0 for the rows there)."""
    with op.batch_alter_table("budget_grants") as batch:
        batch.add_column(sa.Column("wanted", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    """Drop it again."""
    with op.batch_alter_table("budget_grants") as batch:
        batch.drop_column("wanted")
