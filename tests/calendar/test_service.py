"""ZohoCalendarService against the emulator: calendars, events, etags, free/busy, slots."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

import zohokit
import zohokit.scheduling
from tests.http.support import CREDENTIALS, both_apis
from zohokit.availability import Busy
from zohokit.calendar import ZohoCalendarService
from zohokit.emulator import Emulator
from zohokit.errors import ConfigurationError, NotFound, PreconditionFailed
from zohokit.http import ZohoHTTP

DAY = date(2031, 3, 4)


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hour, minute), UTC)


@both_apis
async def test_calendars(calendar: ZohoCalendarService, emulator: Emulator) -> None:
    calendars = await calendar.list_calendars()
    assert emulator.calendar.primary_uid in {c["uid"] for c in calendars}
    assert (await calendar.get_calendar())["uid"] == emulator.calendar.primary_uid


@both_apis
async def test_create_get_list_and_delete_an_event(calendar: ZohoCalendarService) -> None:
    created = await calendar.create_event(
        "Demo", at(10), at(10, 30), description="first call", attendees=["guest@example.com"]
    )
    assert created["uid"]
    assert created["etag"]
    fetched = await calendar.get_event(created["uid"])
    assert fetched["title"] == "Demo"
    assert [a["email"] for a in fetched["attendees"]] == ["guest@example.com"]
    listed = await calendar.list_events(at(0), at(23))
    assert [e["uid"] for e in listed] == [created["uid"]]
    await calendar.delete_event(created["uid"])  # no etag given: fetched first
    with pytest.raises(NotFound):
        await calendar.get_event(created["uid"])


@both_apis
async def test_update_fetches_the_etag_and_keeps_the_time(calendar: ZohoCalendarService) -> None:
    created = await calendar.create_event("Demo", at(10), at(11))
    updated = await calendar.update_event(created["uid"], {"title": "Renamed"})
    assert updated["title"] == "Renamed"
    assert str(updated["etag"]) != str(created["etag"])
    assert [e["title"] for e in await calendar.list_events(at(10), at(11))] == ["Renamed"]
    moved = await calendar.update_event(created["uid"], start=at(14), end=at(15))
    assert [e["uid"] for e in await calendar.list_events(at(14), at(15))] == [moved["uid"]]
    assert await calendar.list_events(at(10), at(11)) == []


@both_apis
async def test_a_stale_etag_from_the_caller_is_refused(calendar: ZohoCalendarService) -> None:
    created = await calendar.create_event("Demo", at(10), at(11))
    await calendar.update_event(created["uid"], {"title": "Someone else"})
    with pytest.raises(PreconditionFailed):
        await calendar.update_event(created["uid"], {"title": "Mine"}, etag=created["etag"])
    with pytest.raises(PreconditionFailed):
        await calendar.delete_event(created["uid"], etag=created["etag"])
    assert (await calendar.get_event(created["uid"]))["title"] == "Someone else"


@both_apis
async def test_long_ranges_are_listed_in_31_day_chunks(
    calendar: ZohoCalendarService, emulator: Emulator
) -> None:
    starts = [at(9, day=DAY + timedelta(days=d)) for d in (0, 40, 80)]
    for i, start in enumerate(starts):
        await calendar.create_event(f"E{i}", start, start + timedelta(hours=1))
    before = emulator.stats.snapshot()["calendar_requests"]
    found = await calendar.list_events(at(0), at(0, day=DAY + timedelta(days=90)))
    assert sorted(e["title"] for e in found) == ["E0", "E1", "E2"]
    assert emulator.stats.snapshot()["calendar_requests"] - before == 3  # 90 days / 31


@both_apis
async def test_freebusy_in_both_formats(calendar: ZohoCalendarService, emulator: Emulator) -> None:
    await calendar.create_event("A", at(10), at(11))
    await calendar.create_event("B", at(10, 30), at(12))
    email = emulator.calendar.user_email
    for ftype in ("eventbased", "timebased"):
        result = await calendar.get_freebusy(email, at(0), at(23), ftype=ftype)
        assert result.enabled
        # Straight into the engine's busy type: nothing to convert on the way to the engine.
        assert result.busy == [Busy(at(10), at(12))]


@both_apis
async def test_freebusy_not_shared(calendar: ZohoCalendarService, emulator: Emulator) -> None:
    emulator.calendar.set_freebusy_enabled(False)
    email = emulator.calendar.user_email
    result = await calendar.get_freebusy(email, at(0), at(23))
    assert result.enabled is False
    assert result.busy == []
    assert await calendar.get_available_slots(DAY, 60, user_email=email) == []


@both_apis
async def test_available_slots_skip_busy_time(
    calendar: ZohoCalendarService, emulator: Emulator
) -> None:
    await calendar.create_event("Busy", at(10), at(11, 30))
    slots = await calendar.get_available_slots(DAY, 60)
    starts = [s.start.astimezone(UTC).hour for s in slots]
    assert starts == [9, 12, 13, 14, 15, 16]
    by_freebusy = await calendar.get_available_slots(
        DAY, 60, user_email=emulator.calendar.user_email
    )
    assert by_freebusy == slots


@both_apis
async def test_slots_follow_the_timezone(calendar: ZohoCalendarService) -> None:
    slots = await calendar.get_available_slots(DAY, 120, timezone="Asia/Kolkata")
    assert [s.start.strftime("%H:%M") for s in slots] == ["09:00", "11:00", "13:00", "15:00"]
    assert slots[0].start.utcoffset() == timedelta(hours=5, minutes=30)
    # One Slot everywhere: the engine's, with the UTC instants beside the booker's times.
    assert type(slots[0]) is zohokit.Slot is zohokit.scheduling.Slot
    assert slots[0].start_utc == slots[0].start
    assert slots[0].start_utc.utcoffset() == timedelta(0)


@both_apis
async def test_naive_times_are_refused(calendar: ZohoCalendarService) -> None:
    with pytest.raises(ValueError, match="timezone"):
        await calendar.create_event("x", datetime(2031, 1, 1, 9), datetime(2031, 1, 1, 10))


async def test_no_calendar_id_is_a_setting_to_fix_not_unreadable_busy_time(
    zoho_http: ZohoHTTP,
) -> None:
    service = ZohoCalendarService(CREDENTIALS, http=zoho_http)
    assert not service.is_configured()
    with pytest.raises(ConfigurationError) as caught:
        await service.get_busy(at(9), at(17))
    assert caught.value.variables == ("ZOHO_CALENDAR_ID",)
    assert "ZOHO_CALENDAR_ID" in str(caught.value)
