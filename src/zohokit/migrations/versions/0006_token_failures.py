"""Store a token's last refresh failure as columns: kind, Zoho's code, and when.

It was one ``last_error`` text (``"throttled: Access Denied"``) that the service parsed back
apart. Existing strings are split on the first ``": "``; a string with no kind the service
knows keeps its whole text as the code under the kind ``transient``, and the row's
``updated_at`` (the failure wrote the row) stands in for the time.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from zohokit.migrations._columns import utc

revision, down_revision = "0006_token_failures", "0005_admin_sessions"

_KINDS = ("permanent", "throttled", "transient")


def _split(text: str) -> tuple[str, str | None]:
    kind, sep, code = text.partition(": ")
    if kind in _KINDS:
        return kind, (code or None) if sep else None
    return "transient", text


def upgrade() -> None:
    """Add the three columns, move each ``last_error`` into them, drop ``last_error``."""
    with op.batch_alter_table("oauth_tokens") as batch:
        batch.add_column(sa.Column("last_failure_kind", sa.String(16)))
        batch.add_column(sa.Column("last_failure_code", sa.String(255)))
        batch.add_column(utc("last_failure_at"))
    conn = op.get_bind()
    table = sa.table(
        "oauth_tokens",
        sa.column("id", sa.Integer),
        sa.column("last_error", sa.Text),
        sa.column("updated_at", sa.DateTime(timezone=True)),
        sa.column("last_failure_kind", sa.String(16)),
        sa.column("last_failure_code", sa.String(255)),
        sa.column("last_failure_at", sa.DateTime(timezone=True)),
    )
    rows = conn.execute(
        sa.select(table.c.id, table.c.last_error, table.c.updated_at).where(
            table.c.last_error.is_not(None)
        )
    ).all()
    for row_id, text, updated_at in rows:
        kind, code = _split(text)
        conn.execute(
            table.update()
            .where(table.c.id == row_id)
            .values(
                last_failure_kind=kind,
                last_failure_code=code[:255] if code else None,
                last_failure_at=updated_at,
            )
        )
    with op.batch_alter_table("oauth_tokens") as batch:
        batch.drop_column("last_error")


def downgrade() -> None:
    """Join the columns back into ``last_error``."""
    with op.batch_alter_table("oauth_tokens") as batch:
        batch.add_column(sa.Column("last_error", sa.Text))
    conn = op.get_bind()
    table = sa.table(
        "oauth_tokens",
        sa.column("id", sa.Integer),
        sa.column("last_error", sa.Text),
        sa.column("last_failure_kind", sa.String(16)),
        sa.column("last_failure_code", sa.String(255)),
    )
    rows = conn.execute(
        sa.select(table.c.id, table.c.last_failure_kind, table.c.last_failure_code).where(
            table.c.last_failure_kind.is_not(None)
        )
    ).all()
    for row_id, kind, code in rows:
        text = f"{kind}: {code}" if code else kind
        conn.execute(table.update().where(table.c.id == row_id).values(last_error=text))
    with op.batch_alter_table("oauth_tokens") as batch:
        batch.drop_column("last_failure_at")
        batch.drop_column("last_failure_code")
        batch.drop_column("last_failure_kind")
