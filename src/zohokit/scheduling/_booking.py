"""The booking flow: hold a slot, confirm it, write it to Zoho Calendar and Zoho CRM.

::

    service = BookingService.over(engine, http)          # or BookingService(engine, ...)
    await service.set_schedule("acme", schedule, calendar_id=None, user_email="ann@acme.com")
    slots = await service.availability("acme", date(2031, 3, 3), date(2031, 3, 7), tz="UTC")
    hold = await service.hold("acme", slots[0].start_utc)
    booking = await service.confirm(
        "acme", hold_id=hold.id, customer=Customer("bo@example.com", "Bo", "Lee"),
        idempotency_key=request.headers["Idempotency-Key"],
    )
    booking.status          # "complete", or "pending" with booking.pending_reason

Order of a confirmation:

1. read fresh busy time from Zoho (free/busy of the schedule's user, or the calendar's
   events): if it cannot be read, fail closed with ``FreeBusyUnavailable``;
2. in one transaction serialized per tenant (see :mod:`zohokit.scheduling._store`), re-check
   the slot against that busy time, our other bookings and other holds (not the hold being
   confirmed), delete the hold and insert the booking: the slot is ours, or ``SlotTaken``;
3. outside the transaction, create the Calendar event and upsert the customer into the CRM.
   Each Zoho id is recorded as soon as it is known. A Zoho failure leaves the booking
   ``pending`` with its ``pending_reason``; :meth:`BookingService.retry_pending` finishes it.

Nothing is created twice: the event carries a marker (``[zohokit-booking:<id>]`` in its
description) that is looked up before creating again, so an answer lost after Zoho wrote
the event is found on retry; the CRM write is an upsert on the match field; a per-booking
lease keeps two retries from working on one booking at once.
"""

from __future__ import annotations

import builtins
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine

from zohokit.availability import (
    Busy,
    InvalidSchedule,
    Schedule,
    Slot,
    available_slots,
    is_bookable,
    load_zone,
)
from zohokit.errors import NotFound, PreconditionFailed, ZohoError
from zohokit.scheduling._store import (
    BookingRow,
    BookingStore,
    Check,
    DuplicateSlot,
    HoldRow,
    TenantSchedule,
    new_id,
)

if TYPE_CHECKING:
    from zohokit.calendar import ZohoCalendarService
    from zohokit.crm import ZohoCRMService
    from zohokit.http import ZohoHTTP
    from zohokit.settings import Settings

__all__ = [
    "Booking",
    "BookingError",
    "BookingNotFound",
    "BookingService",
    "CrmMapping",
    "Customer",
    "Hold",
    "HoldExpired",
    "HoldNotFound",
    "IdempotencyConflict",
    "ScheduleNotFound",
    "SlotNotOffered",
    "SlotTaken",
    "load_schedule_file",
    "parse_schedule_file",
]

MARKER = "zohokit-booking"
#: Busy time is read this far around the asked range: buffers, other zones and all-day
#: events (whole dates) reach past it.
_MARGIN = timedelta(days=2)


# --- errors ----------------------------------------------------------------------------------


class BookingError(ZohoError):
    """A booking request cannot be done as asked (the HTTP service maps these to 4xx)."""


class SlotTaken(BookingError):
    """The slot is no longer free: another booking or hold has it, or Zoho shows it busy (409)."""


class SlotNotOffered(BookingError):
    """The time is not a slot of the schedule (outside hours, off the grid, too soon, past the
    booking window), whatever else is booked (422)."""


class BookingNotFound(BookingError):
    """No booking with this id for this tenant (404)."""


class HoldNotFound(BookingError):
    """No hold with this id for this tenant, or it was already confirmed or released (404)."""


class HoldExpired(HoldNotFound):
    """The hold ran out before it was confirmed; hold the slot again (410)."""


class ScheduleNotFound(BookingError):
    """The tenant has no schedule yet: ``zohokit schedule set TENANT --file ...`` (404)."""


class IdempotencyConflict(BookingError):
    """This idempotency key already made a booking for a different slot (422)."""


# --- values ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Customer:
    """Who booked. ``notes`` are the booker's own words: they go into the calendar event and
    the CRM summary. ``fields`` are extra CRM fields written as given (``{"Lead_Source": ...}``).
    """

    email: str
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    notes: str | None = None

    def __post_init__(self) -> None:
        if "@" not in self.email:
            raise ValueError(f"a customer needs an email address, got {self.email!r}")

    @property
    def name(self) -> str:
        """The full name, or the email's local part when no name was given."""
        full = " ".join(p for p in (self.first_name, self.last_name) if p)
        return full or self.email.split("@", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "phone": self.phone,
            "fields": dict(self.fields),
            "notes": self.notes,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Customer:
        """Read :meth:`to_dict`'s shape (``fields`` optional)."""
        return cls(
            email=str(data["email"]),
            first_name=data.get("first_name"),
            last_name=data.get("last_name"),
            phone=data.get("phone"),
            fields=dict(data.get("fields") or {}),
            notes=data.get("notes"),
        )


def _default_crm_fields() -> dict[str, str]:
    return {
        "Email": "email",
        "First_Name": "first_name",
        "Last_Name": "last_name",
        "Phone": "phone",
        "Description": "booking_summary",
    }


@dataclass(frozen=True)
class CrmMapping:
    """Where a booking's customer goes in Zoho CRM.

    ``module`` and ``match_field`` (the upsert's duplicate check) default to Contacts by
    Email. ``fields`` maps a CRM field to a source: ``email``, ``first_name``, ``last_name``
    (the email's local part when unknown, since Contacts require it), ``phone``, ``name``,
    ``booking_id``, ``booking_start`` / ``booking_end`` (ISO UTC), ``booking_status``
    (``confirmed`` or ``cancelled``), ``notes`` (the booker's) and ``booking_summary`` (one
    readable line, then the booker's notes on the next line when there are any). Empty sources
    are left out, and the customer's own ``fields`` are added as given.
    """

    module: str = "Contacts"
    match_field: str = "Email"
    fields: Mapping[str, str] = field(default_factory=_default_crm_fields)

    def record(self, customer: Customer, booking: BookingRow) -> dict[str, Any]:
        """The CRM record for ``customer`` as of ``booking``'s current state."""
        status = "confirmed" if booking.state == "active" else "cancelled"
        when = f"{booking.start_utc:%Y-%m-%d %H:%M} UTC"
        if booking.booker_zone != "UTC":
            local = booking.start_utc.astimezone(load_zone(booking.booker_zone))
            when += f" ({local:%Y-%m-%d %H:%M} {booking.booker_zone})"
        summary = f"{booking.title}: {when}, {status} (booking {booking.id})"
        if customer.notes:
            summary += f"\nNotes: {customer.notes}"
        sources: dict[str, Any] = {
            "email": customer.email,
            "first_name": customer.first_name,
            "last_name": customer.last_name or customer.name,
            "phone": customer.phone,
            "name": customer.name,
            "booking_id": booking.id,
            "booking_start": booking.start_utc.isoformat(),
            "booking_end": booking.end_utc.isoformat(),
            "booking_status": status,
            "notes": customer.notes,
            "booking_summary": summary,
        }
        record: dict[str, Any] = {}
        for crm_field, source in self.fields.items():
            if source not in sources:
                raise ValueError(f"unknown CRM mapping source {source!r} for {crm_field}")
            if sources[source] not in (None, ""):
                record[crm_field] = sources[source]
        record.update(customer.fields)
        return record


@dataclass(frozen=True)
class Hold:
    """A slot held for a booker until ``expires_at`` (UTC); confirm it with its ``id``."""

    id: str
    tenant: str
    start: datetime
    end: datetime
    expires_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (ISO 8601 times)."""
        return {
            "id": self.id,
            "tenant": self.tenant,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "expires_at": self.expires_at.isoformat(),
        }

    @classmethod
    def _of(cls, row: HoldRow) -> Hold:
        return cls(row.id, row.tenant, row.start_utc, row.end_utc, row.expires_at)


@dataclass(frozen=True)
class Booking:
    """A booking as the booker and the operator see it.

    ``status`` is ``complete`` (Zoho has the event and the CRM record), ``pending`` (booked
    here, Zoho not up to date: ``pending_reason`` says why), ``cancel_pending`` (cancelled
    here, Zoho not updated yet) or ``cancelled``. ``start``/``end`` are UTC; ``local_start``
    and ``local_end`` are the same instants in ``booker_zone``.
    """

    id: str
    tenant: str
    status: str
    start: datetime
    end: datetime
    local_start: datetime
    local_end: datetime
    booker_zone: str
    title: str
    customer: Customer
    calendar_id: str
    zoho_event_uid: str | None
    crm_module: str | None
    crm_record_id: str | None
    pending_reason: str | None
    attempts: int
    idempotency_key: str | None
    created_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None

    @classmethod
    def of(cls, row: BookingRow) -> Booking:
        """The view of a stored row."""
        synced = row.event_synced and row.crm_synced
        if row.state == "active":
            status = "complete" if synced else "pending"
        else:
            status = "cancelled" if synced else "cancel_pending"
        zone = load_zone(row.booker_zone)
        return cls(
            id=row.id,
            tenant=row.tenant,
            status=status,
            start=row.start_utc,
            end=row.end_utc,
            local_start=row.start_utc.astimezone(zone),
            local_end=row.end_utc.astimezone(zone),
            booker_zone=row.booker_zone,
            title=row.title,
            customer=Customer.from_dict(row.customer),
            calendar_id=row.calendar_id,
            zoho_event_uid=row.zoho_event_uid,
            crm_module=row.crm_module,
            crm_record_id=row.crm_record_id,
            pending_reason=None if synced else row.pending_reason,
            attempts=row.attempts,
            idempotency_key=row.idempotency_key,
            created_at=row.created_at,
            updated_at=row.updated_at,
            cancelled_at=row.cancelled_at,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (ISO 8601 times)."""

        def iso(moment: datetime | None) -> str | None:
            return moment.isoformat() if moment is not None else None

        return {
            "id": self.id,
            "tenant": self.tenant,
            "status": self.status,
            "start": iso(self.start),
            "end": iso(self.end),
            "local_start": iso(self.local_start),
            "local_end": iso(self.local_end),
            "booker_zone": self.booker_zone,
            "title": self.title,
            "customer": self.customer.to_dict(),
            "calendar_id": self.calendar_id,
            "zoho_event_uid": self.zoho_event_uid,
            "crm_module": self.crm_module,
            "crm_record_id": self.crm_record_id,
            "pending_reason": self.pending_reason,
            "attempts": self.attempts,
            "idempotency_key": self.idempotency_key,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "cancelled_at": iso(self.cancelled_at),
        }


def parse_schedule_file(tenant: str, data: Mapping[str, Any]) -> TenantSchedule:
    """A parsed schedule file (TOML or JSON): the schedule's keys plus an optional ``[zoho]``
    table with ``calendar_id`` and ``user_email``. Raises ``InvalidSchedule``."""
    body = dict(data)
    zoho = body.pop("zoho", None) or {}
    if not isinstance(zoho, Mapping):
        raise InvalidSchedule("zoho", "expected a table with calendar_id and user_email")
    unknown = set(zoho) - {"calendar_id", "user_email"}
    if unknown:
        raise InvalidSchedule(f"zoho.{sorted(unknown)[0]}", "unknown key")
    return TenantSchedule(
        tenant,
        Schedule.from_dict(body),
        calendar_id=zoho.get("calendar_id") or None,
        user_email=zoho.get("user_email") or None,
    )


def load_schedule_file(tenant: str, text: str) -> TenantSchedule:
    """:func:`parse_schedule_file` of a TOML document."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidSchedule("(file)", f"not valid TOML: {exc}") from exc
    return parse_schedule_file(tenant, data)


def _utcnow() -> datetime:
    return datetime.now(UTC)


# --- the service -----------------------------------------------------------------------------


class BookingService:
    """Availability, holds and bookings for many tenants, on one database.

    ``calendar_for(tenant)`` and ``crm_for(tenant)`` give each tenant's Zoho services (see
    :meth:`over` for the usual wiring). ``hold_ttl`` is how long a hold keeps its slot;
    ``lease`` how long one worker may take to write a booking to Zoho before another may
    retry it; ``clock`` returns the current aware time (tests pass their own).

    Every method is a coroutine and safe to call from many tasks and processes at once.
    Errors are :class:`BookingError` subclasses (``SlotTaken``, ``SlotNotOffered``,
    ``BookingNotFound``, ``HoldNotFound``/``HoldExpired``, ``ScheduleNotFound``,
    ``IdempotencyConflict``), ``InvalidSchedule`` and ``FreeBusyUnavailable``; Zoho failures
    after a booking is stored never raise: they leave it ``pending``.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        calendar_for: Callable[[str], ZohoCalendarService],
        crm_for: Callable[[str], ZohoCRMService],
        crm_mapping: CrmMapping | None = None,
        hold_ttl: timedelta = timedelta(minutes=5),
        lease: timedelta = timedelta(minutes=2),
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.store = BookingStore(engine)
        self.calendar_for = calendar_for
        self.crm_for = crm_for
        self.crm_mapping = crm_mapping or CrmMapping()
        self.hold_ttl = hold_ttl
        self.lease = lease
        self.clock = clock

    @classmethod
    def over(
        cls,
        engine: AsyncEngine,
        http: ZohoHTTP,
        *,
        settings: Settings | None = None,
        **kwargs: Any,
    ) -> BookingService:
        """The usual wiring: each tenant's Calendar and CRM services on the shared request
        path ``http`` (tokens from its token service, by tenant)."""
        from zohokit.calendar import ZohoCalendarService
        from zohokit.crm import ZohoCRMService

        def calendar_for(tenant: str) -> ZohoCalendarService:
            return ZohoCalendarService(client_id=tenant, http=http, settings=settings)

        def crm_for(tenant: str) -> ZohoCRMService:
            return ZohoCRMService(client_id=tenant, http=http, settings=settings)

        return cls(engine, calendar_for=calendar_for, crm_for=crm_for, **kwargs)

    # --- schedules --------------------------------------------------------------------------

    async def set_schedule(
        self,
        tenant: str,
        schedule: Schedule,
        *,
        calendar_id: str | None = None,
        user_email: str | None = None,
    ) -> TenantSchedule:
        """Store (replace) a tenant's schedule, the calendar bookings go to, and the user whose
        free/busy is busy time (``None``: the calendar's own events are)."""
        entry = TenantSchedule(tenant, schedule, calendar_id, user_email)
        await self.store.set_schedule(entry, now=self.clock())
        return await self.get_schedule(tenant)

    async def get_schedule(self, tenant: str) -> TenantSchedule:
        """A tenant's schedule, or :class:`ScheduleNotFound`."""
        entry = await self.store.get_schedule(tenant)
        if entry is None:
            raise ScheduleNotFound(f"tenant {tenant!r} has no schedule", tenant=tenant)
        return entry

    # --- availability -----------------------------------------------------------------------

    async def availability(
        self,
        tenant: str,
        start: date,
        end: date,
        duration: int | None = None,
        tz: str | None = None,
    ) -> builtins.list[Slot]:
        """Bookable slots on the booker's dates ``start`` to ``end`` (inclusive) in ``tz``
        (default: the schedule's zone), ``duration`` minutes long (default: the schedule's).

        Busy time is Zoho's (fresh) plus our bookings and unexpired holds. Raises
        ``FreeBusyUnavailable`` rather than offer slots it could not check.
        """
        entry = await self.get_schedule(tenant)
        schedule = _with_duration(entry.schedule, duration)
        booker = load_zone(tz) if tz else schedule.zone
        lo = datetime.combine(start, time(), booker) - _MARGIN
        hi = datetime.combine(end + timedelta(days=1), time(), booker) + _MARGIN
        now = self.clock()
        busy = await self._zoho_busy(entry, lo, hi)
        busy += await self.store.own_busy(tenant, lo, hi, now=now)
        return available_slots(schedule, busy, start=start, end=end, now=now, booker_zone=booker)

    # --- holds ------------------------------------------------------------------------------

    async def hold(self, tenant: str, start: datetime, *, duration: int | None = None) -> Hold:
        """Hold the slot starting at ``start`` (aware) for ``hold_ttl``: nobody else can hold
        or book it meanwhile. Raises ``SlotTaken`` or ``SlotNotOffered``."""
        entry = await self.get_schedule(tenant)
        schedule = _with_duration(entry.schedule, duration)
        start = _utc(start)
        end = start + schedule.slot_duration
        now = self.clock()
        zoho = await self._zoho_busy(entry, start - _MARGIN, end + _MARGIN)
        row = HoldRow(
            id=new_id(),
            tenant=tenant,
            calendar_id=self._calendar_id(entry),
            start_utc=start,
            end_utc=end,
            buffer_before_s=int(schedule.buffer_before.total_seconds()),
            buffer_after_s=int(schedule.buffer_after.total_seconds()),
            expires_at=now + self.hold_ttl,
            created_at=now,
        )
        await self.store.add_hold(row, _checker(tenant, schedule, zoho, start, now), now=now)
        return Hold._of(row)

    async def release(self, tenant: str, hold_id: str) -> None:
        """Give a held slot back before it expires. Raises ``HoldNotFound``."""
        if not await self.store.release_hold(tenant, hold_id):
            raise HoldNotFound(f"no hold {hold_id}", tenant=tenant)

    # --- bookings ---------------------------------------------------------------------------

    async def confirm(
        self,
        tenant: str,
        *,
        customer: Customer,
        hold_id: str | None = None,
        start: datetime | None = None,
        idempotency_key: str | None = None,
        title: str | None = None,
        duration: int | None = None,
        tz: str | None = None,
    ) -> Booking:
        """Book a held slot (``hold_id``) or a free one (``start``) for ``customer``.

        The same ``idempotency_key`` (per tenant) returns the first booking made with it and
        writes nothing more; with a different slot it raises ``IdempotencyConflict``.
        Raises ``SlotTaken`` when the slot went to someone else, ``SlotNotOffered``,
        ``HoldNotFound``/``HoldExpired``, ``FreeBusyUnavailable``. Zoho is written after the
        booking is stored: the result is ``complete``, or ``pending`` with the reason.
        ``tz`` is the booker's zone (shown in ``local_start``; default the schedule's).
        """
        if (hold_id is None) == (start is None):
            raise ValueError("confirm takes exactly one of hold_id and start")
        now = self.clock()
        hold: HoldRow | None = None
        if hold_id is not None:
            hold = await self.store.get_hold(tenant, hold_id)
        if idempotency_key is not None:
            existing = await self.store.by_idempotency_key(tenant, idempotency_key)
            if existing is not None:
                return _replayed(existing, hold.start_utc if hold else start, idempotency_key)
        if hold_id is not None:
            if hold is None:
                raise HoldNotFound(f"no hold {hold_id} (confirmed or released?)", tenant=tenant)
            if hold.expires_at <= now:
                raise HoldExpired(f"hold {hold_id} expired at {hold.expires_at}", tenant=tenant)
        entry = await self.get_schedule(tenant)
        schedule = entry.schedule
        if hold is not None:
            begin, finish = hold.start_utc, hold.end_utc
            schedule = replace(schedule, slot_duration=finish - begin)
        else:
            assert start is not None
            schedule = _with_duration(schedule, duration)
            begin = _utc(start)
            finish = begin + schedule.slot_duration
        zoho = await self._zoho_busy(entry, begin - _MARGIN, finish + _MARGIN)
        owner = new_id()
        row = BookingRow(
            id=new_id(),
            tenant=tenant,
            calendar_id=self._calendar_id(entry),
            start_utc=begin,
            end_utc=finish,
            active_start=begin,
            buffer_before_s=int(schedule.buffer_before.total_seconds()),
            buffer_after_s=int(schedule.buffer_after.total_seconds()),
            state="active",
            event_synced=False,
            crm_synced=False,
            pending_reason="Zoho not written yet",
            attempts=0,
            title=title or f"Meeting with {customer.name}",
            booker_zone=tz or entry.schedule.time_zone,
            customer=customer.to_dict(),
            idempotency_key=idempotency_key,
            zoho_event_uid=None,
            zoho_event_etag=None,
            crm_module=self.crm_mapping.module,
            crm_record_id=None,
            lease_owner=owner,
            lease_until=now + self.lease,
            created_at=now,
            updated_at=now,
            cancelled_at=None,
        )
        try:
            stored = await self.store.insert_booking(
                row, _checker(tenant, schedule, zoho, begin, now), now=now, hold_id=hold_id
            )
        except DuplicateSlot as exc:
            raise SlotTaken(f"the slot at {begin.isoformat()} is taken", tenant=tenant) from exc
        if stored.id != row.id:  # a concurrent request with the same key won
            return _replayed(stored, begin, idempotency_key)
        return Booking.of(await self._sync(stored, owner))

    async def cancel(self, tenant: str, booking_id: str) -> Booking:
        """Cancel a booking: its slot is free at once; the Calendar event is deleted (with its
        etag) and the CRM record updated. Cancelling twice is harmless."""
        current = await self._row(tenant, booking_id)
        if current.state == "cancelled":
            return Booking.of(current)
        owner, now = new_id(), self.clock()
        row = await self.store.cancel_booking(
            tenant, booking_id, now=now, lease_owner=owner, lease_until=now + self.lease
        )
        if row is None:
            raise BookingNotFound(f"no booking {booking_id}", tenant=tenant)
        if row.lease_owner != owner:  # cancelled by a concurrent call: it does the Zoho part
            return Booking.of(row)
        return Booking.of(await self._sync(row, owner))

    async def reschedule(
        self, tenant: str, booking_id: str, start: datetime, *, duration: int | None = None
    ) -> Booking:
        """Move an active booking to the slot at ``start`` (same length unless ``duration``):
        checked like a new booking, ignoring the booking itself; the event is moved (with its
        etag) and the CRM record updated. Raises ``SlotTaken``/``SlotNotOffered``."""
        current = await self._row(tenant, booking_id)
        if current.state != "active":
            raise BookingNotFound(f"booking {booking_id} is cancelled", tenant=tenant)
        entry = await self.get_schedule(tenant)
        length = timedelta(minutes=duration) if duration else current.end_utc - current.start_utc
        schedule = replace(entry.schedule, slot_duration=length)
        begin = _utc(start)
        finish = begin + length
        zoho = await self._zoho_busy(
            entry, begin - _MARGIN, finish + _MARGIN, exclude_event_uid=current.zoho_event_uid
        )
        owner, now = new_id(), self.clock()
        try:
            row = await self.store.move_booking(
                tenant,
                booking_id,
                begin,
                finish,
                _checker(tenant, schedule, zoho, begin, now),
                now=now,
                lease_owner=owner,
                lease_until=now + self.lease,
            )
        except DuplicateSlot as exc:
            raise SlotTaken(f"the slot at {begin.isoformat()} is taken", tenant=tenant) from exc
        if row is None:
            raise BookingNotFound(f"booking {booking_id} is not active", tenant=tenant)
        if row.lease_owner != owner:  # a worker is still writing to Zoho: it moves the event
            return Booking.of(row)
        return Booking.of(await self._sync(row, owner))

    async def get(self, tenant: str, booking_id: str) -> Booking:
        """One booking, or ``BookingNotFound``."""
        return Booking.of(await self._row(tenant, booking_id))

    async def list(
        self,
        tenant: str | None = None,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        status: str | None = None,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> builtins.list[Booking]:
        """Bookings by start time (``newest_first``: the latest made first): of one tenant (or
        all), overlapping ``[start, end)``, with one ``status`` (``complete``, ``pending``,
        ``cancel_pending``, ``cancelled``); at most ``limit`` of them."""
        if status is not None:
            # Status is derived from several columns: filter here, then cut to the limit.
            rows = await self.store.list(
                tenant=tenant, start=start, end=end, newest_first=newest_first
            )
            found = [b for b in map(Booking.of, rows) if b.status == status]
            return found[:limit] if limit is not None else found
        rows = await self.store.list(
            tenant=tenant, start=start, end=end, newest_first=newest_first, limit=limit
        )
        return [Booking.of(row) for row in rows]

    async def count_unsynced(self, tenant: str | None = None) -> int:
        """How many bookings wait for Zoho (``pending`` or ``cancel_pending``)."""
        return await self.store.count_unsynced(tenant=tenant)

    async def retry_pending(self, tenant: str | None = None) -> builtins.list[Booking]:
        """Finish every booking Zoho does not reflect yet (of one tenant, or all): create or
        move its event, delete a cancelled one's, upsert the CRM record. Bookings another
        worker is writing right now (unexpired lease) are skipped. Returns the bookings
        tried, as they are afterwards."""
        done = []
        for row in await self.store.list(tenant=tenant, unsynced_only=True):
            owner, now = new_id(), self.clock()
            if not await self.store.try_lease(
                row.tenant, row.id, owner=owner, now=now, until=now + self.lease
            ):
                continue
            fresh = await self.store.get(row.tenant, row.id)
            if fresh is None:
                continue
            done.append(Booking.of(await self._sync(fresh, owner)))
        return done

    # --- Zoho -------------------------------------------------------------------------------

    def _calendar_id(self, entry: TenantSchedule) -> str:
        if entry.calendar_id:
            return entry.calendar_id
        return self.calendar_for(entry.tenant).calendar_id or ""

    async def _zoho_busy(
        self,
        entry: TenantSchedule,
        start: datetime,
        end: datetime,
        *,
        exclude_event_uid: str | None = None,
    ) -> builtins.list[Busy]:
        calendar = self.calendar_for(entry.tenant)
        return await calendar.get_busy(
            start,
            end,
            user_email=entry.user_email,
            calendar_id=entry.calendar_id,
            exclude_event_uid=exclude_event_uid,
        )

    async def _row(self, tenant: str, booking_id: str) -> BookingRow:
        row = await self.store.get(tenant, booking_id)
        if row is None:
            raise BookingNotFound(f"no booking {booking_id}", tenant=tenant)
        return row

    async def _sync(self, row: BookingRow, owner: str) -> BookingRow:
        """Make Zoho match ``row`` (we hold its lease); record each step as it lands.

        Never raises a Zoho error: a failure is recorded as the booking's pending reason.
        """
        tenant, latest = row.tenant, row
        step = "calendar event"
        try:
            # A cancel or a move that lands while we write leaves the row unsynced for its new
            # state (the lease stays ours): go round again, a bounded number of times.
            for _ in range(_SYNC_ROUNDS):
                step = "calendar event"
                if not latest.event_synced:
                    latest = await self._sync_event(latest, owner)
                step = "CRM upsert"
                if not latest.crm_synced:
                    latest = await self._sync_crm(latest, owner)
                if latest.event_synced and latest.crm_synced:
                    break
        except (ZohoError, ValueError) as exc:
            recorded = await self.store.record(
                tenant,
                latest.id,
                owner=owner,
                now=self.clock(),
                pending_reason=f"{step} failed: {exc}"[:2000],
                attempts=latest.attempts + 1,
            )
            latest = recorded or latest
        finally:
            await self.store.release(tenant, row.id, owner=owner)
        return await self.store.get(tenant, row.id) or latest

    async def _sync_event(self, row: BookingRow, owner: str) -> BookingRow:
        calendar = self.calendar_for(row.tenant)
        uid, etag = row.zoho_event_uid, row.zoho_event_etag
        if uid is None:
            found = await self._find_event(calendar, row)
            if found is not None:
                uid, etag = str(found["uid"]), str(found.get("etag") or "") or None
        if row.state == "cancelled":
            if uid is not None:
                await self._delete_event(calendar, row, uid, etag)
            values: dict[str, Any] = {"event_synced": True, "zoho_event_etag": None}
        elif uid is None:
            customer = Customer.from_dict(row.customer)
            event = await calendar.create_event(
                row.title,
                row.start_utc,
                row.end_utc,
                description=_description(row),
                attendees=[customer.email],
                timezone=row.booker_zone,
                calendar_id=row.calendar_id or None,
            )
            values = {"event_synced": True, "zoho_event_uid": str(event["uid"])}
            values["zoho_event_etag"] = str(event.get("etag") or "") or None
        else:
            moved = await self._move_event(calendar, row, uid, etag)
            if moved is None:  # deleted in Zoho behind our back: make a new one next time
                values = {"zoho_event_uid": None, "zoho_event_etag": None}
                recorded = await self.store.record(
                    row.tenant, row.id, owner=owner, now=self.clock(), **values
                )
                return await self._sync_event(recorded or row, owner)
            values = {"event_synced": True, "zoho_event_uid": uid}
            values["zoho_event_etag"] = str(moved.get("etag") or "") or None
        recorded = await self.store.record(
            row.tenant, row.id, owner=owner, now=self.clock(), synced_for=row, **values
        )
        if recorded is None:
            raise _LeaseLost(row)
        return recorded

    async def _find_event(
        self, calendar: ZohoCalendarService, row: BookingRow
    ) -> dict[str, Any] | None:
        """The event an earlier attempt created (its answer may have been lost), by marker."""
        marker = _marker(row.id)
        events = await calendar.list_events(
            row.start_utc - timedelta(minutes=1),
            row.end_utc + timedelta(minutes=1),
            calendar_id=row.calendar_id or None,
            with_description=True,
        )
        for event in events:
            if marker in str(event.get("description") or ""):
                return event
        return None

    async def _move_event(
        self, calendar: ZohoCalendarService, row: BookingRow, uid: str, etag: str | None
    ) -> dict[str, Any] | None:
        cal = row.calendar_id or None
        try:
            try:
                return await calendar.update_event(
                    uid, start=row.start_utc, end=row.end_utc, etag=etag, calendar_id=cal
                )
            except PreconditionFailed:
                # Someone edited the event in Zoho (a note, a title): move it anyway, on its
                # current etag; the booking's time is ours to decide.
                return await calendar.update_event(
                    uid, start=row.start_utc, end=row.end_utc, calendar_id=cal
                )
        except NotFound:
            return None

    async def _delete_event(
        self, calendar: ZohoCalendarService, row: BookingRow, uid: str, etag: str | None
    ) -> None:
        cal = row.calendar_id or None
        try:
            try:
                await calendar.delete_event(uid, etag=etag, calendar_id=cal)
            except PreconditionFailed:
                await calendar.delete_event(uid, calendar_id=cal)
        except NotFound:
            pass  # already gone: what we wanted

    async def _sync_crm(self, row: BookingRow, owner: str) -> BookingRow:
        crm = self.crm_for(row.tenant)
        mapping = self.crm_mapping
        record = mapping.record(Customer.from_dict(row.customer), row)
        results = await crm.upsert_records(
            mapping.module, [record], duplicate_check_fields=[mapping.match_field]
        )
        results[0].raise_for_error()
        recorded = await self.store.record(
            row.tenant,
            row.id,
            owner=owner,
            now=self.clock(),
            synced_for=row,
            crm_synced=True,
            crm_module=mapping.module,
            crm_record_id=results[0].id or row.crm_record_id,
            pending_reason=None,
        )
        if recorded is None:
            raise _LeaseLost(row)
        return recorded


#: Rounds of Zoho writes one sync makes when the booking changes under it (cancel, move).
_SYNC_ROUNDS = 3


class _LeaseLost(ZohoError):
    """Another worker took over this booking's Zoho writes (our lease ran out)."""

    def __init__(self, row: BookingRow) -> None:
        super().__init__(f"lease on booking {row.id} was lost", tenant=row.tenant)


def _marker(booking_id: str) -> str:
    return f"[{MARKER}:{booking_id}]"


def _description(row: BookingRow) -> str:
    customer = Customer.from_dict(row.customer)
    lines = [f"Booked by {customer.name} <{customer.email}>"]
    if customer.phone:
        lines.append(f"Phone: {customer.phone}")
    if customer.notes:
        lines.append(f"Notes: {customer.notes}")
    lines.append(_marker(row.id))
    return "\n".join(lines)


def _with_duration(schedule: Schedule, minutes: int | None) -> Schedule:
    if not minutes:
        return schedule
    return replace(schedule, slot_duration=timedelta(minutes=minutes))


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a slot start must be a timezone-aware datetime")
    return moment.astimezone(UTC)


def _checker(
    tenant: str, schedule: Schedule, zoho: builtins.list[Busy], start: datetime, now: datetime
) -> Check:
    """The re-check run inside the serialized transaction with our own busy time."""

    def check(own: builtins.list[Busy]) -> None:
        if is_bookable(schedule, [*zoho, *own], start=start, now=now):
            return
        if not is_bookable(schedule, [], start=start, now=now):
            raise SlotNotOffered(
                f"{start.isoformat()} is not a slot of the schedule", tenant=tenant
            )
        raise SlotTaken(f"the slot at {start.isoformat()} is taken", tenant=tenant)

    return check


def _replayed(row: BookingRow, start: datetime | None, key: str | None) -> Booking:
    if start is not None and _utc(start) != row.start_utc and row.state == "active":
        raise IdempotencyConflict(
            f"idempotency key {key!r} already booked {row.start_utc.isoformat()}",
            tenant=row.tenant,
        )
    return Booking.of(row)
