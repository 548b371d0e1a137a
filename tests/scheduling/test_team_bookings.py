"""Team bookings on SQLite and PostgreSQL, Zoho from the emulator: hosts are assigned inside
the transaction that prevents double booking, per host; round robin is fair; collective and
k-of-n bookings take every host they need; a host busy in Zoho is never given the slot."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest

from tests.scheduling.support import NOW, SCHEDULE, TENANT, at
from zohokit.availability import WEEKDAYS, Schedule
from zohokit.calendar import ZohoCalendarService
from zohokit.emulator import Emulator
from zohokit.scheduling import (
    BookingService,
    Customer,
    SlotTaken,
    Team,
    TeamSlot,
)
from zohokit.scheduling._checks import checker
from zohokit.scheduling._store import BookingRow, new_id


def team_of(emulator: Emulator, names: list[str], **settings: Any) -> Team:
    """A team with one new emulator calendar per host."""
    hosts = [
        {"id": n, "email": f"{n}@acme.test", "calendar_id": emulator.calendar.add_calendar(n)}
        for n in names
    ]
    return Team.from_dict({"hosts": hosts, **settings})


async def with_team(service: BookingService, team: Team) -> None:
    await service.set_schedule(TENANT, Schedule.from_dict(SCHEDULE), team=team)


async def test_twenty_concurrent_bookings_of_a_round_robin_slot_give_three_hosts_once(
    async_service: BookingService, emulator: Emulator, calendar: ZohoCalendarService
) -> None:
    team = team_of(emulator, ["ann", "bo", "cy"], mode="one")
    await with_team(async_service, team)

    async def attempt(i: int) -> str | None:
        try:
            booking = await async_service.confirm(
                TENANT, start=at(10), customer=Customer(f"c{i}@example.com")
            )
        except SlotTaken:
            return None
        assert booking.status == "complete", booking.pending_reason
        return booking.hosts[0]

    outcomes = await asyncio.gather(*(attempt(i) for i in range(20)))
    won = [host for host in outcomes if host is not None]
    assert sorted(won) == ["ann", "bo", "cy"]
    assert outcomes.count(None) == 17
    # Each host's own calendar holds exactly one event at 10:00.
    for host in team.hosts:
        found = await calendar.list_events(at(0), at(23), calendar_id=host.calendar_id)
        assert len(found) == 1, host.id
    # The slot is gone for the team now.
    slots = await async_service.availability(TENANT, date(2031, 3, 4), date(2031, 3, 4))
    assert at(10) not in [s.start_utc for s in slots]


async def test_slots_name_the_free_hosts_and_zoho_busy_time_is_per_host(
    async_service: BookingService, emulator: Emulator, calendar: ZohoCalendarService
) -> None:
    team = team_of(emulator, ["ann", "bo"], mode="one")
    await with_team(async_service, team)
    # Bo has a meeting at 10:00 in his own calendar.
    await calendar.create_event("dentist", at(10), at(11), calendar_id=team.host("bo").calendar_id)
    slots = await async_service.availability(TENANT, date(2031, 3, 4), date(2031, 3, 4))
    by_start = {s.start_utc: s for s in slots}
    assert isinstance(by_start[at(10)], TeamSlot)
    assert by_start[at(10)].hosts == ("ann",)
    assert by_start[at(9)].hosts == ("ann", "bo")
    first = await async_service.confirm(TENANT, start=at(10), customer=Customer("a@x.test"))
    assert first.hosts == ("ann",)
    with pytest.raises(SlotTaken):
        await async_service.confirm(TENANT, start=at(10), customer=Customer("b@x.test"))


async def test_a_collective_booking_takes_every_host_and_invites_the_others(
    async_service: BookingService, emulator: Emulator, calendar: ZohoCalendarService
) -> None:
    team = team_of(emulator, ["ann", "bo", "cy"], mode="all")
    await with_team(async_service, team)
    await calendar.create_event("busy", at(9), at(10), calendar_id=team.host("cy").calendar_id)
    slots = await async_service.availability(TENANT, date(2031, 3, 4), date(2031, 3, 4))
    assert at(9) not in [s.start_utc for s in slots]  # Cy is busy: no collective slot
    booking = await async_service.confirm(TENANT, start=at(11), customer=Customer("a@x.test"))
    assert booking.hosts == ("ann", "bo", "cy")
    assert booking.calendar_id == team.host("ann").calendar_id
    (event,) = await calendar.list_events(at(0), at(23), calendar_id=booking.calendar_id)
    invited = sorted(a["email"] for a in event["attendees"])
    assert invited == ["a@x.test", "bo@acme.test", "cy@acme.test"]
    cancelled = await async_service.cancel(TENANT, booking.id)
    assert cancelled.status == "cancelled"
    again = await async_service.confirm(TENANT, start=at(11), customer=Customer("b@x.test"))
    assert again.hosts == ("ann", "bo", "cy")  # cancelling freed every host's slot


async def test_two_of_three_and_a_returning_customer_gets_their_host(
    async_service: BookingService, emulator: Emulator
) -> None:
    team = team_of(emulator, ["ann", "bo", "cy"], mode=2)
    await with_team(async_service, team)
    first = await async_service.confirm(TENANT, start=at(9), customer=Customer("a@x.test"))
    assert first.hosts == ("ann", "bo")
    with pytest.raises(SlotTaken, match="1 of the 2 hosts"):
        await async_service.confirm(TENANT, start=at(9), customer=Customer("c@x.test"))
    # At 10:00 the least recently booked go first: Cy, never booked, then Ann (team order).
    second = await async_service.confirm(TENANT, start=at(10), customer=Customer("b@x.test"))
    assert second.hosts[0] == "cy"
    assert len(second.hosts) == 2

    sticky = team_of(emulator, ["dee", "eve", "fay"], mode="one", sticky=True)
    await with_team(async_service, sticky)
    met = await async_service.confirm(TENANT, start=at(13), customer=Customer("z@x.test"))
    assert met.hosts == ("dee",)
    other = await async_service.confirm(TENANT, start=at(14), customer=Customer("y@x.test"))
    assert other.hosts == ("eve",)  # least recently booked
    back = await async_service.confirm(TENANT, start=at(15), customer=Customer("Z@x.test"))
    assert back.hosts == ("dee",)  # the host this customer met last, though not the turn


async def test_a_rescheduled_team_booking_keeps_its_hosts_and_frees_the_old_slot(
    async_service: BookingService, emulator: Emulator, calendar: ZohoCalendarService
) -> None:
    team = team_of(emulator, ["ann"], mode="one")
    await with_team(async_service, team)
    booking = await async_service.confirm(TENANT, start=at(9), customer=Customer("a@x.test"))
    moved = await async_service.reschedule(TENANT, booking.id, at(14))
    assert moved.hosts == ("ann",)
    assert moved.start == at(14)
    assert moved.status == "complete"
    other = await async_service.confirm(TENANT, start=at(9), customer=Customer("b@x.test"))
    assert other.hosts == ("ann",)
    with pytest.raises(SlotTaken):
        await async_service.reschedule(TENANT, other.id, at(14))


async def test_three_hundred_bookings_of_equal_hosts_are_within_ten_percent_of_even(
    async_service: BookingService, emulator: Emulator
) -> None:
    """Straight through the store's assigning transaction (the Zoho writes of 300 bookings
    would only slow the test): 300 slots over many days, three equal hosts."""
    team = team_of(emulator, ["ann", "bo", "cy"], mode="one")
    schedule = Schedule.from_dict(
        {
            **SCHEDULE,
            "weekly_hours": {d: ["00:00-24:00"] for d in WEEKDAYS},
        }
    )
    await async_service.set_schedule(TENANT, schedule, team=team)
    store, counts = async_service.store, Counter[str]()
    for i in range(300):
        start = NOW + timedelta(hours=1 + i)
        row = booking_row(start, i)
        checks = {h.id: checker(TENANT, schedule, [], start, NOW) for h in team.hosts}
        stored = await store.insert_booking(
            row, checks["ann"], now=NOW + timedelta(seconds=i), team=(team, checks)
        )
        assert stored.hosts is not None
        counts[stored.hosts[0]["id"]] += 1
    assert all(90 <= counts[h] <= 110 for h in ("ann", "bo", "cy")), counts


def booking_row(start: Any, i: int) -> BookingRow:
    return BookingRow(
        id=new_id(),
        tenant=TENANT,
        calendar_id="",
        start_utc=start,
        end_utc=start + timedelta(minutes=30),
        active_start=start,
        buffer_before_s=0,
        buffer_after_s=0,
        state="active",
        event_synced=True,
        crm_synced=True,
        pending_reason=None,
        attempts=0,
        title="t",
        booker_zone="UTC",
        customer={"email": f"c{i}@example.com"},
        idempotency_key=None,
        zoho_event_uid=None,
        zoho_event_etag=None,
        crm_module=None,
        crm_record_id=None,
        lease_owner=None,
        lease_until=None,
        created_at=NOW + timedelta(seconds=i),
        updated_at=NOW + timedelta(seconds=i),
        cancelled_at=None,
    )


async def test_weighted_hosts_share_by_weight(
    async_service: BookingService, emulator: Emulator
) -> None:
    team = team_of(emulator, ["ann", "bo"], mode="one", assignment="weighted")
    team = Team.from_dict(
        {
            **team.to_dict(),
            "hosts": [{**team.hosts[0].to_dict(), "weight": 3}, team.hosts[1].to_dict()],
        }
    )
    schedule = Schedule.from_dict(SCHEDULE)
    await async_service.set_schedule(TENANT, schedule, team=team)
    counts = Counter[str]()
    for i in range(40):
        start = at(9, day=4 + i // 14) + timedelta(minutes=30 * (i % 14))
        if start.hour >= 12:
            start += timedelta(hours=1)
        checks = {h.id: checker(TENANT, schedule, [], start, NOW) for h in team.hosts}
        stored = await async_service.store.insert_booking(
            booking_row(start, i), checks["ann"], now=NOW, team=(team, checks)
        )
        assert stored.hosts is not None
        counts[stored.hosts[0]["id"]] += 1
    assert counts == {"ann": 30, "bo": 10}


async def test_a_team_schedule_reads_back_as_stored(
    async_service: BookingService, emulator: Emulator
) -> None:
    team = team_of(emulator, ["ann", "bo"], mode=2, assignment="weighted", sticky=True)
    await with_team(async_service, team)
    entry = await async_service.get_schedule(TENANT)
    assert entry.team == team
    assert entry.to_dict()["team"]["mode"] == 2
