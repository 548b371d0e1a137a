"""The customer's manage links through ``zohokit serve`` (in process, Zoho from the emulator):
a booking's answer carries signed cancel and reschedule links; the page shows the booking,
moves it and cancels it, and the Calendar event and the CRM meeting follow; a link changed in
one character or past its expiry is refused with a page that says so."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import httpx

from tests.server.support import ACME_KEY, Clock, key
from tests.server.test_bookings import acme, at, book, day_ahead
from zohokit.emulator import Emulator

__all__ = ["acme"]


def path_of(url: str) -> str:
    return urlsplit(url).path


async def booked(client: httpx.AsyncClient, clock: Clock) -> dict[str, str]:
    answer = await book(client, at(day_ahead(clock), 10), "manage-1")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["status"] == "complete", body["pending_reason"]
    assert set(body["manage_links"]) == {"cancel", "reschedule"}
    return body  # type: ignore[no-any-return]


async def test_the_reschedule_link_moves_the_event_and_the_meeting(
    client: httpx.AsyncClient, acme: str, clock: Clock, emulator: Emulator
) -> None:
    body = await booked(client, clock)
    page = await client.get(path_of(body["manage_links"]["reschedule"]))
    assert page.status_code == 200
    assert "width=device-width" in page.text
    assert "<script" not in page.text
    assert "Pick a new time" in page.text
    assert "Cancel this booking" not in page.text
    offered = re.findall(r'name="start" value="([^"]+)"', page.text)
    assert offered
    assert body["start"] not in offered
    new_start = offered[-1]
    moved = await client.post(
        path_of(body["manage_links"]["reschedule"]) + "/reschedule", data={"start": new_start}
    )
    assert moved.status_code == 200, moved.text
    assert "Your booking is moved" in moved.text
    (event,) = emulator.calendar.events(emulator.calendar.primary_uid)
    stamp = new_start[:13].replace("-", "")  # 2026-12-05T11 -> 20261205T11
    assert event["dateandtime"]["start"].startswith(stamp)
    (meeting,) = emulator.crm.records("Events")
    assert meeting["Start_DateTime"].startswith(new_start[:13])
    answer = await client.get(f"/api/tenants/acme/bookings/{body['id']}", headers=key(ACME_KEY))
    assert answer.json()["start"].startswith(new_start[:13])


async def test_the_cancel_link_cancels_the_event_and_the_meeting(
    client: httpx.AsyncClient, acme: str, clock: Clock, emulator: Emulator
) -> None:
    body = await booked(client, clock)
    link = path_of(body["manage_links"]["cancel"])
    page = await client.get(link)
    assert "Cancel this booking" in page.text
    assert "Pick a new time" not in page.text
    # A cancel link cannot move the booking, nor a reschedule link cancel it.
    assert (
        await client.post(link + "/reschedule", data={"start": body["start"]})
    ).status_code == 403
    done = await client.post(link + "/cancel")
    assert done.status_code == 200
    assert "Your booking is cancelled" in done.text
    assert re.search(r'id="status">cancelled<', done.text)
    assert emulator.calendar.events(emulator.calendar.primary_uid) == []
    assert emulator.crm.records("Events") == []


async def test_a_tampered_or_expired_link_is_refused(
    client: httpx.AsyncClient, acme: str, clock: Clock
) -> None:
    body = await booked(client, clock)
    link = path_of(body["manage_links"]["cancel"])
    claims, signature = link.rsplit("/", 1)[1].split(".")
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    for bad in (f"{claims}.{flipped}", f"{claims[:-2]}AA.{signature}"):
        refused = await client.post(f"/manage/{bad}/cancel")
        assert refused.status_code == 403
        assert "This link is not valid" in refused.text
        assert body["customer"]["email"] not in refused.text
    # Another booking's id in the claims does not verify either: the signature covers it.
    clock.advance(timedelta(days=8).total_seconds())
    expired = await client.get(link)
    assert expired.status_code == 410
    assert "expired" in expired.text
    answer = await client.get(f"/api/tenants/acme/bookings/{body['id']}", headers=key(ACME_KEY))
    assert answer.json()["status"] == "complete"  # nothing was cancelled
