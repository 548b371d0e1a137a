"""A booking calendar that Zoho leaves out of free/busy: no double booking, and a warning."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time

import pytest

from tests.http.support import CREDENTIALS
from zohokit import Zoho
from zohokit.calendar import NOT_IN_FREEBUSY, CalendarHealth, ZohoCalendarService
from zohokit.emulator import Emulator
from zohokit.http import ZohoHTTP

DAY = date(2031, 3, 4)


def at(hour: int) -> datetime:
    return datetime.combine(DAY, time(hour), UTC)


def booking_service(
    emulator: Emulator, zoho_http: ZohoHTTP, calendar_uid: str, health: CalendarHealth
) -> ZohoCalendarService:
    return ZohoCalendarService(
        {**CREDENTIALS, "calendar_id": calendar_uid}, health=health, http=zoho_http
    )


async def test_an_uncounted_booking_calendar_still_blocks_its_slots_and_warns(
    emulator: Emulator, zoho_http: ZohoHTTP, caplog: pytest.LogCaptureFixture
) -> None:
    bookings = emulator.calendar.add_calendar("Bookings", include_infreebusy=False)
    health = CalendarHealth()
    calendar = booking_service(emulator, zoho_http, bookings, health)
    await calendar.create_event("Taken", at(10), at(11))
    email = emulator.calendar.user_email

    # What Zoho's free/busy alone says: the taken hour looks free.
    assert (await calendar.get_freebusy(email, at(0), at(23))).busy == []

    with caplog.at_level(logging.WARNING, logger="zohokit.calendar"):
        slots = await calendar.get_available_slots(DAY, 60, user_email=email)
    assert [s.start.astimezone(UTC).hour for s in slots] == [9, 11, 12, 13, 14, 15, 16]
    [warning] = health.warnings("default")
    assert warning.code == NOT_IN_FREEBUSY
    assert warning.calendar_id == bookings
    assert "'Bookings'" in warning.message
    assert "Include in free/busy" in warning.message
    assert [r.getMessage() for r in caplog.records] == [f"tenant default: {warning.message}"]

    # The setting is read once per ttl, not on every availability call.
    before = emulator.stats.snapshot()["calendar_requests"]
    await calendar.get_available_slots(DAY, 60, user_email=email)
    assert emulator.stats.snapshot()["calendar_requests"] - before == 2  # free/busy + events


async def test_the_warning_clears_once_the_calendar_is_counted(
    emulator: Emulator, zoho_http: ZohoHTTP
) -> None:
    bookings = emulator.calendar.add_calendar("Bookings", include_infreebusy=False)
    health = CalendarHealth(ttl=0)  # re-read the setting on every call
    calendar = booking_service(emulator, zoho_http, bookings, health)
    assert [w.code for w in await calendar.check_freebusy()] == [NOT_IN_FREEBUSY]
    emulator.calendar.update_calendar(bookings, {"include_infreebusy": True})
    await calendar.create_event("Taken", at(10), at(11))
    slots = await calendar.get_available_slots(DAY, 60, user_email=emulator.calendar.user_email)
    assert 10 not in [s.start.astimezone(UTC).hour for s in slots]
    assert health.warnings("default") == ()


async def test_a_counted_calendar_costs_no_event_listing(
    emulator: Emulator, zoho_http: ZohoHTTP
) -> None:
    health = CalendarHealth()
    calendar = booking_service(emulator, zoho_http, emulator.calendar.primary_uid, health)
    await calendar.create_event("Taken", at(10), at(11))
    email = emulator.calendar.user_email
    await calendar.get_available_slots(DAY, 60, user_email=email)
    assert health.warnings("default") == ()
    before = emulator.stats.snapshot()["calendar_requests"]
    slots = await calendar.get_available_slots(DAY, 60, user_email=email)
    assert 10 not in [s.start.astimezone(UTC).hour for s in slots]
    assert emulator.stats.snapshot()["calendar_requests"] - before == 1  # free/busy only


def test_a_negative_ttl_is_refused() -> None:
    with pytest.raises(ValueError, match="ttl"):
        CalendarHealth(ttl=-1)


async def test_a_roots_calendar_services_share_its_health_board(
    zoho: Zoho, emulator: Emulator
) -> None:
    """A warning found by one of a root's services is what the root (and so the server it
    runs) shows for that tenant."""
    uid = emulator.calendar.add_calendar("Bookings", include_infreebusy=False)
    await zoho.calendar("default", CREDENTIALS, calendar_id=uid).check_freebusy()
    [warning] = zoho.calendar_health.warnings("default")
    assert warning.calendar_id == uid
    assert zoho.calendar_health.warnings("other-tenant") == ()
