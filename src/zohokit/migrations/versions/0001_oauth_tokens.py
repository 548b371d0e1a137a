"""Create oauth_tokens: a row per (tenant, provider): encrypted tokens, lease, version."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0001", None
branch_labels = depends_on = None


def upgrade() -> None:
    """Create the table as :mod:`zohokit.tokens._store` describes it."""
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "oauth_tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(255), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("client_id", sa.String(255)),
        sa.Column("client_secret_enc", sa.Text),
        sa.Column("refresh_token_enc", sa.Text),
        sa.Column("access_token_enc", sa.Text),
        sa.Column("expires_at", ts),
        sa.Column("api_domain", sa.String(255)),
        sa.Column("accounts_server", sa.String(255)),
        sa.Column("data_center", sa.String(16)),
        sa.Column("scopes", sa.Text),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("failure_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("cooldown_until", ts),
        sa.Column("lease_owner", sa.String(255)),
        sa.Column("lease_expires_at", ts),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("updated_at", ts, nullable=False),
        sa.Column("refreshed_at", ts),
        sa.UniqueConstraint("tenant", "provider", name="uq_oauth_tokens_tenant_provider"),
        sa.CheckConstraint(
            "provider IN ('zoho_crm', 'zoho_calendar')", name="ck_oauth_tokens_provider"
        ),
        sa.CheckConstraint("source IN ('env', 'connect', 'admin')", name="ck_oauth_tokens_source"),
        sa.CheckConstraint(
            "status IN ('active', 'needs_reauth', 'revoked')", name="ck_oauth_tokens_status"
        ),
    )


def downgrade() -> None:
    """Drop the table (and every token in it)."""
    op.drop_table("oauth_tokens")
