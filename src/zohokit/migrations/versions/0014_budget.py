"""The fleet-wide Zoho budget: each org's limits and pause, the leased slot grants, and the
credit ledger (see ``zohokit.budget._tables``)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from zohokit.migrations._columns import tenant

revision, down_revision = "0014_budget", "0013_booking_teams"


def upgrade() -> None:
    """Create ``budget_orgs``, ``budget_grants`` and ``budget_credits``."""
    op.create_table(
        "budget_orgs",
        tenant(primary_key=True),
        sa.Column("edition", sa.String(32), nullable=False),
        sa.Column("concurrency", sa.Integer, nullable=False),
        sa.Column("heavy_concurrency", sa.Integer, nullable=False),
        sa.Column("daily_credits", sa.Integer, nullable=False),
        sa.Column("batch_share", sa.Float, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("zoho_used", sa.Integer),
        sa.Column("zoho_day", sa.String(10)),
        sa.Column("paused_until", sa.Float),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "budget_grants",
        sa.Column("owner", sa.String(128), primary_key=True),
        tenant(primary_key=True),
        sa.Column("lane", sa.String(16), primary_key=True),
        sa.Column("heavy", sa.Boolean, primary_key=True),
        sa.Column("slots", sa.Integer, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index("ix_budget_grants_tenant", "budget_grants", ["tenant"])
    op.create_table(
        "budget_credits",
        tenant(primary_key=True),
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("lane", sa.String(16), primary_key=True),
        sa.Column("spent", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    """Drop them again."""
    op.drop_table("budget_credits")
    op.drop_index("ix_budget_grants_tenant", table_name="budget_grants")
    op.drop_table("budget_grants")
    op.drop_table("budget_orgs")
