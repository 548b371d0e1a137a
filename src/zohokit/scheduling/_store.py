"""Schedules, holds and bookings in the database, and the serialized confirm transaction.

Three tables (created by migration ``0004_bookings.py``):

- ``booking_schedules``: one row per tenant: the :class:`~zohokit.scheduling.Schedule` as
  JSON, the Zoho calendar bookings go to, and the user whose free/busy counts as busy time;
- ``booking_holds``: a slot held for a few minutes while a booker confirms;
- ``bookings``: every booking, with its Zoho event uid/etag, its CRM record id, whether Zoho
  reflects it yet (``event_synced``, ``crm_synced``) and, if not, the reason.

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
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
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

from zohokit.availability import Busy, BusySource, Schedule
from zohokit.db import UTCDateTime

__all__ = [
    "BookingRow",
    "BookingStore",
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

metadata = MetaData()

booking_schedules = Table(
    "booking_schedules",
    metadata,
    Column("tenant", String(255), primary_key=True),
    Column("schedule", Text, nullable=False),
    Column("calendar_id", String(255)),
    Column("user_email", String(320)),
    Column("updated_at", UTCDateTime(), nullable=False),
)

booking_holds = Table(
    "booking_holds",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("tenant", String(255), nullable=False),
    Column("calendar_id", String(255), nullable=False),
    Column("start_utc", UTCDateTime(), nullable=False),
    Column("end_utc", UTCDateTime(), nullable=False),
    Column("buffer_before_s", Integer, nullable=False),
    Column("buffer_after_s", Integer, nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_booking_holds_tenant_start", "tenant", "start_utc"),
)

bookings = Table(
    "bookings",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("tenant", String(255), nullable=False),
    Column("calendar_id", String(255), nullable=False),
    Column("start_utc", UTCDateTime(), nullable=False),
    Column("end_utc", UTCDateTime(), nullable=False),
    # start_utc while active, NULL once cancelled: the column the double-booking guard is on.
    Column("active_start", UTCDateTime()),
    Column("buffer_before_s", Integer, nullable=False),
    Column("buffer_after_s", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("event_synced", Boolean, nullable=False),
    Column("crm_synced", Boolean, nullable=False),
    Column("pending_reason", Text),
    Column("attempts", Integer, nullable=False),
    Column("title", String(255), nullable=False),
    Column("booker_zone", String(64), nullable=False),
    Column("customer", Text, nullable=False),
    Column("idempotency_key", String(255)),
    Column("zoho_event_uid", String(255)),
    Column("zoho_event_etag", String(64)),
    Column("crm_module", String(100)),
    Column("crm_record_id", String(32)),
    Column("lease_owner", String(32)),
    Column("lease_until", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("cancelled_at", UTCDateTime()),
    UniqueConstraint("tenant", "calendar_id", "active_start", name="uq_bookings_active_slot"),
    UniqueConstraint("tenant", "idempotency_key", name="uq_bookings_idempotency_key"),
    Index("ix_bookings_tenant_start", "tenant", "start_utc"),
)


def new_id() -> str:
    """A random 32-character hex id (for bookings, holds and lease owners)."""
    return secrets.token_hex(16)


class DuplicateSlot(Exception):
    """The unique constraint refused a second active booking at one start (internal)."""


@dataclass(frozen=True)
class TenantSchedule:
    """A tenant's stored schedule, with where bookings go and whose free/busy counts.

    ``calendar_id`` is the Zoho calendar that receives booking events (``None``: the Calendar
    service's own default); ``user_email`` is the Zoho user whose free/busy is busy time
    (``None``: the events of ``calendar_id`` are).
    """

    tenant: str
    schedule: Schedule
    calendar_id: str | None = None
    user_email: str | None = None
    updated_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the schedule's dict form plus a ``[zoho]`` table (the TOML file shape)."""
        out = self.schedule.to_dict()
        zoho = {
            k: v for k, v in (("calendar_id", self.calendar_id), ("user_email", self.user_email))
        }
        out["zoho"] = {k: v for k, v in zoho.items() if v is not None}
        return out


@dataclass(frozen=True)
class HoldRow:
    """One ``booking_holds`` row."""

    id: str
    tenant: str
    calendar_id: str
    start_utc: datetime
    end_utc: datetime
    buffer_before_s: int
    buffer_after_s: int
    expires_at: datetime
    created_at: datetime

    def busy(self) -> Busy:
        """This hold as busy time, with the buffers it was taken with."""
        return Busy(
            self.start_utc,
            self.end_utc,
            BusySource.HOLD,
            buffer_before=timedelta(seconds=self.buffer_before_s),
            buffer_after=timedelta(seconds=self.buffer_after_s),
        )


@dataclass(frozen=True)
class BookingRow:
    """One ``bookings`` row (``customer`` decoded from JSON)."""

    id: str
    tenant: str
    calendar_id: str
    start_utc: datetime
    end_utc: datetime
    active_start: datetime | None
    buffer_before_s: int
    buffer_after_s: int
    state: str
    event_synced: bool
    crm_synced: bool
    pending_reason: str | None
    attempts: int
    title: str
    booker_zone: str
    customer: dict[str, Any]
    idempotency_key: str | None
    zoho_event_uid: str | None
    zoho_event_etag: str | None
    crm_module: str | None
    crm_record_id: str | None
    lease_owner: str | None
    lease_until: datetime | None
    created_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None

    def busy(self) -> Busy:
        """This booking as busy time, keeping the buffers it was booked with."""
        return Busy(
            self.start_utc,
            self.end_utc,
            BusySource.BOOKING,
            buffer_before=timedelta(seconds=self.buffer_before_s),
            buffer_after=timedelta(seconds=self.buffer_after_s),
        )


_BOOKING_COLUMNS = [bookings.c[f.name] for f in fields(BookingRow)]
_HOLD_COLUMNS = [booking_holds.c[f.name] for f in fields(HoldRow)]


def _booking(row: Any) -> BookingRow:
    values = dict(row._mapping)
    values["customer"] = json.loads(values["customer"])
    values["event_synced"] = bool(values["event_synced"])
    values["crm_synced"] = bool(values["crm_synced"])
    return BookingRow(**values)


def _hold(row: Any) -> HoldRow:
    return HoldRow(**row._mapping)


#: Called inside the serialized transaction with the tenant's own busy time (active bookings
#: and unexpired holds near the slot); raises to refuse the write.
Check = Callable[[list[Busy]], None]


class BookingStore:
    """Reads and serialized writes of schedules, holds and bookings on one async engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

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
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(booking_schedules).where(booking_schedules.c.tenant == tenant)
                )
            ).first()
        if row is None:
            return None
        return TenantSchedule(
            tenant,
            Schedule.from_dict(json.loads(row.schedule)),
            row.calendar_id,
            row.user_email,
            row.updated_at,
        )

    async def list_schedules(self) -> list[TenantSchedule]:
        """Every tenant's schedule, by tenant."""
        async with self.engine.connect() as conn:
            tenants = (
                await conn.execute(
                    select(booking_schedules.c.tenant).order_by(booking_schedules.c.tenant)
                )
            ).scalars()
            names = list(tenants)
        found = [await self.get_schedule(name) for name in names]
        return [entry for entry in found if entry is not None]

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
        query = select(*_BOOKING_COLUMNS).where(
            bookings.c.tenant == tenant,
            bookings.c.active_start.is_not(None),
            bookings.c.start_utc < hi,
            bookings.c.end_utc > lo,
        )
        if exclude_booking is not None:
            query = query.where(bookings.c.id != exclude_booking)
        busy = [_booking(row).busy() for row in await conn.execute(query)]
        holds = select(*_HOLD_COLUMNS).where(
            booking_holds.c.tenant == tenant,
            booking_holds.c.expires_at > now,
            booking_holds.c.start_utc < hi,
            booking_holds.c.end_utc > lo,
        )
        if exclude_hold is not None:
            holds = holds.where(booking_holds.c.id != exclude_hold)
        busy.extend(_hold(row).busy() for row in await conn.execute(holds))
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
            await conn.execute(insert(booking_holds).values(**_values(hold)))

    async def get_hold(self, tenant: str, hold_id: str) -> HoldRow | None:
        """One hold (expired or not), or ``None``."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(*_HOLD_COLUMNS).where(
                        booking_holds.c.tenant == tenant, booking_holds.c.id == hold_id
                    )
                )
            ).first()
        return _hold(row) if row is not None else None

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
                await conn.execute(insert(bookings).values(**_values(booking, customer=True)))
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
                    .where(
                        bookings.c.tenant == tenant,
                        bookings.c.id == booking_id,
                        bookings.c.state == "active",
                    )
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
        free = or_(
            bookings.c.lease_owner.is_(None),
            bookings.c.lease_until.is_(None),
            bookings.c.lease_until <= now,
            bookings.c.lease_owner == owner,
        )
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
                .where(
                    bookings.c.tenant == tenant,
                    bookings.c.id == booking_id,
                    bookings.c.state == "active",
                )
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

    async def _get(self, conn: AsyncConnection, tenant: str, booking_id: str) -> BookingRow | None:
        row = (
            await conn.execute(
                select(*_BOOKING_COLUMNS).where(
                    bookings.c.tenant == tenant, bookings.c.id == booking_id
                )
            )
        ).first()
        return _booking(row) if row is not None else None

    async def _by_key(self, conn: AsyncConnection, tenant: str, key: str) -> BookingRow | None:
        row = (
            await conn.execute(
                select(*_BOOKING_COLUMNS).where(
                    bookings.c.tenant == tenant, bookings.c.idempotency_key == key
                )
            )
        ).first()
        return _booking(row) if row is not None else None

    async def get(self, tenant: str, booking_id: str) -> BookingRow | None:
        """One booking, or ``None``."""
        async with self.engine.connect() as conn:
            return await self._get(conn, tenant, booking_id)

    async def by_idempotency_key(self, tenant: str, key: str) -> BookingRow | None:
        """The booking made with ``key``, or ``None``."""
        async with self.engine.connect() as conn:
            return await self._by_key(conn, tenant, key)

    async def list(
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
        query = select(*_BOOKING_COLUMNS)
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
            query = query.where(
                or_(bookings.c.event_synced.is_(False), bookings.c.crm_synced.is_(False))
            )
        async with self.engine.connect() as conn:
            return [_booking(row) for row in await conn.execute(query)]

    async def count_unsynced(self, *, tenant: str | None = None) -> int:
        """How many bookings Zoho does not reflect yet (of one tenant, or all)."""
        query = select(func.count()).where(
            or_(bookings.c.event_synced.is_(False), bookings.c.crm_synced.is_(False))
        )
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
                .where(
                    bookings.c.tenant == tenant,
                    bookings.c.id == booking_id,
                    or_(
                        bookings.c.lease_owner.is_(None),
                        bookings.c.lease_until.is_(None),
                        bookings.c.lease_until <= now,
                        bookings.c.lease_owner == owner,
                    ),
                )
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
        mine = and_(
            bookings.c.tenant == tenant,
            bookings.c.id == booking_id,
            bookings.c.lease_owner == owner,
        )
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
                .where(
                    and_(
                        bookings.c.tenant == tenant,
                        bookings.c.id == booking_id,
                        bookings.c.lease_owner == owner,
                    )
                )
                .values(lease_owner=None, lease_until=None)
            )

    async def count(self, tenant: str) -> int:
        """How many bookings (any state) a tenant has."""
        async with self.engine.connect() as conn:
            value = await conn.scalar(
                select(func.count()).select_from(bookings).where(bookings.c.tenant == tenant)
            )
        return int(value or 0)


def _values(row: BookingRow | HoldRow, *, customer: bool = False) -> dict[str, Any]:
    values = {f.name: getattr(row, f.name) for f in fields(row)}
    if customer:
        values["customer"] = json.dumps(values["customer"], sort_keys=True)
    return values
