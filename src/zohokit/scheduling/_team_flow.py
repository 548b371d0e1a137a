"""The booking flow's team steps: each host's re-check of a slot, and a team's hold."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from zohokit.availability import Busy, BusySource
from zohokit.scheduling._checks import MARGIN, ZohoBusy, checker, host_schedule
from zohokit.scheduling._errors import SlotTaken
from zohokit.scheduling._models import Hold
from zohokit.scheduling._store import HoldRow, TenantSchedule, new_id
from zohokit.scheduling._team_store import HostChecks

if TYPE_CHECKING:
    from zohokit.scheduling._service import BookingService

__all__ = ["host_checks", "team_hold"]


async def host_checks(
    zoho_busy: ZohoBusy,
    entry: TenantSchedule,
    begin: datetime,
    finish: datetime,
    now: datetime,
    *,
    exclude_event_uid: str | None = None,
) -> HostChecks:
    """Each team host's re-check of ``[begin, finish)`` with their fresh Zoho busy time."""
    assert entry.team is not None
    hosts = list(entry.team.hosts)
    zoho = await zoho_busy.of_hosts(
        entry, hosts, begin - MARGIN, finish + MARGIN, exclude_event_uid=exclude_event_uid
    )
    length = finish - begin
    return {
        h.id: checker(
            entry.tenant,
            replace(host_schedule(entry, h), slot_duration=length),
            zoho[h.id],
            begin,
            now,
        )
        for h in hosts
    }


async def team_hold(
    service: BookingService,
    entry: TenantSchedule,
    start: datetime,
    duration: int | None,
    now: datetime,
) -> Hold:
    """A team's hold names no host: it blocks the slot for all of them until confirmed
    or expired (the confirmation assigns the hosts). It needs the slot offered now."""
    assert entry.team is not None
    slots = await service.availability(
        entry.tenant,
        start.date() - timedelta(days=1),
        start.date() + timedelta(days=1),
        duration,
        "UTC",
    )
    offered = [s for s in slots if s.start_utc == start]
    if not offered:
        raise SlotTaken(f"the slot at {start.isoformat()} is not free", tenant=entry.tenant)
    slot = offered[0]
    row = HoldRow(
        id=new_id(),
        tenant=entry.tenant,
        calendar_id="",
        start_utc=start,
        end_utc=slot.end_utc,
        buffer_before_s=int(entry.schedule.buffer_before.total_seconds()),
        buffer_after_s=int(entry.schedule.buffer_after.total_seconds()),
        expires_at=now + service.hold_ttl,
        created_at=now,
    )

    def no_other_hold(own: list[Busy]) -> None:
        for busy in own:
            if (
                busy.source is BusySource.HOLD
                and busy.start < row.end_utc
                and row.start_utc < busy.end
            ):
                raise SlotTaken(f"the slot at {start.isoformat()} is held", tenant=row.tenant)

    await service.store.add_hold(row, no_other_hold, now=now)
    return Hold._of(row)
