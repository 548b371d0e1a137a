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

A team's bookings keep both guards per host (:mod:`zohokit.scheduling._team_store`): the
hosts are chosen inside the same serialized transaction, each re-checked against their own
busy time, and ``booking_hosts`` holds ``UNIQUE (tenant, host, active_start)``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import (
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
from zohokit.scheduling._events import booking_event
from zohokit.scheduling._leases import SyncLeases, _booking
from zohokit.scheduling._tables import (
    BOOKING_COLUMNS,
    HOLD_COLUMNS,
    BookingRow,
    HoldRow,
    TenantSchedule,
    booking_holds,
    booking_hosts,
    booking_of,
    booking_schedules,
    bookings,
    hold_of,
    metadata,
    row_values,
    schedule_of,
)
from zohokit.scheduling._team import Team
from zohokit.scheduling._team_store import (
    HostChecks,
    assign_and_insert,
    move_hosts,
    own_busy,
    slot_busy,
)
from zohokit.scheduling._vault import CustomerVault

__all__ = ["BookingRow", "BookingStore", "Check", "DuplicateSlot", "HoldRow", "TenantSchedule"]
__all__ += ["booking_holds", "booking_schedules", "bookings", "metadata", "new_id"]

# The first key of PostgreSQL's two-key advisory lock: keeps booking locks apart from any
# other advisory lock in the database (the migration lock uses the one-key form).
_PG_LOCK_NAMESPACE = 0x5A4B42  # "ZKB"


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


class BookingStore(SyncLeases):
    """Reads and serialized writes of schedules, holds and bookings on one async engine."""

    def __init__(self, engine: AsyncEngine, vault: CustomerVault) -> None:
        self.engine, self.vault = engine, vault
        #: Keys the booking flow adds to a booking's events (its hosts, manage links).
        self.event_extra: Callable[[str, BookingRow], dict[str, Any]] = lambda _t, _r: {}

    async def _event(
        self, conn: AsyncConnection, type_: str, row: BookingRow, now: datetime, **extra: Any
    ) -> None:
        await booking_event(conn, type_, row, now, **self.event_extra(type_, row), **extra)

    # --- schedules --------------------------------------------------------------------------

    async def set_schedule(self, entry: TenantSchedule, *, now: datetime) -> None:
        """Insert or replace a tenant's schedule."""
        values = {
            "schedule": json.dumps(entry.schedule.to_dict(), sort_keys=True),
            "calendar_id": entry.calendar_id,
            "user_email": entry.user_email,
            "updated_at": now,
            "team": json.dumps(entry.team.to_dict()) if entry.team is not None else None,
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

    async def own_busy(
        self, tenant: str, start: datetime, end: datetime, *, now: datetime, host: str | None = None
    ) -> list[Busy]:
        """Active bookings and unexpired holds of ``tenant`` (with ``host``: that team host's
        bookings) touching ``[start, end)``, widened by a week each side so booking limits
        count right (see :func:`~zohokit.scheduling._team_store.own_busy`)."""
        async with self.engine.connect() as conn:
            return await own_busy(conn, tenant, start, end, now=now, host=host)

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
            check(await slot_busy(conn, hold, now=now))
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
        self,
        booking: BookingRow,
        check: Check,
        *,
        now: datetime,
        hold_id: str | None = None,
        team: tuple[Team, HostChecks] | None = None,
    ) -> BookingRow:
        """Insert ``booking`` if ``check`` accepts the own busy time without ``hold_id``, and
        consume that hold, in one serialized transaction. With a ``team`` (and each host's
        check), the hosts are chosen and the slot checked per host in that transaction
        (:func:`~zohokit.scheduling._team_store.assign_and_insert`) instead.

        If the tenant already has a booking with the same idempotency key, that booking is
        returned and nothing is written. Raises :class:`DuplicateSlot` if the unique
        constraint refuses the row (only reachable if the serialization were bypassed).
        """
        async with self._serialized(booking.tenant) as conn:
            if booking.idempotency_key is not None:
                existing = await self._by_key(conn, booking.tenant, booking.idempotency_key)
                if existing is not None:
                    return existing
            if team is not None:
                stored = await self._insert_team(conn, booking, team, now=now, hold_id=hold_id)
                await self._event(conn, "booking.created", stored, now)
                return stored
            check(await slot_busy(conn, booking, now=now, exclude_hold=hold_id))
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
            await self._event(conn, "booking.created", booking, now)
        return booking

    async def _insert_team(
        self,
        conn: AsyncConnection,
        booking: BookingRow,
        team: tuple[Team, HostChecks],
        *,
        now: datetime,
        hold_id: str | None,
    ) -> BookingRow:
        if hold_id is not None:
            await conn.execute(delete(booking_holds).where(booking_holds.c.id == hold_id))
        try:
            return await assign_and_insert(
                conn,
                booking,
                *team,
                values=lambda row: row_values(row, self.vault),
                now=now,
                hold_id=hold_id,
            )
        except IntegrityError as exc:
            raise DuplicateSlot(str(exc.orig)) from exc

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
        host_checks: HostChecks | None = None,
    ) -> BookingRow | None:
        """Move an active booking to ``[start, end)`` if ``check`` accepts the own busy time
        without it (a team's booking: if each of its hosts' ``host_checks`` accepts theirs);
        mark its event and CRM record out of date and lease it to the caller. ``None`` if the
        booking is not active."""
        async with self._serialized(tenant) as conn:
            current = await self._get(conn, tenant, booking_id)
            if current is None or current.active_start is None:
                return None
            if current.hosts and host_checks is not None:
                await move_hosts(conn, current, start, end, host_checks, now=now)
            else:
                own = await own_busy(conn, tenant, start, end, now=now, exclude_booking=booking_id)
                check(own)
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
            row = await self._get(conn, tenant, booking_id)
            assert row is not None
            before = {"previous_start": current.start_utc.isoformat()}
            await self._event(conn, "booking.rescheduled", row, now, **before)
            return row

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
            cancelled = await conn.execute(
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
            await conn.execute(  # the hosts' slots are free at once too
                update(booking_hosts)
                .where(booking_hosts.c.booking_id == booking_id)
                .values(active_start=None)
            )
            row = await self._get(conn, tenant, booking_id)
            if cancelled.rowcount == 1 and row is not None:  # not when it was cancelled already
                await self._event(conn, "booking.cancelled", row, now)
            return row

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
