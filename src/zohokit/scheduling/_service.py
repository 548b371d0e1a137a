"""The booking flow: hold a slot, confirm it, write it to Zoho Calendar and Zoho CRM.

::

    service = BookingService.over(engine, http, cipher=cipher)   # or BookingService(...)
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
3. outside the transaction, the Zoho writer (:mod:`zohokit.scheduling._zoho_writer`) creates
   the Calendar event and upserts the customer into the CRM. A Zoho failure leaves the
   booking ``pending`` with its ``pending_reason``; :meth:`BookingService.retry_pending`
   finishes it.

Nothing is created twice: the event carries a marker that is looked up before creating
again, the CRM write is an upsert on the match field, and a per-booking lease keeps two
retries from working on one booking at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine

from zohokit._clock import Clock, system_clock
from zohokit.availability import (
    Busy,
    Schedule,
    Slot,
    Verdict,
    available_slots,
    explain,
    load_zone,
    team_available_slots,
)
from zohokit.scheduling._checks import MARGIN, ZohoBusy, checker, replayed, utc, with_duration
from zohokit.scheduling._errors import (
    BookingNotFound,
    HoldExpired,
    HoldNotFound,
    ScheduleNotFound,
    SlotTaken,
)
from zohokit.scheduling._links import ManageLinks, event_extra
from zohokit.scheduling._models import Booking, CrmMapping, Customer, Hold
from zohokit.scheduling._store import (
    BookingRow,
    BookingStore,
    DuplicateSlot,
    HoldRow,
    TenantSchedule,
    new_id,
)
from zohokit.scheduling._team import Team
from zohokit.scheduling._team_flow import host_checks, team_hold
from zohokit.scheduling._vault import Cipher, Customers, CustomerVault
from zohokit.scheduling._zoho_writer import ZohoWriter

if TYPE_CHECKING:
    from zohokit.calendar import CalendarHealth, ZohoCalendarService
    from zohokit.crm import ZohoCRMService
    from zohokit.http import ZohoHTTP
    from zohokit.settings import Settings

__all__ = ["BookingService"]

#: Bookings ``retry_pending`` writes at once: Zoho's concurrency limit for one organisation.
RETRY_CONCURRENCY = 10


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
        cipher: Cipher,
        calendar_for: Callable[[str], ZohoCalendarService],
        crm_for: Callable[[str], ZohoCRMService],
        crm_mapping: CrmMapping | None = None,
        hold_ttl: timedelta = timedelta(minutes=5),
        lease: timedelta = timedelta(minutes=2),
        clock: Clock = system_clock,
        calendar_health: CalendarHealth | None = None,
        public_url: str | None = None,
    ) -> None:
        self.store = BookingStore(engine, CustomerVault(cipher))  # customers sealed
        self.customers = Customers(engine, self.store.vault)  # by e-mail; re-sealing
        self.calendar_for = calendar_for
        #: The tenants' calendar warnings, when ``calendar_for``'s services share one board.
        self.calendar_health = calendar_health
        self.crm_for = crm_for
        self.crm_mapping = crm_mapping or CrmMapping()
        self.hold_ttl = hold_ttl
        self.lease = lease
        self.clock = clock
        self.zoho_busy = ZohoBusy(calendar_for, self.store)
        #: Signs and checks the customers' manage links (:meth:`ManageLinks.for_booking`).
        self.links = ManageLinks(cipher)
        # Booking events carry the manage links under public_url (ZOHOKIT_PUBLIC_URL).
        self.store.event_extra = event_extra(self.links, public_url)
        self.writer = ZohoWriter(
            self.store,
            calendar_for=calendar_for,
            crm_for=crm_for,
            crm_mapping=self.crm_mapping,
            clock=clock,
        )

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
        from zohokit.calendar import CalendarHealth, ZohoCalendarService
        from zohokit.crm import ZohoCRMService

        health = kwargs.pop("calendar_health", None) or CalendarHealth()

        def calendar_for(tenant: str) -> ZohoCalendarService:
            return ZohoCalendarService(
                client_id=tenant, http=http, settings=settings, health=health
            )

        def crm_for(tenant: str) -> ZohoCRMService:
            return ZohoCRMService(client_id=tenant, http=http, settings=settings)

        return cls(
            engine, calendar_for=calendar_for, crm_for=crm_for, calendar_health=health, **kwargs
        )

    # --- schedules --------------------------------------------------------------------------

    async def set_schedule(
        self,
        tenant: str,
        schedule: Schedule,
        *,
        calendar_id: str | None = None,
        user_email: str | None = None,
        team: Team | None = None,
    ) -> TenantSchedule:
        """Store (replace) a tenant's schedule, the calendar bookings go to, and the user whose
        free/busy is busy time (``None``: the calendar's own events are). With a ``team``,
        bookings go to its hosts' calendars instead (each host's busy time is theirs)."""
        entry = TenantSchedule(tenant, schedule, calendar_id, user_email, team=team)
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
    ) -> list[Slot]:
        """Bookable slots on the booker's dates ``start`` to ``end`` (inclusive) in ``tz``
        (default: the schedule's zone), ``duration`` minutes long (default: the schedule's).

        Busy time is Zoho's (fresh) plus our bookings and unexpired holds. Raises
        ``FreeBusyUnavailable`` rather than offer slots it could not check.
        """
        entry = await self.get_schedule(tenant)
        schedule = with_duration(entry.schedule, duration)
        booker = load_zone(tz) if tz else schedule.zone
        lo = datetime.combine(start, time(), booker) - MARGIN
        hi = datetime.combine(end + timedelta(days=1), time(), booker) + MARGIN
        now = self.clock()
        hosts = await self.zoho_busy.hosts_with_own(entry, lo, hi, now=now, duration=duration)
        if entry.team is None:
            return available_slots(
                schedule, hosts[0].busy, start=start, end=end, now=now, booker_zone=booker
            )
        mode = entry.team.mode
        return list(
            team_available_slots(
                hosts, start=start, end=end, now=now, mode=mode, booker_zone=booker
            )
        )

    async def explain(
        self, tenant: str, start: datetime, end: datetime, *, duration: int | None = None
    ) -> list[Verdict]:
        """Why each slot of ``[start, end)`` is offered or not: a verdict per slot and host
        naming the rule that removed it (see :func:`zohokit.availability.explain`), from the
        same busy time availability reads."""
        entry = await self.get_schedule(tenant)
        lo, hi = utc(start) - MARGIN, utc(end) + MARGIN
        now = self.clock()
        hosts = await self.zoho_busy.hosts_with_own(entry, lo, hi, now=now, duration=duration)
        return explain(hosts, start=utc(start), end=utc(end), now=now)

    # --- holds ------------------------------------------------------------------------------

    async def hold(self, tenant: str, start: datetime, *, duration: int | None = None) -> Hold:
        """Hold the slot starting at ``start`` (aware) for ``hold_ttl``: nobody else can hold
        or book it meanwhile. Raises ``SlotTaken`` or ``SlotNotOffered``."""
        entry = await self.get_schedule(tenant)
        schedule = with_duration(entry.schedule, duration)
        start = utc(start)
        end = start + schedule.slot_duration
        now = self.clock()
        if entry.team is not None:
            return await team_hold(self, entry, start, duration, now)
        zoho = await self.zoho_busy.of_entry(entry, start - MARGIN, end + MARGIN)
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
        await self.store.add_hold(row, checker(tenant, schedule, zoho, start, now), now=now)
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
                return replayed(existing, hold.start_utc if hold else start, idempotency_key)
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
            schedule = with_duration(schedule, duration)
            begin = utc(start)
            finish = begin + schedule.slot_duration
        team = None
        if entry.team is not None:
            checks = await host_checks(self.zoho_busy, entry, begin, finish, now)
            team = (entry.team, checks)
            zoho: list[Busy] = []
        else:
            zoho = await self.zoho_busy.of_entry(entry, begin - MARGIN, finish + MARGIN)
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
                row,
                checker(tenant, schedule, zoho, begin, now),
                now=now,
                hold_id=hold_id,
                team=team,
            )
        except DuplicateSlot as exc:
            raise SlotTaken(f"the slot at {begin.isoformat()} is taken", tenant=tenant) from exc
        if stored.id != row.id:  # a concurrent request with the same key won
            return replayed(stored, begin, idempotency_key)
        return Booking.of(await self.writer.sync(stored, owner))

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
        return Booking.of(await self.writer.sync(row, owner))

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
        begin = utc(start)
        finish = begin + length
        owner, now = new_id(), self.clock()
        per_host = None
        zoho: list[Busy] = []
        if entry.team is not None and current.hosts:
            per_host = await host_checks(
                self.zoho_busy, entry, begin, finish, now, exclude_event_uid=current.zoho_event_uid
            )
        else:
            zoho = await self.zoho_busy.of_entry(
                entry, begin - MARGIN, finish + MARGIN, exclude_event_uid=current.zoho_event_uid
            )
        try:
            row = await self.store.move_booking(
                tenant,
                booking_id,
                begin,
                finish,
                checker(tenant, schedule, zoho, begin, now),
                now=now,
                lease_owner=owner,
                lease_until=now + self.lease,
                host_checks=per_host,
            )
        except DuplicateSlot as exc:
            raise SlotTaken(f"the slot at {begin.isoformat()} is taken", tenant=tenant) from exc
        if row is None:
            raise BookingNotFound(f"booking {booking_id} is not active", tenant=tenant)
        if row.lease_owner != owner:  # a worker is still writing to Zoho: it moves the event
            return Booking.of(row)
        return Booking.of(await self.writer.sync(row, owner))

    async def get(self, tenant: str, booking_id: str) -> Booking:
        """One booking, or ``BookingNotFound``."""
        return Booking.of(await self._row(tenant, booking_id))

    async def list_bookings(
        self,
        tenant: str | None = None,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        status: str | None = None,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> list[Booking]:
        """Bookings by start time (``newest_first``: the latest made first): of one tenant (or
        all), overlapping ``[start, end)``, with one ``status`` (``complete``, ``pending``,
        ``cancel_pending``, ``cancelled``); at most ``limit`` of them."""
        if status is not None:
            # Status is derived from several columns: filter here, then cut to the limit.
            rows = await self.store.list_bookings(
                tenant=tenant, start=start, end=end, newest_first=newest_first
            )
            found = [b for b in map(Booking.of, rows) if b.status == status]
            return found[:limit] if limit is not None else found
        rows = await self.store.list_bookings(
            tenant=tenant, start=start, end=end, newest_first=newest_first, limit=limit
        )
        return [Booking.of(row) for row in rows]

    async def count_unsynced(self, tenant: str | None = None) -> int:
        """How many bookings wait for Zoho (``pending`` or ``cancel_pending``)."""
        return await self.store.count_unsynced(tenant=tenant)

    async def retry_pending(
        self, tenant: str | None = None, *, concurrency: int = RETRY_CONCURRENCY
    ) -> list[Booking]:
        """Finish every booking Zoho does not reflect yet (of one tenant, or all): create or
        move its event, delete a cancelled one's, upsert the CRM record. Bookings another
        worker is writing right now (unexpired lease) are skipped. Up to ``concurrency``
        bookings are written at once (the request path still caps the Zoho calls in flight
        per tenant). Returns the bookings tried, as they are afterwards, in start order."""
        gate = asyncio.Semaphore(concurrency)

        async def finish(row: BookingRow) -> Booking | None:
            async with gate:
                owner, now = new_id(), self.clock()
                if not await self.store.try_lease(
                    row.tenant, row.id, owner=owner, now=now, until=now + self.lease
                ):
                    return None
                fresh = await self.store.get(row.tenant, row.id)
                if fresh is None:
                    return None
                return Booking.of(await self.writer.sync(fresh, owner))

        rows = await self.store.list_bookings(tenant=tenant, unsynced_only=True)
        tried = await asyncio.gather(*(finish(row) for row in rows))
        return [booking for booking in tried if booking is not None]

    # --- Zoho -------------------------------------------------------------------------------

    def _calendar_id(self, entry: TenantSchedule) -> str:
        if entry.calendar_id:
            return entry.calendar_id
        return self.calendar_for(entry.tenant).calendar_id or ""

    async def _row(self, tenant: str, booking_id: str) -> BookingRow:
        row = await self.store.get(tenant, booking_id)
        if row is None:
            raise BookingNotFound(f"no booking {booking_id}", tenant=tenant)
        return row
