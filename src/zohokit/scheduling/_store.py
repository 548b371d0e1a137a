"""The booking store: reads and serialized writes of schedules, holds and bookings (tables and
rows: :mod:`zohokit.scheduling._tables`; customers sealed by :mod:`zohokit.scheduling._vault`).

**Why a double booking is impossible.** Two guards, either one enough on its own:

1. Every write that makes a slot busy (hold, confirm, reschedule) runs in a transaction that
   is *serialized per tenant* and re-checks availability inside it. SQLite has one writer per
   database, so ``BEGIN IMMEDIATE`` takes the write lock up front (a deferred transaction
   would read, then fail to upgrade its lock with ``SQLITE_BUSY`` half-way). PostgreSQL takes
   ``pg_advisory_xact_lock(namespace, hashtext(tenant))``: a lock per tenant that needs no
   row to exist yet (a row lock cannot guard a slot nobody has booked) and is released with
   the transaction, even if the process dies. Under READ COMMITTED every statement after the
   lock sees what the previous holder committed.
2. ``bookings.active_start`` equals ``start_utc`` while a booking is active and is NULL once
   it is cancelled, under ``UNIQUE (tenant, calendar_id, active_start)``. Both databases treat
   NULLs as distinct in a unique constraint, so cancelled bookings never block their slot,
   and no code path (a bug, a manual insert) can store two active bookings at one start.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    and_,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from zohokit.availability import Busy
from zohokit.scheduling._tables import (
    BOOKING_COLUMNS,
    HOLD_COLUMNS,
    BookingRow,
    HoldRow,
    TenantSchedule,
    booking_holds,
    booking_of,
    booking_schedules,
    bookings,
    busy_of,
    hold_of,
    metadata,
    row_values,
    schedule_of,
)
from zohokit.scheduling._vault import CustomerVault

__all__ = [
    "BookingRow",
    "BookingStore",
    "Check",
    "DuplicateSlot",
    "HoldRow",
    "TenantSchedule",
    "booking_holds",
    "booking_schedules",
    "bookings",
    "metadata",
    "new_id",
]

# The first key of PostgreSQL's two-key advisory lock: keeps booking locks apart from any
# other advisory lock in the database (the migration lock uses the one-key form).
_PG_LOCK_NAMESPACE = 0x5A4B42  # "ZKB"
#: How far around a slot own bookings are read for the re-check: a week and a day covers the
#: per-week limit (ISO weeks in the schedule's zone) and any buffer.
_CONTEXT = timedelta(days=8)


def new_id() -> str:
    """A random 32-character hex id (for bookings, holds and lease owners)."""
    return secrets.token_hex(16)


class DuplicateSlot(Exception):
    """The unique constraint refused a second active booking at one start (internal)."""


#: Called inside the serialized transaction with the tenant's own busy time (active bookings
#: and unexpired holds near the slot); raises to refuse the write.
Check = Callable[[list[Busy]], None]


#: Bookings Zoho does not reflect yet.
_UNSYNCED = or_(bookings.c.event_synced.is_(False), bookings.c.crm_synced.is_(False))


def _booking(tenant: str, booking_id: str) -> Any:
    """The WHERE clause of one booking."""
    return and_(bookings.c.tenant == tenant, bookings.c.id == booking_id)


def _lease_free(owner: str, now: datetime) -> Any:
    """Nobody but ``owner`` holds an unexpired sync lease."""
    return or_(
        bookings.c.lease_owner.is_(None),
        bookings.c.lease_until.is_(None),
        bookings.c.lease_until <= now,
        bookings.c.lease_owner == owner,
    )


class BookingStore:
    """Reads and serialized writes of schedules, holds and bookings on one async engine."""

    def __init__(self, engine: AsyncEngine, vault: CustomerVault) -> None:
        self.engine, self.vault = engine, vault

    # --- schedules --------------------------------------------------------------------------

    async def set_schedule(self, entry: TenantSchedule, *, now: datetime) -> None:
        """Insert or replace a tenant's schedule."""
        values = {
            "schedule": json.dumps(entry.schedule.to_dict(), sort_keys=True),
            "calendar_id": entry.calendar_id,
            "user_email": entry.user_email,
            "updated_at": now,
        }
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(booking_schedules)
                .where(booking_schedules.c.tenant == entry.tenant)
                .values(**values)
            )
            if result.rowcount == 0:
                await conn.execute(insert(booking_schedules).values(tenant=entry.tenant, **values))

    async def get_schedule(self, tenant: str) -> TenantSchedule | None:
        """A tenant's schedule, or ``None``."""
        query = select(booking_schedules).where(booking_schedules.c.tenant == tenant)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return schedule_of(row) if row is not None else None

    async def list_schedules(self) -> list[TenantSchedule]:
        """Every tenant's schedule, by tenant."""
        query = select(booking_schedules).order_by(booking_schedules.c.tenant)
        async with self.engine.connect() as conn:
            return [schedule_of(row) for row in await conn.execute(query)]

    # --- the serialized transaction ---------------------------------------------------------

    @asynccontextmanager
    async def _serialized(self, tenant: str) -> AsyncIterator[AsyncConnection]:
        """A transaction that no other booking write of ``tenant`` runs beside (see the module
        docstring for why each database gets the lock it gets)."""
        async with self.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                # pysqlite would BEGIN (deferred) by itself at the first write; an explicit
                # BEGIN IMMEDIATE first takes the write lock now, waiting under busy_timeout.
                await conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:ns, hashtext(:tenant))"),
                    {"ns": _PG_LOCK_NAMESPACE, "tenant": tenant},
                )
            try:
                yield conn
            except BaseException:
                await conn.rollback()
                raise
            await conn.commit()

    async def _own_busy(
        self,
        conn: AsyncConnection,
        tenant: str,
        start: datetime,
        end: datetime,
        *,
        now: datetime,
        exclude_booking: str | None = None,
        exclude_hold: str | None = None,
    ) -> list[Busy]:
        lo, hi = start - _CONTEXT, end + _CONTEXT
        query = select(*BOOKING_COLUMNS).where(
            bookings.c.tenant == tenant,
            bookings.c.active_start.is_not(None),
            bookings.c.start_utc < hi,
            bookings.c.end_utc > lo,
        )
        if exclude_booking is not None:
            query = query.where(bookings.c.id != exclude_booking)
        busy = [busy_of(row) for row in await conn.execute(query)]
        holds = select(*HOLD_COLUMNS).where(
            booking_holds.c.tenant == tenant,
            booking_holds.c.expires_at > now,
            booking_holds.c.start_utc < hi,
            booking_holds.c.end_utc > lo,
        )
        if exclude_hold is not None:
            holds = holds.where(booking_holds.c.id != exclude_hold)
        busy.extend(hold_of(row).busy() for row in await conn.execute(holds))
        return busy

    async def own_busy(
        self, tenant: str, start: datetime, end: datetime, *, now: datetime
    ) -> list[Busy]:
        """Active bookings and unexpired holds of ``tenant`` touching ``[start, end)`` (widened
        by a week each side, so booking limits count right)."""
        async with self.engine.connect() as conn:
            return await self._own_busy(conn, tenant, start, end, now=now)

    # --- holds ------------------------------------------------------------------------------

    async def add_hold(self, hold: HoldRow, check: Check, *, now: datetime) -> None:
        """Insert ``hold`` if ``check`` accepts the tenant's own busy time (serialized).

        Expired holds of the tenant are deleted on the way: they block nothing already.
        """
        async with self._serialized(hold.tenant) as conn:
            await conn.execute(
                delete(booking_holds).where(
                    booking_holds.c.tenant == hold.tenant, booking_holds.c.expires_at <= now
                )
            )
            check(await self._own_busy(conn, hold.tenant, hold.start_utc, hold.end_utc, now=now))
            await conn.execute(insert(booking_holds).values(**row_values(hold)))

    async def get_hold(self, tenant: str, hold_id: str) -> HoldRow | None:
        """One hold (expired or not), or ``None``."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(*HOLD_COLUMNS).where(
                        booking_holds.c.tenant == tenant, booking_holds.c.id == hold_id
                    )
                )
            ).first()
        return hold_of(row) if row is not None else None

    async def release_hold(self, tenant: str, hold_id: str) -> bool:
        """Delete a hold; ``False`` if there was none."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                delete(booking_holds).where(
                    booking_holds.c.tenant == tenant, booking_holds.c.id == hold_id
                )
            )
        return bool(result.rowcount)

    # --- bookings ---------------------------------------------------------------------------

    async def insert_booking(
        self, booking: BookingRow, check: Check, *, now: datetime, hold_id: str | None = None
    ) -> BookingRow:
        """Insert ``booking`` if ``check`` accepts the own busy time without ``hold_id``, and
        consume that hold, in one serialized transaction.

        If the tenant already has a booking with the same idempotency key, that booking is
        returned and nothing is written. Raises :class:`DuplicateSlot` if the unique
        constraint refuses the row (only reachable if the serialization were bypassed).
        """
        async with self._serialized(booking.tenant) as conn:
            if booking.idempotency_key is not None:
                existing = await self._by_key(conn, booking.tenant, booking.idempotency_key)
                if existing is not None:
                    return existing
            own = await self._own_busy(
                conn,
                booking.tenant,
                booking.start_utc,
                booking.end_utc,
                now=now,
                exclude_hold=hold_id,
            )
            check(own)
            if hold_id is not None:
                await conn.execute(
                    delete(booking_holds).where(
                        booking_holds.c.tenant == booking.tenant, booking_holds.c.id == hold_id
                    )
                )
            try:
                await conn.execute(insert(bookings).values(**row_values(booking, self.vault)))
            except IntegrityError as exc:
                raise DuplicateSlot(str(exc.orig)) from exc
        return booking

    async def move_booking(
        self,
        tenant: str,
        booking_id: str,
        start: datetime,
        end: datetime,
        check: Check,
        *,
        now: datetime,
        lease_owner: str,
        lease_until: datetime,
    ) -> BookingRow | None:
        """Move an active booking to ``[start, end)`` if ``check`` accepts the own busy time
        without it; mark its event and CRM record out of date and lease it to the caller.
        ``None`` if the booking is not active."""
        async with self._serialized(tenant) as conn:
            current = await self._get(conn, tenant, booking_id)
            if current is None or current.active_start is None:
                return None
            check(
                await self._own_busy(conn, tenant, start, end, now=now, exclude_booking=booking_id)
            )
            try:
                # Still active: a cancel does not take the tenant's lock, so on PostgreSQL it
                # can commit after the read above; moving it anyway would revive its slot.
                moved = await conn.execute(
                    update(bookings)
                    .where(_booking(tenant, booking_id), bookings.c.state == "active")
                    .values(
                        start_utc=start,
                        end_utc=end,
                        active_start=start,
                        event_synced=False,
                        crm_synced=False,
                        pending_reason="rescheduled: Zoho not updated yet",
                        **self._lease_if_free(lease_owner, lease_until, now),
                        updated_at=now,
                    )
                )
            except IntegrityError as exc:
                raise DuplicateSlot(str(exc.orig)) from exc
            if moved.rowcount != 1:
                return None
            return await self._get(conn, tenant, booking_id)

    @staticmethod
    def _lease_if_free(owner: str, until: datetime, now: datetime) -> dict[str, Any]:
        """Column values that hand the sync lease to ``owner`` only when nobody else holds
        an unexpired one. A cancel or move that took a lease from a worker still writing to
        Zoho would make that worker's result unrecordable, and the event it was creating
        would be left behind in the calendar; the holder finishes and sees the change."""
        free = _lease_free(owner, now)
        return {
            "lease_owner": case((free, owner), else_=bookings.c.lease_owner),
            "lease_until": case((free, until), else_=bookings.c.lease_until),
        }

    async def cancel_booking(
        self,
        tenant: str,
        booking_id: str,
        *,
        now: datetime,
        lease_owner: str,
        lease_until: datetime,
    ) -> BookingRow | None:
        """Mark a booking cancelled (its slot is free at once), Zoho out of date, leased to the
        caller unless another worker holds the lease. Returns the row as it is now (unchanged
        if already cancelled), or ``None``."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(bookings)
                .where(_booking(tenant, booking_id), bookings.c.state == "active")
                .values(
                    state="cancelled",
                    active_start=None,
                    event_synced=False,
                    crm_synced=False,
                    pending_reason="cancelled: Zoho not updated yet",
                    **self._lease_if_free(lease_owner, lease_until, now),
                    cancelled_at=now,
                    updated_at=now,
                )
            )
            return await self._get(conn, tenant, booking_id)

    async def _one(self, conn: AsyncConnection, tenant: str, where: Any) -> BookingRow | None:
        query = select(*BOOKING_COLUMNS).where(bookings.c.tenant == tenant, where)
        row = (await conn.execute(query)).first()
        return booking_of(row, self.vault) if row is not None else None

    async def _get(self, conn: AsyncConnection, tenant: str, booking_id: str) -> BookingRow | None:
        return await self._one(conn, tenant, bookings.c.id == booking_id)

    async def _by_key(self, conn: AsyncConnection, tenant: str, key: str) -> BookingRow | None:
        return await self._one(conn, tenant, bookings.c.idempotency_key == key)

    async def get(self, tenant: str, booking_id: str) -> BookingRow | None:
        """One booking, or ``None``."""
        async with self.engine.connect() as conn:
            return await self._get(conn, tenant, booking_id)

    async def by_idempotency_key(self, tenant: str, key: str) -> BookingRow | None:
        """The booking made with ``key``, or ``None``."""
        async with self.engine.connect() as conn:
            return await self._by_key(conn, tenant, key)

    async def list_bookings(
        self,
        *,
        tenant: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        unsynced_only: bool = False,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> list[BookingRow]:
        """Bookings by start time (or the newest made first), filtered by tenant, by
        ``[start, end)`` overlap, or to those Zoho does not reflect yet; at most ``limit``."""
        query = select(*BOOKING_COLUMNS)
        if newest_first:
            query = query.order_by(bookings.c.created_at.desc(), bookings.c.id.desc())
        else:
            query = query.order_by(bookings.c.start_utc, bookings.c.id)
        if limit is not None:
            query = query.limit(limit)
        if tenant is not None:
            query = query.where(bookings.c.tenant == tenant)
        if start is not None:
            query = query.where(bookings.c.end_utc > start)
        if end is not None:
            query = query.where(bookings.c.start_utc < end)
        if unsynced_only:
            query = query.where(_UNSYNCED)
        async with self.engine.connect() as conn:
            return [booking_of(row, self.vault) for row in await conn.execute(query)]

    async def count_unsynced(self, *, tenant: str | None = None) -> int:
        """How many bookings Zoho does not reflect yet (of one tenant, or all)."""
        query = select(func.count()).where(_UNSYNCED)
        if tenant is not None:
            query = query.where(bookings.c.tenant == tenant)
        async with self.engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def try_lease(
        self, tenant: str, booking_id: str, *, owner: str, now: datetime, until: datetime
    ) -> bool:
        """Take the right to sync a booking to Zoho, unless someone holds an unexpired lease.
        The lease keeps two retries (or a retry and a slow confirm) from both creating it."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(bookings)
                .where(_booking(tenant, booking_id), _lease_free(owner, now))
                .values(lease_owner=owner, lease_until=until)
            )
        return bool(result.rowcount == 1)

    async def record(
        self,
        tenant: str,
        booking_id: str,
        *,
        owner: str,
        now: datetime,
        synced_for: BookingRow | None = None,
        **values: Any,
    ) -> BookingRow | None:
        """Write the Zoho outcome (ids, etag, synced flags, reason) while holding the lease.
        Returns the row, or ``None`` if the lease was lost (a peer owns the booking now).

        ``synced_for`` is the row as it was when the Zoho write began: if the booking was
        cancelled or moved since, the ids are kept but it is not marked synced, so the next
        round makes Zoho match the booking as it is now."""
        mine = and_(_booking(tenant, booking_id), bookings.c.lease_owner == owner)
        async with self.engine.begin() as conn:
            if synced_for is not None:
                # The comparison sits in the UPDATE itself, so a cancel committed by another
                # instance a moment earlier is seen even on PostgreSQL's READ COMMITTED.
                unchanged = and_(
                    mine,
                    bookings.c.state == synced_for.state,
                    bookings.c.start_utc == synced_for.start_utc,
                    bookings.c.end_utc == synced_for.end_utc,
                )
                result = await conn.execute(
                    update(bookings).where(unchanged).values(updated_at=now, **values)
                )
                if result.rowcount == 1:
                    return await self._get(conn, tenant, booking_id)
                for stale in ("event_synced", "crm_synced", "pending_reason"):
                    values.pop(stale, None)
            result = await conn.execute(
                update(bookings).where(mine).values(updated_at=now, **values)
            )
            if result.rowcount != 1:
                return None
            return await self._get(conn, tenant, booking_id)

    async def release(self, tenant: str, booking_id: str, *, owner: str) -> None:
        """Give the sync lease back, only if we still hold it."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(bookings)
                .where(_booking(tenant, booking_id), bookings.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )
