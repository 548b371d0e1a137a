"""What every booking path checks a slot with: busy time read from Zoho per calendar, the
re-check run inside the serialized transaction, and a team's per-host versions of both."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from zohokit.availability import Busy, Host, Schedule, is_bookable
from zohokit.scheduling._errors import IdempotencyConflict, SlotNotOffered, SlotTaken
from zohokit.scheduling._models import Booking
from zohokit.scheduling._store import BookingRow, BookingStore, Check, TenantSchedule
from zohokit.scheduling._team import TeamHost

if TYPE_CHECKING:
    from zohokit.calendar import ZohoCalendarService

__all__ = ["MARGIN", "ZohoBusy", "checker", "host_schedule", "replayed", "utc", "with_duration"]

#: Busy time is read this far around the asked range: buffers, other zones and all-day
#: events (whole dates) reach past it.
MARGIN = timedelta(days=2)


def with_duration(schedule: Schedule, minutes: int | None) -> Schedule:
    """``schedule`` with slots ``minutes`` long (unchanged for ``None``)."""
    if not minutes:
        return schedule
    return replace(schedule, slot_duration=timedelta(minutes=minutes))


def utc(moment: datetime) -> datetime:
    """An aware slot start in UTC (``ValueError`` for a naive one)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a slot start must be a timezone-aware datetime")
    return moment.astimezone(UTC)


def checker(
    tenant: str, schedule: Schedule, zoho: list[Busy], start: datetime, now: datetime
) -> Check:
    """The re-check run inside the serialized transaction with our own busy time."""

    def check(own: list[Busy]) -> None:
        if is_bookable(schedule, [*zoho, *own], start=start, now=now):
            return
        if not is_bookable(schedule, [], start=start, now=now):
            raise SlotNotOffered(
                f"{start.isoformat()} is not a slot of the schedule", tenant=tenant
            )
        raise SlotTaken(f"the slot at {start.isoformat()} is taken", tenant=tenant)

    return check


def replayed(row: BookingRow, start: datetime | None, key: str | None) -> Booking:
    """The booking an idempotency key made, or ``IdempotencyConflict`` for another slot."""
    if start is not None and utc(start) != row.start_utc and row.state == "active":
        raise IdempotencyConflict(
            f"idempotency key {key!r} already booked {row.start_utc.isoformat()}",
            tenant=row.tenant,
        )
    return Booking.of(row)


@dataclass(frozen=True)
class ZohoBusy:
    """Reads busy time from each tenant's Zoho Calendar: of the schedule's calendar, or of
    each host of its team (concurrently), plus our own bookings and holds on request."""

    calendar_for: Callable[[str], ZohoCalendarService]
    store: BookingStore

    async def of_calendar(
        self,
        tenant: str,
        calendar: TenantSchedule | TeamHost,
        start: datetime,
        end: datetime,
        *,
        exclude_event_uid: str | None = None,
    ) -> list[Busy]:
        """Zoho busy time of one calendar: a schedule's or a host's ``calendar_id`` (or its
        ``user_email``'s free/busy)."""
        return await self.calendar_for(tenant).get_busy(
            start,
            end,
            user_email=calendar.user_email,
            calendar_id=calendar.calendar_id,
            exclude_event_uid=exclude_event_uid,
        )

    async def of_entry(
        self,
        entry: TenantSchedule,
        start: datetime,
        end: datetime,
        *,
        exclude_event_uid: str | None = None,
    ) -> list[Busy]:
        """Zoho busy time of a one-calendar schedule."""
        return await self.of_calendar(
            entry.tenant, entry, start, end, exclude_event_uid=exclude_event_uid
        )

    async def of_hosts(
        self,
        entry: TenantSchedule,
        hosts: list[TeamHost],
        start: datetime,
        end: datetime,
        *,
        exclude_event_uid: str | None = None,
    ) -> dict[str, list[Busy]]:
        """Each host's Zoho busy time, read at once."""
        read = [
            self.of_calendar(entry.tenant, h, start, end, exclude_event_uid=exclude_event_uid)
            for h in hosts
        ]
        return dict(zip([h.id for h in hosts], await asyncio.gather(*read), strict=True))

    async def hosts_with_own(
        self,
        entry: TenantSchedule,
        start: datetime,
        end: datetime,
        *,
        now: datetime,
        duration: int | None = None,
    ) -> list[Host]:
        """The engine's :class:`Host` of every host of the team (or of the one calendar):
        their schedule and all their busy time, Zoho's and ours."""
        if entry.team is None:
            zoho = await self.of_entry(entry, start, end)
            own = await self.store.own_busy(entry.tenant, start, end, now=now)
            return [Host(entry.tenant, with_duration(entry.schedule, duration), zoho + own)]
        hosts = list(entry.team.hosts)
        zoho_by_host = await self.of_hosts(entry, hosts, start, end)
        out = []
        for h in hosts:
            own = await self.store.own_busy(entry.tenant, start, end, now=now, host=h.id)
            schedule = with_duration(host_schedule(entry, h), duration)
            out.append(Host(h.id, schedule, zoho_by_host[h.id] + own))
        return out


def host_schedule(entry: TenantSchedule, host: TeamHost) -> Schedule:
    """A host's own schedule, or the tenant's."""
    return host.schedule if host.schedule is not None else entry.schedule
