"""One error shape for the whole service: the token broker and the booking API answer a
tenant that must reconnect, and a Zoho that says "wait", with the same keys."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests.server.support import ACME_KEY, GLOBAL_KEY, Clock, connect, grant_revoked_elsewhere, key
from zohokit.emulator import Emulator

SCHEDULE: dict[str, Any] = {
    "time_zone": "UTC",
    "weekly_hours": {"monday": ["09:00-17:00"], "tuesday": ["09:00-17:00"]},
}
AVAILABILITY = "/api/tenants/acme/availability?start=2031-03-03&end=2031-03-04"
TOKEN = "/api/tenants/acme/tokens/zoho_calendar"


async def _tenant_with_schedule(client: httpx.AsyncClient, emulator: Emulator) -> None:
    answer = await client.post("/api/tenants", json={"tenant": "acme"}, headers=key(GLOBAL_KEY))
    assert answer.status_code == 201, answer.text
    body = {**SCHEDULE, "zoho": {"calendar_id": emulator.calendar.primary_uid}}
    answer = await client.put("/api/tenants/acme/schedule", json=body, headers=key(ACME_KEY))
    assert answer.status_code == 200, answer.text


async def test_a_tenant_needing_reauthorization_gets_one_424_from_broker_and_bookings(
    client: httpx.AsyncClient, app: FastAPI, emulator: Emulator
) -> None:
    await _tenant_with_schedule(client, emulator)
    # A refresh token Zoho no longer knows: the next refresh makes the tenant needs_reauth.
    await grant_revoked_elsewhere(app, "acme", "zoho_calendar")
    from_bookings = await client.get(AVAILABILITY, headers=key(ACME_KEY))
    from_broker = await client.get(TOKEN, headers=key(ACME_KEY))
    expected = {
        "error": "failed_dependency",
        "status": "needs_reauth",
        "connect_url": "/connect/zoho?tenant=acme&provider=zoho_calendar",
    }
    for answer in (from_bookings, from_broker):
        assert answer.status_code == 424, answer.text
        body = answer.json()
        assert set(body) == {*expected, "message"}
        assert {k: body[k] for k in expected} == expected


async def test_a_tenant_never_connected_gets_one_424_from_broker_and_bookings(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    await _tenant_with_schedule(client, emulator)
    answers = [
        await client.get(AVAILABILITY, headers=key(ACME_KEY)),
        await client.get(TOKEN, headers=key(ACME_KEY)),
    ]
    assert [a.status_code for a in answers] == [424, 424]
    assert (
        answers[0].json()
        == answers[1].json()
        == {
            "error": "failed_dependency",
            "message": "connect 'acme' to zoho_calendar first",
            "status": "not_connected",
            "connect_url": "/connect/zoho?tenant=acme&provider=zoho_calendar",
        }
    )


async def test_a_throttled_refresh_is_one_503_with_retry_after_from_broker_and_bookings(
    client: httpx.AsyncClient,
    emu_client: httpx.AsyncClient,
    emulator: Emulator,
    clock: Clock,
) -> None:
    await _tenant_with_schedule(client, emulator)
    await connect(client, emu_client, "acme", "zoho_calendar")
    clock.advance(3600)  # the access token from the connect flow has expired
    emulator.clock.advance(3600)
    emulator.faults.configure({"token_throttle": True})
    for url in (AVAILABILITY, TOKEN):
        answer = await client.get(url, headers=key(ACME_KEY))
        assert answer.status_code == 503, (url, answer.text)
        body = answer.json()
        assert body["error"] == "service_unavailable"
        assert body["status"] == "cooldown"
        assert body["retry_after"] > 0
        assert int(answer.headers["Retry-After"]) >= body["retry_after"]


async def test_unreadable_busy_time_says_when_to_retry_in_the_body_too(
    client: httpx.AsyncClient, emu_client: httpx.AsyncClient, emulator: Emulator
) -> None:
    await _tenant_with_schedule(client, emulator)
    await connect(client, emu_client, "acme", "zoho_calendar")
    emulator.faults.configure({"rules": [{"route": "calendar", "error_rate": 1.0}]})
    answer = await client.get(AVAILABILITY, headers=key(ACME_KEY))
    assert answer.status_code == 503
    body = answer.json()
    assert body["retry_after"] == int(answer.headers["Retry-After"]) == 30
    assert body["reason"].startswith("http_")
