"""The Zoho writer: make Zoho match one booking row, under that booking's lease.

A booking is stored first (that is what makes it ours); Zoho is brought up to date after,
by :meth:`ZohoWriter.sync`, which the confirm, cancel and reschedule calls run at once and
:meth:`~zohokit.scheduling.BookingService.retry_pending` runs again for what failed:

- the Calendar event is created (the customer as attendee, a marker
  ``[zohokit-booking:<id>]`` in its description), moved or deleted, on its etag; before
  creating, the marker is looked up, so an answer lost after Zoho wrote the event is found;
- the customer is upserted into the CRM on the mapping's match field, and the booking's
  meeting (an Events record linked to them, :mod:`zohokit.scheduling._crm_meeting`) is
  created, moved or deleted;
- each Zoho id and flag is recorded as soon as it is known, only while the lease is ours
  (``record(..., synced_for=row)`` keeps a cancel or move that landed meanwhile unsynced,
  and the writer goes round again);
- a Zoho failure never raises: it becomes the booking's ``pending_reason``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from zohokit._clock import Clock
from zohokit.errors import NotFound, PreconditionFailed, ZohoError
from zohokit.scheduling._crm_meeting import sync_meeting
from zohokit.scheduling._models import CrmMapping, Customer
from zohokit.scheduling._store import BookingRow, BookingStore

if TYPE_CHECKING:
    from zohokit.calendar import ZohoCalendarService
    from zohokit.crm import ZohoCRMService

__all__ = ["MARKER", "ZohoWriter"]

MARKER = "zohokit-booking"

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


@dataclass(frozen=True)
class ZohoWriter:
    """Writes bookings to each tenant's Zoho Calendar and Zoho CRM (see the module docstring).

    ``calendar_for``/``crm_for`` give a tenant's services, ``crm_mapping`` where customers go,
    ``clock`` the current aware time for what is recorded.
    """

    store: BookingStore
    calendar_for: Callable[[str], ZohoCalendarService]
    crm_for: Callable[[str], ZohoCRMService]
    crm_mapping: CrmMapping
    clock: Clock

    async def sync(self, row: BookingRow, owner: str) -> BookingRow:
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
            found = await _find_event(calendar, row)
            if found is not None:
                uid, etag = str(found["uid"]), str(found.get("etag") or "") or None
        if row.state == "cancelled":
            if uid is not None:
                await _delete_event(calendar, row, uid, etag)
            values: dict[str, Any] = {"event_synced": True, "zoho_event_etag": None}
        elif uid is None:
            customer = Customer.from_dict(row.customer)
            event = await calendar.create_event(
                row.title,
                row.start_utc,
                row.end_utc,
                description=_description(row),
                # A team's other hosts are invited to the event in the first host's calendar.
                attendees=[customer.email, *(h["email"] for h in (row.hosts or [])[1:])],
                timezone=row.booker_zone,
                calendar_id=row.calendar_id or None,
            )
            values = {"event_synced": True, "zoho_event_uid": str(event["uid"])}
            values["zoho_event_etag"] = str(event.get("etag") or "") or None
        else:
            moved = await _move_event(calendar, row, uid, etag)
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

    async def _sync_crm(self, row: BookingRow, owner: str) -> BookingRow:
        crm = self.crm_for(row.tenant)
        mapping = self.crm_mapping
        record = mapping.record(Customer.from_dict(row.customer), row)
        results = await crm.upsert_records(
            mapping.module, [record], duplicate_check_fields=[mapping.match_field]
        )
        results[0].raise_for_error()
        record_id = results[0].id or row.crm_record_id
        meeting = row.crm_meeting_id
        if mapping.meetings:
            meeting = await sync_meeting(crm, row, mapping.module, record_id)
        recorded = await self.store.record(
            row.tenant,
            row.id,
            owner=owner,
            now=self.clock(),
            synced_for=row,
            crm_synced=True,
            crm_module=mapping.module,
            crm_record_id=record_id,
            crm_meeting_id=meeting,
            pending_reason=None,
        )
        if recorded is None:
            raise _LeaseLost(row)
        return recorded


async def _find_event(calendar: ZohoCalendarService, row: BookingRow) -> dict[str, Any] | None:
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
    calendar: ZohoCalendarService, row: BookingRow, uid: str, etag: str | None
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
    calendar: ZohoCalendarService, row: BookingRow, uid: str, etag: str | None
) -> None:
    cal = row.calendar_id or None
    try:
        try:
            await calendar.delete_event(uid, etag=etag, calendar_id=cal)
        except PreconditionFailed:
            await calendar.delete_event(uid, calendar_id=cal)
    except NotFound:
        pass  # already gone: what we wanted
