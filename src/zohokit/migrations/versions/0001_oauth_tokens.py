"""Create oauth_tokens: a row per (tenant, provider): encrypted tokens, lease, version."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from zohokit.migrations._columns import lease, serial_id, tenant, timestamps, utc

revision, down_revision = "0001", None


def upgrade() -> None:
    """Create the table as :mod:`zohokit.tokens._store` describes it."""
    op.create_table(
        "oauth_tokens",
        serial_id(),
        tenant(),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("client_id", sa.String(255)),
        sa.Column("client_secret_enc", sa.Text),
        sa.Column("refresh_token_enc", sa.Text),
        sa.Column("access_token_enc", sa.Text),
        utc("expires_at"),
        sa.Column("api_domain", sa.String(255)),
        sa.Column("accounts_server", sa.String(255)),
        sa.Column("data_center", sa.String(16)),
        sa.Column("scopes", sa.Text),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("failure_count", sa.Integer, nullable=False, server_default="0"),
        utc("cooldown_until"),
        *lease(255, until="lease_expires_at"),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        *timestamps(),
        utc("refreshed_at"),
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
