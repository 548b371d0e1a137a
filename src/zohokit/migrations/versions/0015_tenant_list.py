"""The console's tenant list: indexes for its keyset pages sorted by name and by age.

Each index ends with the tenant key, the keyset's tie-breaker, so a page is one index range
scan however many tenants there are (the key's own order is the primary key's).
"""

from __future__ import annotations

from alembic import op

revision, down_revision = "0015_tenant_list", "0014_budget"


def upgrade() -> None:
    """Add the two indexes."""
    op.create_index("ix_tenants_name", "tenants", ["name", "tenant"])
    op.create_index("ix_tenants_created_at", "tenants", ["created_at", "tenant"])


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_tenants_created_at", table_name="tenants")
    op.drop_index("ix_tenants_name", table_name="tenants")
