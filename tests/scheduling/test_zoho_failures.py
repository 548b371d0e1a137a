"""Zoho failing mid-booking: every booking ends complete or pending with a reason, and a retry
finishes it without creating anything twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.http.support import zoho_for
from tests.scheduling.support import ANN, BO, TENANT, Clock, at, contacts, events
from zohokit import Zoho
from zohokit.calendar import ZohoCalendarService
from zohokit.crm import ZohoCRMService
from zohokit.emulator import Emulator, create_app
from zohokit.scheduling import Booking, BookingService, SlotTaken

CREATE_EVENT = {"route": "/api/v1/calendars", "methods": ["POST"], "error_rate": 1}
UPSERT = {"route": "/crm/v8/Contacts/upsert", "error_rate": 1}


def fail(emulator: Emulator, *rules: dict[str, Any]) -> None:
    emulator.faults.configure({"rules": list(rules)})


class HeldCreates:
    """Zoho's side of the transport, able to hold event creations: once ``armed``, a POST to a
    calendar waits at Zoho, before anything is written, until ``release`` is set. A test acts
    exactly while Zoho holds the request, however loaded the machine is."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.armed = False
        self.arrived = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.armed
            and scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"].startswith("/api/v1/calendars/")
        ):
            self.arrived.set()
            await self.release.wait()
        await self.app(scope, receive, send)


@pytest.fixture
def held(emulator: Emulator) -> HeldCreates:
    return HeldCreates(create_app(emulator))


@pytest.fixture
async def zoho(tmp_path: Path, emulator: Emulator, held: HeldCreates) -> AsyncIterator[Zoho]:
    """Every service in this module reaches Zoho through :class:`HeldCreates`."""
    transport = httpx.ASGITransport(app=held)
    async with zoho_for(
        tmp_path / "zohokit.db", transport=transport, accounts_url=emulator.base_url
    ) as root:
        yield root


async def _while_the_create_is_held(
    service: BookingService, held: HeldCreates
) -> tuple[asyncio.Task[Booking], Booking]:
    """Start a confirm and return once Zoho holds its event creation, with the booking row."""
    held.armed = True
    confirming = asyncio.create_task(service.confirm(TENANT, start=at(10), customer=ANN))
    await asyncio.wait_for(held.arrived.wait(), 30)
    (booking,) = await service.list_bookings(TENANT)
    return confirming, booking


@pytest.mark.parametrize("when", ["before", "after"])
async def test_event_creation_fails_then_retry_completes(
    service: BookingService,
    emulator: Emulator,
    calendar: ZohoCalendarService,
    crm: ZohoCRMService,
    when: str,
) -> None:
    # "after": Zoho wrote the event and the answer was lost, the case that duplicates events.
    fail(emulator, {**CREATE_EVENT, "when": when})
    booking = await service.confirm(TENANT, start=at(10), customer=ANN)
    assert booking.status == "pending"
    assert booking.pending_reason is not None
    assert "calendar event" in booking.pending_reason
    assert booking.zoho_event_uid is None
    assert len(await events(calendar)) == (1 if when == "after" else 0)
    with pytest.raises(SlotTaken):  # pending still holds the slot
        await service.confirm(TENANT, start=at(10), customer=BO)

    fail(emulator)
    [done] = await service.retry_pending()
    assert done.status == "complete"
    found = await events(calendar)
    assert [e["uid"] for e in found] == [done.zoho_event_uid]
    assert [p["id"] for p in await contacts(crm)] == [done.crm_record_id]
    assert await service.retry_pending() == []  # nothing left to do


async def test_crm_upsert_fails_then_retry_completes(
    service: BookingService, emulator: Emulator, calendar: ZohoCalendarService, crm: ZohoCRMService
) -> None:
    fail(emulator, UPSERT)
    booking = await service.confirm(TENANT, start=at(10), customer=ANN)
    assert booking.status == "pending"
    assert booking.pending_reason is not None
    assert "CRM upsert" in booking.pending_reason
    assert booking.zoho_event_uid is not None  # the first step is recorded
    assert booking.crm_record_id is None
    listed = await service.list_bookings(TENANT, status="pending")
    assert [b.id for b in listed] == [booking.id]

    fail(emulator)
    [done] = await service.retry_pending(TENANT)
    assert done.status == "complete"
    assert done.zoho_event_uid == booking.zoho_event_uid
    assert len(await events(calendar)) == 1
    assert [p["id"] for p in await contacts(crm)] == [done.crm_record_id]


async def test_cancel_while_zoho_fails_is_finished_by_retry(
    service: BookingService, emulator: Emulator, calendar: ZohoCalendarService
) -> None:
    booking = await service.confirm(TENANT, start=at(10), customer=ANN)
    fail(emulator, {"route": "/api/v1/calendars", "methods": ["DELETE"], "error_rate": 1})
    cancelled = await service.cancel(TENANT, booking.id)
    assert cancelled.status == "cancel_pending"
    assert cancelled.pending_reason is not None
    assert len(await events(calendar)) == 1
    fail(emulator)
    [done] = await service.retry_pending()
    assert done.status == "cancelled"
    assert await events(calendar) == []
    rebooked = await service.confirm(TENANT, start=at(10), customer=BO)
    assert [e["uid"] for e in await events(calendar)] == [rebooked.zoho_event_uid]


async def test_many_bookings_under_random_faults_all_end_complete(
    service: BookingService,
    emulator: Emulator,
    calendar: ZohoCalendarService,
    crm: ZohoCRMService,
    clock: Clock,
) -> None:
    fail(
        emulator,
        {**CREATE_EVENT, "error_rate": 0.4, "when": "random"},
        {**UPSERT, "error_rate": 0.4},
    )
    made = []
    for i, hour in enumerate((9, 10, 11, 13, 14, 15, 16)):
        who = ANN if i % 2 else BO
        made.append(await service.confirm(TENANT, start=at(hour), customer=who))
    assert all(b.status in ("complete", "pending") for b in made)
    assert all(b.pending_reason for b in made if b.status == "pending")
    fail(emulator)
    clock.advance(minutes=3)  # past any lease
    await service.retry_pending()
    final = await service.list_bookings(TENANT)
    assert {b.status for b in final} == {"complete"}
    assert sorted(e["uid"] for e in await events(calendar)) == sorted(
        str(b.zoho_event_uid) for b in final
    )
    assert sorted(p["Email"] for p in await contacts(crm)) == ["ann@example.com", "bo@example.com"]


async def test_a_cancel_during_the_event_creation_leaves_no_stray_event(
    service: BookingService, held: HeldCreates, calendar: ZohoCalendarService
) -> None:
    # Zoho holds the create request before writing the event; the booker cancels meanwhile,
    # while the confirm still owns the Zoho writes.
    confirming, booking = await _while_the_create_is_held(service, held)
    cancelled = await asyncio.wait_for(service.cancel(TENANT, booking.id), 30)
    assert cancelled.status in ("cancelled", "cancel_pending")
    assert not confirming.done()  # the cancel did happen while Zoho held the create
    held.release.set()
    await confirming
    await service.retry_pending(TENANT)
    final = await service.get(TENANT, booking.id)
    assert final.status == "cancelled"
    assert await events(calendar) == []  # the event made meanwhile was deleted, not orphaned


async def test_a_reschedule_during_the_event_creation_moves_the_one_event(
    service: BookingService, held: HeldCreates, calendar: ZohoCalendarService
) -> None:
    confirming, booking = await _while_the_create_is_held(service, held)
    await asyncio.wait_for(service.reschedule(TENANT, booking.id, at(14)), 30)
    assert not confirming.done()  # the move did happen while Zoho held the create
    held.release.set()
    await confirming
    await service.retry_pending(TENANT)
    final = await service.get(TENANT, booking.id)
    assert final.status == "complete"
    found = await events(calendar)
    assert [e["uid"] for e in found] == [final.zoho_event_uid]  # one event, not two
    assert found[0]["dateandtime"]["start"].startswith("20310304T14")
