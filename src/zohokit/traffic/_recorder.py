"""The writer of the call history: counts in memory, flushed to the database every few
seconds and on close, so a Zoho call costs no database round trip.

The request path hands each finished attempt to :meth:`CallRecorder.record` (a dictionary
update, no I/O). The first count after a flush schedules the next flush ``flush_every``
seconds later on the running loop; :meth:`CallRecorder.aclose` flushes what is left. A flush
is one ``INSERT ... ON CONFLICT DO UPDATE`` that *adds* the counts to the stored ones, so
``zohokit serve`` instances, workers and CLI runs flushing the same tenant's hour at the same
moment all count: PostgreSQL takes the rows' locks in key order (the rows are sorted, so two
flushes never deadlock) and SQLite writes one transaction at a time under its busy timeout.
A flush that fails keeps its counts for the next one (and logs a warning): the history may be
late, never doubled.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from .._clock import Clock, system_clock
from ..db import bounded, dialect_insert
from ._tables import call_hours

__all__ = ["FLUSH_EVERY_SECONDS", "CallRecorder", "hour_of"]

log = logging.getLogger("zohokit.traffic")

#: How long counts wait in memory before they are written.
FLUSH_EVERY_SECONDS = 5.0
#: Kept counts past this many rows (the database has been away a long time) are dropped,
#: oldest hour first, so memory stays bounded.
MAX_PENDING_ROWS = 50_000

_Key = tuple[str, str, datetime]


def hour_of(when: datetime) -> datetime:
    """The start of the hour ``when`` falls in."""
    return when.replace(minute=0, second=0, microsecond=0)


@dataclass(slots=True)
class _Counts:
    calls: int = 0
    throttled: int = 0
    errors: int = 0
    credits: int = 0

    def add(self, other: _Counts) -> None:
        self.calls += other.calls
        self.throttled += other.throttled
        self.errors += other.errors
        self.credits += other.credits


class CallRecorder:
    """Counts Zoho calls per tenant, provider and hour of ``clock`` and writes them to
    ``zoho_call_hours`` on ``engine`` (see the module docstring). ``statement_timeout``
    bounds each flush's wait for the database."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Clock = system_clock,
        flush_every: float = FLUSH_EVERY_SECONDS,
        statement_timeout: float = 10.0,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self.flush_every = flush_every
        self._timeout = statement_timeout
        self._pending: dict[_Key, _Counts] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._flushing: asyncio.Task[int] | None = None

    def __repr__(self) -> str:
        return f"CallRecorder(pending={len(self._pending)}, flush_every={self.flush_every:g})"

    def record(
        self, tenant: str, provider: str, *, throttled: bool, error: bool, credits: int
    ) -> None:
        """Count one attempt Zoho saw (``throttled``: it answered 429; ``error``: any
        failure) costing ``credits``, in the current hour. No I/O."""
        key = (tenant, provider, hour_of(self._clock()))
        counts = self._pending.get(key)
        if counts is None:
            counts = self._pending[key] = _Counts()
        counts.calls += 1
        counts.throttled += throttled
        counts.errors += error
        counts.credits += credits
        if self._timer is None and self._flushing is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop (a synchronous caller): the close flushes
                return
            self._timer = loop.call_later(self.flush_every, self._flush_soon)

    def _flush_soon(self) -> None:
        self._timer = None
        self._flushing = asyncio.ensure_future(self._background_flush())

    async def _background_flush(self) -> int:
        try:
            return await self.flush()
        finally:
            self._flushing = None
            if self._pending and self._timer is None:
                loop = asyncio.get_running_loop()
                self._timer = loop.call_later(self.flush_every, self._flush_soon)

    async def flush(self) -> int:
        """Write the counts so far; returns how many rows it added to. A failure keeps the
        counts for the next flush."""
        taken, self._pending = self._pending, {}
        if not taken:
            return 0
        rows = [
            {
                "tenant": tenant,
                "provider": provider,
                "hour": hour,
                "calls": c.calls,
                "throttled": c.throttled,
                "errors": c.errors,
                "credits": c.credits,
            }
            for (tenant, provider, hour), c in sorted(taken.items())
        ]
        try:
            await bounded(self._write(rows), seconds=self._timeout, url=self._engine.url)
        except Exception as exc:
            log.warning(
                "the Zoho call history could not be written (%s): kept for the next flush",
                type(exc).__name__,
            )
            self._keep(taken)
            return 0
        return len(rows)

    async def _write(self, rows: list[dict[str, object]]) -> None:
        async with self._engine.begin() as conn:
            insert = dialect_insert(conn, call_hours)
            added = {
                name: call_hours.c[name] + insert.excluded[name]
                for name in ("calls", "throttled", "errors", "credits")
            }
            stmt = insert.on_conflict_do_update(
                index_elements=["tenant", "provider", "hour"], set_=added
            )
            await conn.execute(stmt, rows)

    def _keep(self, taken: dict[_Key, _Counts]) -> None:
        for key, counts in taken.items():
            self._pending.setdefault(key, _Counts()).add(counts)
        if len(self._pending) > MAX_PENDING_ROWS:
            for key in sorted(self._pending, key=lambda k: k[2])[:-MAX_PENDING_ROWS]:
                del self._pending[key]

    async def aclose(self) -> None:
        """Stop the timer and write what is left (waiting for a flush under way)."""
        flushing = self._flushing
        if flushing is not None and flushing.get_loop() is asyncio.get_running_loop():
            await asyncio.shield(flushing)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        await self.flush()
