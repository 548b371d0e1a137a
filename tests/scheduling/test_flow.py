"""The booking flow against the emulator: hold, confirm, Zoho ids, cancel, reschedule, limits."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.http.support import both_apis
from tests.scheduling.support import (
    ANN,
    BO,
    NOW,
    SCHEDULE,
    TENANT,
    Clock,
    at,
    contacts,
    events,
    starts,
)
from zohokit.calendar import ZohoCalendarService
from zohokit.crm import ZohoCRMService
from zohokit.emulator import Emulator
from zohokit.scheduling import (
    BookingService,
    FreeBusyUnavailable,
    HoldExpired,
    HoldNotFound,
    IdempotencyConflict,
    Schedule,
    ScheduleNotFound,
    SlotNotOffered,
    SlotTaken,
)


@both_apis
async def test_hold_then_confirm_writes_the_event_and_the_contact(
    service: BookingService, calendar: ZohoCalendarService, crm: ZohoCRMService
) -> None:
    assert 1000 in await starts(service)
    hold = await service.hold(TENANT, at(10))
    assert hold.expires_at == NOW + timedelta(minutes=5)
    assert 1000 not in await starts(service)  # held: offered to nobody else
    with pytest.raises(SlotTaken):
        await service.hold(TENANT, at(10))

    booking = await service.confirm(TENANT, hold_id=hold.id, customer=ANN)
    assert booking.status == "complete"
    assert booking.pending_reason is None
    assert (booking.start, booking.end) == (at(10), at(10, 30))
    found = await events(calendar)
    assert [e["uid"] for e in found] == [booking.zoho_event_uid]
    assert f"[zohokit-booking:{booking.id}]" in found[0]["description"]
    people = await contacts(crm)
    assert [(p["id"], p["Email"], p["Last_Name"]) for p in people] == [
        (booking.crm_record_id, "ann@example.com", "Lee")
    ]
    assert "confirmed" in people[0]["Description"]
    assert 1000 not in await starts(service)
    with pytest.raises(HoldNotFound):  # a hold is used once
        await service.confirm(TENANT, hold_id=hold.id, customer=BO)
    assert (await service.get(TENANT, booking.id)).to_dict()["status"] == "complete"


@both_apis
async def test_a_confirmed_slot_cannot_be_booked_again(service: BookingService) -> None:
    await service.confirm(TENANT, start=at(11), customer=ANN)
    with pytest.raises(SlotTaken):
        await service.confirm(TENANT, start=at(11), customer=BO)
    with pytest.raises(SlotTaken):  # 10:30-12:00 (a 90-minute grid from 09:00) overlaps it
        await service.confirm(TENANT, start=at(10, 30), customer=BO, duration=90)
    with pytest.raises(SlotNotOffered):  # lunch break
        await service.confirm(TENANT, start=at(12), customer=BO)
    with pytest.raises(SlotNotOffered):  # before "now"
        await service.confirm(TENANT, start=at(10, day=3) - timedelta(days=7), customer=BO)
    assert [b.customer.email for b in await service.list_bookings(TENANT)] == ["ann@example.com"]


@both_apis
async def test_the_same_idempotency_key_books_once(
    service: BookingService, calendar: ZohoCalendarService, crm: ZohoCRMService
) -> None:
    first = await service.confirm(TENANT, start=at(14), customer=ANN, idempotency_key="k-1")
    again = await service.confirm(TENANT, start=at(14), customer=ANN, idempotency_key="k-1")
    assert again.id == first.id
    with pytest.raises(IdempotencyConflict):
        await service.confirm(TENANT, start=at(15), customer=ANN, idempotency_key="k-1")
    assert len(await events(calendar)) == 1
    assert len(await contacts(crm)) == 1


@both_apis
async def test_an_expired_hold_frees_its_slot(service: BookingService, clock: Clock) -> None:
    hold = await service.hold(TENANT, at(9))
    clock.advance(minutes=6)
    assert 900 in await starts(service)
    with pytest.raises(HoldExpired):
        await service.confirm(TENANT, hold_id=hold.id, customer=ANN)
    other = await service.hold(TENANT, at(9))
    booking = await service.confirm(TENANT, hold_id=other.id, customer=BO)
    assert booking.status == "complete"


@both_apis
async def test_zoho_busy_time_and_buffers_are_respected(
    service: BookingService, calendar: ZohoCalendarService
) -> None:
    await calendar.create_event("Dentist", at(13), at(14))
    await service.set_schedule(TENANT, Schedule.from_dict({**SCHEDULE, "buffer_after_minutes": 15}))
    free = await starts(service)
    assert 1300 not in free
    assert 1330 not in free
    assert 1230 not in free  # 12:30 is lunch anyway; 11:30 must end 15 min before busy time
    assert 1400 in free
    with pytest.raises(SlotTaken):
        await service.confirm(TENANT, start=at(13, 30), customer=ANN)
    booking = await service.confirm(TENANT, start=at(14), customer=ANN)
    # The booking keeps its 15-minute buffer: 14:30 is not free, 15:00 is.
    free = await starts(service)
    assert 1430 not in free
    assert 1500 in free
    assert booking.status == "complete"


@both_apis
async def test_cancel_deletes_the_event_and_records_it_in_the_crm(
    service: BookingService, calendar: ZohoCalendarService, crm: ZohoCRMService
) -> None:
    booking = await service.confirm(TENANT, start=at(10), customer=ANN)
    cancelled = await service.cancel(TENANT, booking.id)
    assert cancelled.status == "cancelled"
    assert await events(calendar) == []
    people = await contacts(crm)
    assert len(people) == 1
    assert "cancelled" in people[0]["Description"]
    assert 1000 in await starts(service)
    assert (await service.cancel(TENANT, booking.id)).status == "cancelled"  # harmless twice
    again = await service.confirm(TENANT, start=at(10), customer=BO)
    assert again.status == "complete"


@both_apis
async def test_reschedule_moves_the_event(
    service: BookingService, calendar: ZohoCalendarService, crm: ZohoCRMService
) -> None:
    await service.set_schedule(TENANT, Schedule.from_dict({**SCHEDULE, "interval_minutes": 30}))
    booking = await service.confirm(TENANT, start=at(10), customer=ANN, duration=60)
    other = await service.confirm(TENANT, start=at(15), customer=BO)
    with pytest.raises(SlotTaken):
        await service.reschedule(TENANT, booking.id, at(14, 30))
    # Overlapping its own old time is fine: the booking does not block itself.
    moved = await service.reschedule(TENANT, booking.id, at(10, 30))
    assert moved.status == "complete"
    assert (moved.start, moved.end) == (at(10, 30), at(11, 30))
    event = await calendar.get_event(str(moved.zoho_event_uid))
    assert event["uid"] == booking.zoho_event_uid
    assert 1000 in await starts(service)
    assert 1030 not in await starts(service)
    ann = [p for p in await contacts(crm) if p["Email"] == "ann@example.com"]
    assert "10:30" in ann[0]["Description"]
    assert other.status == "complete"


@both_apis
async def test_booking_limits_close_the_day(service: BookingService) -> None:
    await service.set_schedule(TENANT, Schedule.from_dict({**SCHEDULE, "max_bookings_per_day": 1}))
    await service.confirm(TENANT, start=at(9), customer=ANN)
    assert await starts(service) == []
    with pytest.raises(SlotTaken):
        await service.confirm(TENANT, start=at(16), customer=BO)


@both_apis
async def test_unreadable_free_busy_fails_closed(
    service: BookingService, emulator: Emulator
) -> None:
    await service.set_schedule(
        TENANT, Schedule.from_dict(SCHEDULE), user_email=emulator.calendar.user_email
    )
    assert 1000 in await starts(service)
    emulator.calendar.set_freebusy_enabled(False)
    with pytest.raises(FreeBusyUnavailable) as caught:
        await starts(service)
    assert caught.value.reason == "fb_not_enabled"
    with pytest.raises(FreeBusyUnavailable):
        await service.confirm(TENANT, start=at(10), customer=ANN)
    emulator.calendar.set_freebusy_enabled(True)
    emulator.faults.configure({"rules": [{"route": "/api/v1/calendars/freebusy", "error_rate": 1}]})
    with pytest.raises(FreeBusyUnavailable):
        await starts(service)
    assert await service.list_bookings(TENANT) == []


@both_apis
async def test_all_day_events_close_the_day(
    service: BookingService, calendar: ZohoCalendarService
) -> None:
    await calendar.create_event(
        "Holiday",
        at(0),
        at(0, day=5),
        extra={"isallday": True, "dateandtime": {"start": "20310304", "end": "20310304"}},
    )
    assert await starts(service) == []
    slots = await service.availability(TENANT, date(2031, 3, 5), date(2031, 3, 5))
    assert len(slots) == 14


@both_apis
async def test_unknown_tenant_has_no_schedule(service: BookingService) -> None:
    with pytest.raises(ScheduleNotFound):
        await service.availability("nobody", date(2031, 3, 4), date(2031, 3, 4))


@both_apis
async def test_newest_bookings_first_with_a_limit_and_the_unsynced_count(
    service: BookingService, clock: Clock, emulator: Emulator
) -> None:
    first = await service.confirm(TENANT, start=at(14), customer=ANN)
    clock.now += timedelta(minutes=1)
    emulator.faults.configure({"rules": [{"route": "/crm/v8/Contacts/upsert", "error_rate": 1}]})
    second = await service.confirm(TENANT, start=at(10), customer=BO)
    assert second.status == "pending"
    newest = await service.list_bookings(TENANT, newest_first=True, limit=1)
    assert [b.id for b in newest] == [second.id]  # made last, though it starts earlier
    assert [b.id for b in await service.list_bookings(TENANT)] == [second.id, first.id]  # by start
    complete = await service.list_bookings(TENANT, status="complete", limit=5)
    assert [b.id for b in complete] == [first.id]
    assert await service.count_unsynced(TENANT) == 1
    assert await service.count_unsynced("someone-else") == 0
