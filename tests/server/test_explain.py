"""``GET /api/tenants/{tenant}/explain``: the rule that removed each slot, through the service."""

from __future__ import annotations

from datetime import datetime

import httpx

from tests.server.support import ACME_KEY, Clock, key
from tests.server.test_bookings import acme, at, book, day_ahead
from zohokit.emulator import Emulator

__all__ = ["acme"]


async def test_explain_names_the_booking_and_the_zoho_event(
    client: httpx.AsyncClient, acme: str, clock: Clock, emulator: Emulator
) -> None:
    day = day_ahead(clock)
    assert (await book(client, at(day, 10), "explain-1")).status_code == 201
    stamp = day.strftime("%Y%m%d")
    emulator.calendar.seed_events(
        emulator.calendar.primary_uid,
        [
            {
                "title": "Lunch",
                "dateandtime": {"start": f"{stamp}T110000Z", "end": f"{stamp}T113000Z"},
            }
        ],
    )
    params = {"start": at(day, 8), "end": at(day, 12)}
    answer = await client.get("/api/tenants/acme/explain", params=params, headers=key(ACME_KEY))
    assert answer.status_code == 200, answer.text
    verdicts = answer.json()["verdicts"]
    rules = {datetime.fromisoformat(v["start"]).strftime("%H:%M"): v["rule"] for v in verdicts}
    assert rules["08:00"] == "working_hours"
    assert rules["09:00"] is None
    assert rules["10:00"] == "busy"
    assert rules["11:00"] == "busy"
    assert rules["11:30"] is None
    assert {v["host"] for v in verdicts} == {"acme"}
    too_long = {"start": at(day, 8), "end": at(day_ahead(clock, 20), 8)}
    refused = await client.get("/api/tenants/acme/explain", params=too_long, headers=key(ACME_KEY))
    assert refused.status_code == 422
