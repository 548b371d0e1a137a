"""The Alembic chain that creates every part's tables (``versions/``), and the table
descriptions it must match (:func:`target_metadata`: what autogenerate compares with a
migrated database, and what ``tests/test_migrations.py`` checks for drift)."""

from __future__ import annotations

from sqlalchemy import MetaData

__all__ = ["target_metadata"]


def target_metadata() -> list[MetaData]:
    """Every part's tables, as its module describes them.

    Imported here rather than at module level so that finding the migrations folder
    (``zohokit.db``) does not load the parts.
    """
    from zohokit.budget._tables import metadata as budget
    from zohokit.events import metadata as events
    from zohokit.jobs._tables import metadata as jobs
    from zohokit.notifications._tables import metadata as notifications
    from zohokit.scheduling._tables import metadata as scheduling
    from zohokit.server._tables import metadata as server
    from zohokit.sync._ledger import metadata as sync
    from zohokit.tokens._store import metadata as tokens
    from zohokit.traffic._tables import metadata as traffic
    from zohokit.webhooks._tables import metadata as webhooks

    return [
        tokens,
        sync,
        server,
        scheduling,
        events,
        webhooks,
        notifications,
        jobs,
        budget,
        traffic,
    ]
