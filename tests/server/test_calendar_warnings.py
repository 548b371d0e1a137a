"""A tenant whose booking calendar Zoho leaves out of free/busy: the slot an event on it
takes is not offered, and the warning shows in the availability answer, the tenant's status
and the admin page."""

from __future__ import annotations

import httpx

from tests.server.support import ACME_KEY, GLOBAL_KEY, Clock, key, login
from tests.server.test_bookings import SCHEDULE, acme, at, day_ahead
from zohokit.emulator import Emulator

__all__ = ["acme"]  # the fixture, shared with the booking API's tests


async def test_an_uncounted_booking_calendar_is_a_visible_warning(
    client: httpx.AsyncClient, acme: str, clock: Clock, emulator: Emulator
) -> None:
    uid = emulator.calendar.add_calendar("Bookings", include_infreebusy=False)
    day = day_ahead(clock)
    emulator.calendar.seed_events(
        uid,
        [
            {
                "title": "Taken elsewhere",
                "dateandtime": {
                    "timezone": "UTC",
                    "start": f"{day:%Y%m%d}T100000Z",
                    "end": f"{day:%Y%m%d}T110000Z",
                },
            }
        ],
    )
    body = {**SCHEDULE, "zoho": {"calendar_id": uid, "user_email": emulator.config.user_email}}
    answer = await client.put("/api/tenants/acme/schedule", json=body, headers=key(ACME_KEY))
    assert answer.status_code == 200, answer.text

    answer = await client.get(
        "/api/tenants/acme/availability",
        params={"start": day.isoformat(), "end": day.isoformat()},
        headers=key(ACME_KEY),
    )
    assert answer.status_code == 200, answer.text
    starts = [s["start"] for s in answer.json()["slots"]]
    assert at(day, 10) not in starts
    assert at(day, 10, 30) not in starts
    assert len(starts) == 14
    [warning] = answer.json()["warnings"]
    assert "'Bookings'" in warning
    assert "Include in free/busy" in warning

    status = await client.get("/api/tenants/acme/status", headers=key(ACME_KEY))
    by_provider = {p["provider"]: p for p in status.json()}
    assert by_provider["zoho_calendar"]["warnings"] == [warning]
    assert by_provider["zoho_crm"]["warnings"] == []

    await login(client, GLOBAL_KEY)
    page = await client.get("/admin/tenants")
    assert "Include in free/busy" in page.text


async def test_a_counted_calendar_gives_no_warning(
    client: httpx.AsyncClient, acme: str, clock: Clock, emulator: Emulator
) -> None:
    body = {
        **SCHEDULE,
        "zoho": {
            "calendar_id": emulator.calendar.primary_uid,
            "user_email": emulator.config.user_email,
        },
    }
    await client.put("/api/tenants/acme/schedule", json=body, headers=key(ACME_KEY))
    day = day_ahead(clock)
    answer = await client.get(
        "/api/tenants/acme/availability",
        params={"start": day.isoformat(), "end": day.isoformat()},
        headers=key(ACME_KEY),
    )
    assert answer.json()["warnings"] == []
    assert len(answer.json()["slots"]) == 16
