"""Waking workers at once on PostgreSQL: ``LISTEN`` on the jobs channel.

:func:`~._store.schedule` sends ``NOTIFY zohokit_jobs`` in the scheduling transaction, so a
job scheduled due now is picked up as soon as it commits instead of at the next poll. The
listener holds one connection of the pool for as long as the worker runs. When it cannot
listen (SQLite, or the connection was lost) the worker simply polls; it tries to listen again
every so often.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..db import bounded
from ..jobs import CHANNEL

__all__ = ["Listener"]

log = logging.getLogger("zohokit.worker")


class Listener:
    """Calls ``on_wake()`` whenever a job is scheduled anywhere on this PostgreSQL."""

    def __init__(self, engine: AsyncEngine, on_wake: Callable[[], None], *, timeout: float) -> None:
        self._engine = engine
        self._on_wake = on_wake
        self._timeout = timeout
        self._conn: AsyncConnection | None = None
        self._driver: Any = None

    @property
    def listening(self) -> bool:
        """Whether notifications arrive now (else the worker relies on polling)."""
        return self._driver is not None and not self._driver.is_closed()

    def _notified(self, *_args: object) -> None:
        self._on_wake()

    async def start(self) -> bool:
        """Listen, if this is PostgreSQL and it answers; ``True`` if listening now."""
        if self._engine.dialect.name != "postgresql" or self.listening:
            return self.listening
        await self.close()
        try:
            conn = self._engine.connect()
            await bounded(conn.start(), seconds=self._timeout, url=self._engine.url)
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            await bounded(
                driver.add_listener(CHANNEL, self._notified),
                seconds=self._timeout,
                url=self._engine.url,
            )
        except Exception as exc:  # any failure means: poll, and try again later
            log.warning("worker.listen_failed error=%s", type(exc).__name__)
            return False
        self._conn, self._driver = conn, driver
        return True

    async def close(self) -> None:
        """Stop listening and give the connection back."""
        conn, self._conn, self._driver = self._conn, None, None
        if conn is not None:
            try:
                await conn.close()
            except Exception:  # a lost connection has nothing left to close
                log.debug("worker.listen_close_failed", exc_info=True)
