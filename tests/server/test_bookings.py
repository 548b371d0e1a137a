"""The availability and booking API in process, against the in-process emulator: schedules,
slots, holds, bookings with idempotency, cancel and reschedule, and every refusal."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.server.support import (
    ACME_KEY,
    ARTIFACTS,
    GLOBAL_KEY,
    OTHER_KEY,
    Clock,
    ServiceThread,
    chromium,
    connect,
    free_socket,
    key,
    login,
    need_chromium,
)
from zohokit.emulator import Emulator
from zohokit.server import create_app
from zohokit.server._sandbox import build_sandbox

#: Every day 09:00-17:00 UTC in 30-minute slots, events on the emulator's primary calendar.
SCHEDULE: dict[str, Any] = {
    "time_zone": "UTC",
    "duration_minutes": 30,
    "weekly_hours": {
        day: ["09:00-17:00"]
        for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    },
}
BO = {"name": "Bo Lee", "email": "bo@example.com", "phone": "+49 30 1234", "notes": "Parking?"}


def day_ahead(clock: Clock, days: int = 7) -> date:
    return clock.now.date() + timedelta(days=days)


def at(day: date, hour: int, minute: int = 0) -> str:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC).isoformat()


@pytest.fixture
async def acme(client: httpx.AsyncClient, emu_client: httpx.AsyncClient, emulator: Emulator) -> str:
    """Tenant ``acme``, connected to CRM and Calendar, with the UTC schedule."""
    answer = await client.post("/api/tenants", json={"tenant": "acme"}, headers=key(GLOBAL_KEY))
    assert answer.status_code == 201, answer.text
    for provider in ("zoho_crm", "zoho_calendar"):
        assert (await connect(client, emu_client, "acme", provider)).status_code in (302, 303)
    body = {**SCHEDULE, "zoho": {"calendar_id": emulator.calendar.primary_uid}}
    answer = await client.put("/api/tenants/acme/schedule", json=body, headers=key(ACME_KEY))
    assert answer.status_code == 200, answer.text
    return "acme"


async def book(
    client: httpx.AsyncClient, start: str, idem: str, api_key: str = ACME_KEY, **extra: Any
) -> httpx.Response:
    return await client.post(
        "/api/tenants/acme/bookings",
        json={"customer": BO, "start": start, **extra},
        headers={**key(api_key), "Idempotency-Key": idem},
    )


async def test_schedule_round_trips(client: httpx.AsyncClient, acme: str) -> None:
    answer = await client.get("/api/tenants/acme/schedule", headers=key(ACME_KEY))
    assert answer.status_code == 200
    body = answer.json()
    assert body["time_zone"] == "UTC"
    assert body["weekly_hours"]["monday"] == ["09:00-17:00"]
    assert body["zoho"]["calendar_id"]


async def test_invalid_schedules_are_422_with_the_key_named(
    client: httpx.AsyncClient, acme: str
) -> None:
    cases = [
        ({**SCHEDULE, "time_zone": "Europe"}, "time_zone"),
        ({**SCHEDULE, "weekly_hours": {"monday": ["12:00-11:00"]}}, "weekly_hours.monday"),
        ({**SCHEDULE, "weekly_hours": {"monday": ["09:00-12:00", "11:00-13:00"]}}, "monday"),
        ({**SCHEDULE, "duration_minutes": 0}, "duration_minutes"),
        ({**SCHEDULE, "colour": "red"}, "colour"),
    ]
    for body, where in cases:
        answer = await client.put("/api/tenants/acme/schedule", json=body, headers=key(ACME_KEY))
        assert answer.status_code == 422, (body, answer.text)
        assert where in answer.json()["message"], answer.json()
    # The stored schedule is untouched.
    kept = await client.get("/api/tenants/acme/schedule", headers=key(ACME_KEY))
    assert kept.json()["weekly_hours"]["monday"] == ["09:00-17:00"]


async def test_availability_lists_the_days_slots_in_the_bookers_zone(
    client: httpx.AsyncClient, acme: str, clock: Clock
) -> None:
    day = day_ahead(clock)
    answer = await client.get(
        "/api/tenants/acme/availability",
        params={"start": day.isoformat(), "end": day.isoformat(), "tz": "Asia/Kolkata"},
        headers=key(ACME_KEY),
    )
    assert answer.status_code == 200, answer.text
    slots = answer.json()["slots"]
    # 09:00-17:00 UTC is 14:30-22:30 in Kolkata: the Kolkata date's slots run until 18:30 UTC
    # of that date, so the booker's day holds the 16 slots from 09:00 UTC.
    assert datetime.fromisoformat(slots[0]["start"]) == datetime.fromisoformat(at(day, 9))
    assert slots[0]["local_start"].endswith("+05:30")
    assert len(slots) == 16


async def test_book_then_the_slot_is_gone_and_zoho_has_the_event_and_contact(
    client: httpx.AsyncClient, acme: str, clock: Clock, emulator: Emulator
) -> None:
    day = day_ahead(clock)
    answer = await book(client, at(day, 10), "k-1", title="Intro call", tz="Europe/Berlin")
    assert answer.status_code == 201, answer.text
    booking = answer.json()
    assert booking["status"] == "complete", booking
    assert booking["customer"]["first_name"] == "Bo"
    assert booking["customer"]["last_name"] == "Lee"
    assert booking["local_start"].endswith(("+01:00", "+02:00"))
    assert booking["zoho_event_uid"]
    assert booking["crm_record_id"]
    events = emulator.calendar.events(emulator.calendar.primary_uid)
    assert [e["title"] for e in events] == ["Intro call"]
    (contact,) = emulator.crm.records("Contacts")
    assert contact["Email"] == "bo@example.com"
    assert contact["Last_Name"] == "Lee"
    # The summary says what was booked; the booker's notes follow it, in Zoho and the event.
    assert contact["Description"].startswith("Intro call: ")
    assert contact["Description"].endswith("\nNotes: Parking?")
    assert "Notes: Parking?" in events[0]["description"]

    slots = await client.get(
        "/api/tenants/acme/availability",
        params={"start": day.isoformat(), "end": day.isoformat()},
        headers=key(ACME_KEY),
    )
    starts = [s["start"] for s in slots.json()["slots"]]
    assert len(starts) == 15
    assert all(not s.startswith(at(day, 10)[:16]) for s in starts)

    found = await client.get(f"/api/tenants/acme/bookings/{booking['id']}", headers=key(ACME_KEY))
    assert found.json()["id"] == booking["id"]


async def test_the_same_idempotency_key_books_once(
    client: httpx.AsyncClient, acme: str, clock: Clock, emulator: Emulator
) -> None:
    day = day_ahead(clock)
    first = await book(client, at(day, 11), "same-key")
    again = await book(client, at(day, 11), "same-key")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert len(emulator.calendar.events(emulator.calendar.primary_uid)) == 1
    elsewhere = await book(client, at(day, 12), "same-key")
    assert elsewhere.status_code == 422
    assert "same-key" in elsewhere.json()["message"]


async def test_a_taken_slot_is_409_and_an_off_grid_time_422(
    client: httpx.AsyncClient, acme: str, clock: Clock
) -> None:
    day = day_ahead(clock)
    assert (await book(client, at(day, 13), "a")).status_code == 201
    taken = await book(client, at(day, 13), "b")
    assert taken.status_code == 409
    assert "taken" in taken.json()["message"]
    off = await book(client, at(day, 13, 10), "c")
    assert off.status_code == 422
    night = await book(client, at(day, 3), "d")
    assert night.status_code == 422


async def test_bad_booking_bodies_are_422_json(
    client: httpx.AsyncClient, acme: str, clock: Clock
) -> None:
    day = day_ahead(clock)
    headers = {**key(ACME_KEY), "Idempotency-Key": "x"}
    url = "/api/tenants/acme/bookings"
    bodies: list[dict[str, Any]] = [
        {"customer": BO},  # neither start nor hold_id
        {"customer": BO, "start": at(day, 9), "hold_id": "h1"},  # both
        {"customer": BO, "start": at(day, 9)[:19]},  # no offset
        {"customer": {**BO, "email": "not-an-email"}, "start": at(day, 9)},
        {"customer": {**BO, "name": "  "}, "start": at(day, 9)},
        {"customer": BO, "start": at(day, 9), "tz": "Mars/Olympus"},
        {"customer": BO, "start": "9999-12-31T23:30:00Z"},
        # an offset that pushes the instant out of datetime's range (schemathesis found a 500)
        {"customer": BO, "start": "0001-01-01T00:00:00+01:00"},
        {"customer": BO, "start": "9999-12-31T23:59:00-01:00"},
        {"customer": BO, "start": at(day, 9), "duration_minutes": 10**9},
    ]
    for body in bodies:
        answer = await client.post(url, json=body, headers=headers)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["message"]
    for start in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:00-01:00"):
        hold = await client.post(
            "/api/tenants/acme/holds", json={"start": start}, headers=key(ACME_KEY)
        )
        assert hold.status_code == 422, (start, hold.text)
    missing = await client.post(
        url, json={"customer": BO, "start": at(day, 9)}, headers=key(ACME_KEY)
    )
    assert missing.status_code == 422
    assert "idempotency-key" in missing.json()["message"].lower()


async def test_hold_then_confirm_and_a_released_hold_is_gone(
    client: httpx.AsyncClient, acme: str, clock: Clock
) -> None:
    day = day_ahead(clock)
    held = await client.post(
        "/api/tenants/acme/holds", json={"start": at(day, 14)}, headers=key(ACME_KEY)
    )
    assert held.status_code == 201, held.text
    hold = held.json()
    # Nobody else can book the held slot...
    assert (await book(client, at(day, 14), "other")).status_code == 409
    # ...but the hold's owner can.
    confirmed = await client.post(
        "/api/tenants/acme/bookings",
        json={"customer": BO, "hold_id": hold["id"]},
        headers={**key(ACME_KEY), "Idempotency-Key": "with-hold"},
    )
    assert confirmed.status_code == 201, confirmed.text
    assert confirmed.json()["start"] == hold["start"]

    second = await client.post(
        "/api/tenants/acme/holds", json={"start": at(day, 15)}, headers=key(ACME_KEY)
    )
    hold_id = second.json()["id"]
    released = await client.delete(f"/api/tenants/acme/holds/{hold_id}", headers=key(ACME_KEY))
    assert released.status_code == 204
    again = await client.delete(f"/api/tenants/acme/holds/{hold_id}", headers=key(ACME_KEY))
    assert again.status_code == 404
    assert (await book(client, at(day, 15), "after-release")).status_code == 201


async def test_an_expired_hold_is_410(client: httpx.AsyncClient, acme: str, clock: Clock) -> None:
    day = day_ahead(clock)
    held = await client.post(
        "/api/tenants/acme/holds", json={"start": at(day, 16)}, headers=key(ACME_KEY)
    )
    clock.advance(6 * 60)
    late = await client.post(
        "/api/tenants/acme/bookings",
        json={"customer": BO, "hold_id": held.json()["id"]},
        headers={**key(ACME_KEY), "Idempotency-Key": "late"},
    )
    assert late.status_code == 410
    assert "expired" in late.json()["message"]


async def test_cancel_frees_the_slot_and_deletes_the_event(
    client: httpx.AsyncClient, acme: str, clock: Clock, emulator: Emulator
) -> None:
    day = day_ahead(clock)
    booking = (await book(client, at(day, 10), "to-cancel")).json()
    url = f"/api/tenants/acme/bookings/{booking['id']}/cancel"
    cancelled = await client.post(url, headers=key(ACME_KEY))
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert emulator.calendar.events(emulator.calendar.primary_uid) == []
    assert (await client.post(url, headers=key(ACME_KEY))).json()["status"] == "cancelled"
    assert (await book(client, at(day, 10), "rebook")).status_code == 201


async def test_reschedule_moves_the_booking_and_its_event(
    client: httpx.AsyncClient, acme: str, clock: Clock, emulator: Emulator
) -> None:
    day = day_ahead(clock)
    booking = (await book(client, at(day, 10), "to-move")).json()
    blocker = (await book(client, at(day, 12), "blocker")).json()
    url = f"/api/tenants/acme/bookings/{booking['id']}/reschedule"
    refused = await client.post(url, json={"start": at(day, 12)}, headers=key(ACME_KEY))
    assert refused.status_code == 409
    moved = await client.post(url, json={"start": at(day, 11)}, headers=key(ACME_KEY))
    assert moved.status_code == 200, moved.text
    assert moved.json()["start"].startswith(at(day, 11)[:16])
    assert moved.json()["status"] == "complete"
    primary = emulator.calendar.primary_uid
    event = emulator.calendar.event(primary, booking["zoho_event_uid"])
    assert event.start.astimezone(UTC) == datetime.fromisoformat(at(day, 11))
    assert len(emulator.calendar.events(primary)) == 2
    assert blocker["status"] == "complete"


async def test_list_filters_by_status_and_time(
    client: httpx.AsyncClient, acme: str, clock: Clock
) -> None:
    day = day_ahead(clock)
    kept = (await book(client, at(day, 9), "l1")).json()
    gone = (await book(client, at(day, 10), "l2")).json()
    await client.post(f"/api/tenants/acme/bookings/{gone['id']}/cancel", headers=key(ACME_KEY))
    url = "/api/tenants/acme/bookings"
    everything = await client.get(url, headers=key(ACME_KEY))
    assert [b["id"] for b in everything.json()] == [kept["id"], gone["id"]]
    cancelled = await client.get(url, params={"status": "cancelled"}, headers=key(ACME_KEY))
    assert [b["id"] for b in cancelled.json()] == [gone["id"]]
    window = {"from": at(day, 9, 45), "to": at(day, 11)}
    assert [
        b["id"] for b in (await client.get(url, params=window, headers=key(ACME_KEY))).json()
    ] == [gone["id"]]
    reversed_window = {"from": at(day, 11), "to": at(day, 9)}
    assert (await client.get(url, params=reversed_window, headers=key(ACME_KEY))).status_code == 422
    bad = await client.get(url, params={"status": "lost"}, headers=key(ACME_KEY))
    assert bad.status_code == 422


async def test_availability_refuses_bad_ranges_and_zones(
    client: httpx.AsyncClient, acme: str, clock: Clock
) -> None:
    day = day_ahead(clock)
    url = "/api/tenants/acme/availability"
    for params in (
        {"start": day.isoformat(), "end": (day - timedelta(days=1)).isoformat()},
        {"start": day.isoformat(), "end": (day + timedelta(days=100)).isoformat()},
        {"start": day.isoformat(), "end": day.isoformat(), "tz": "Europe"},
        {"start": day.isoformat(), "end": day.isoformat(), "duration": "0"},
        {"start": "9999-12-30", "end": "9999-12-31"},
        {"start": "tomorrow", "end": day.isoformat()},
    ):
        answer = await client.get(url, params=params, headers=key(ACME_KEY))
        assert answer.status_code == 422, (params, answer.text)
        assert answer.json()["message"]


async def test_a_tenant_key_cannot_touch_another_tenants_bookings(
    client: httpx.AsyncClient, acme: str, clock: Clock
) -> None:
    day = day_ahead(clock)
    booking = (await book(client, at(day, 10), "mine")).json()
    for method, path, body in (
        ("GET", "/api/tenants/acme/schedule", None),
        ("PUT", "/api/tenants/acme/schedule", SCHEDULE),
        ("GET", f"/api/tenants/acme/availability?start={day}&end={day}", None),
        ("GET", "/api/tenants/acme/bookings", None),
        ("GET", f"/api/tenants/acme/bookings/{booking['id']}", None),
        ("POST", f"/api/tenants/acme/bookings/{booking['id']}/cancel", None),
        ("POST", "/api/tenants/acme/holds", {"start": at(day, 15)}),
    ):
        answer = await client.request(method, path, json=body, headers=key(OTHER_KEY))
        assert answer.status_code == 403, (path, answer.text)
    refused = await book(client, at(day, 11), "theirs", api_key=OTHER_KEY)
    assert refused.status_code == 403
    assert (await book(client, at(day, 11), "no-key", api_key="")).status_code == 401
    # The booking is untouched and the global key sees it.
    seen = await client.get(f"/api/tenants/acme/bookings/{booking['id']}", headers=key(GLOBAL_KEY))
    assert seen.json()["status"] == "complete"


async def test_unknown_things_are_404(client: httpx.AsyncClient, acme: str) -> None:
    for path in (
        "/api/tenants/nobody/schedule",
        "/api/tenants/acme/bookings/b-does-not-exist",
    ):
        answer = await client.get(path, headers=key(GLOBAL_KEY))
        assert answer.status_code == 404, path
        assert answer.json()["error"] == "not_found"


async def test_a_tenant_without_schedule_or_connection_is_told_so(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    await client.post("/api/tenants", json={"tenant": "bare"}, headers=key(GLOBAL_KEY))
    day = day_ahead(clock)
    url = f"/api/tenants/bare/availability?start={day}&end={day}"
    no_schedule = await client.get(url, headers=key(GLOBAL_KEY))
    assert no_schedule.status_code == 404
    assert "schedule" in no_schedule.json()["message"]
    await client.put("/api/tenants/bare/schedule", json=SCHEDULE, headers=key(GLOBAL_KEY))
    not_connected = await client.get(url, headers=key(GLOBAL_KEY))
    assert not_connected.status_code == 424
    assert not_connected.json()["status"] == "not_connected"
    assert "provider=zoho_calendar" in not_connected.json()["connect_url"]


async def test_zoho_calendar_down_means_no_slots_offered_503(
    client: httpx.AsyncClient, acme: str, clock: Clock, emulator: Emulator
) -> None:
    day = day_ahead(clock)
    emulator.faults.configure({"rules": [{"route": "calendar", "error_rate": 1.0}]})
    answer = await client.get(
        f"/api/tenants/acme/availability?start={day}&end={day}", headers=key(ACME_KEY)
    )
    assert answer.status_code == 503
    assert answer.headers["Retry-After"]
    assert "busy time" in answer.json()["message"]


# --- the admin page --------------------------------------------------------------------------


async def test_admin_page_shows_a_pending_booking_with_its_reason(
    client: httpx.AsyncClient, acme: str, clock: Clock, emulator: Emulator
) -> None:
    day = day_ahead(clock)
    assert (await book(client, at(day, 9), "fine")).json()["status"] == "complete"
    # The CRM refuses every write: the booking is stored (the slot is ours) but pending.
    emulator.faults.configure({"rules": [{"route": "crm", "error_rate": 1.0}]})
    pending = (await book(client, at(day, 10), "crm-down")).json()
    assert pending["status"] == "pending"
    assert pending["pending_reason"].startswith("CRM upsert failed")
    emulator.faults.configure({"rules": []})

    await login(client, ACME_KEY)
    page = (await client.get("/admin")).text
    assert re.search(r'id="metric-bookings-pending">1<', page)
    row = re.search(rf'<tr data-booking="{pending["id"]}">(.*?)</tr>', page, re.S)
    assert row is not None
    assert 'data-status="pending"' in row.group(1)
    assert "CRM upsert failed" in row.group(1)
    assert "bo@example.com" in row.group(1)


async def test_admin_page_shows_the_tenants_zoho_budget(
    client: httpx.AsyncClient, acme: str, clock: Clock
) -> None:
    day = day_ahead(clock)
    assert (await book(client, at(day, 9), "budgeted")).json()["status"] == "complete"

    await login(client, ACME_KEY)
    page = (await client.get("/admin")).text

    row = re.search(rf'<tr data-budget="{acme}">(.*?)</tr>', page, re.S)
    assert row is not None  # the booking's CRM calls went through the budget
    assert "standard" in row.group(1)
    assert "of 10" in row.group(1)  # the edition's calls in flight
    assert re.search(r"(\d+) \+ 0 <span", row.group(1))  # interactive credits, no batch


@pytest.mark.slow
def test_browser_admin_page_shows_a_booking_made_through_the_api(tmp_path: Path) -> None:
    """Headless Chromium: book on the sandbox's demo tenant through the API, then see the
    booking on the admin page (screenshot ``tests/artifacts/admin-booking.png``)."""
    need_chromium()

    sock = free_socket()
    host, port = sock.getsockname()[:2]
    box = build_sandbox(tmp_path / "sandbox", f"http://{host}:{port}")
    app = create_app(box.settings, transport=box.transport, emulator=box.emulator, setup=box.setup)
    ARTIFACTS.mkdir(exist_ok=True)
    # Next week's Tuesday, 10:00 in Berlin: inside the demo schedule and its booking window.
    today = datetime.now(UTC).date()
    tuesday = today + timedelta(days=7 + (1 - today.weekday()) % 7)
    start = datetime.combine(tuesday, time(10), ZoneInfo("Europe/Berlin")).isoformat()
    with ServiceThread(app, sock) as service:
        headers = {"X-API-Key": box.api_key}
        slots = httpx.get(
            f"{service.url}/api/tenants/demo/availability",
            params={"start": tuesday.isoformat(), "end": tuesday.isoformat()},
            headers=headers,
        )
        assert slots.status_code == 200, slots.text
        assert len(slots.json()["slots"]) == 16  # 09:00-17:00 in 30-minute slots
        made = httpx.post(
            f"{service.url}/api/tenants/demo/bookings",
            json={"customer": {"name": "Ada Lovelace", "email": "ada@example.com"}, "start": start},
            headers={**headers, "Idempotency-Key": "browser-check"},
        )
        assert made.status_code == 201, made.text
        booking = made.json()
        with chromium(tmp_path / "profile") as browser:
            page = browser.context.new_page()
            page.goto(f"{service.url}/admin")
            page.fill("#api_key", box.api_key)
            page.click("#login")
            row = page.locator(f'tr[data-booking="{booking["id"]}"]')
            assert "Ada Lovelace" in row.inner_text()
            assert row.locator(".badge").get_attribute("data-status") == "complete"
            assert page.inner_text("#metric-bookings-pending") == "0"
            page.screenshot(path=str(ARTIFACTS / "admin-booking.png"), full_page=True)
    assert (ARTIFACTS / "admin-booking.png").stat().st_size > 10_000
    assert len(box.emulator.calendar.events(box.emulator.calendar.primary_uid)) == 1
