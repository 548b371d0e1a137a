"""Alembic environment: runs on the connection :func:`zohokit.db.upgrade` hands over."""

from __future__ import annotations

from alembic import context

from zohokit.migrations import target_metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through zohokit.db.upgrade() or `zohokit db upgrade`")

context.configure(
    connection=connection,
    target_metadata=target_metadata(),
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
