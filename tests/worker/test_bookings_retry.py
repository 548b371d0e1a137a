"""A booking left pending by a Zoho outage is finished by the worker once Zoho recovers:
one calendar event and one CRM record, with failed runs (and backoff) while Zoho fails."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from tests.fixtures.clock import ManualClock
from tests.http.support import CREDENTIALS, zoho_for
from tests.scheduling.support import ANN, NOW, SCHEDULE, TENANT, at, contacts, events
from zohokit import Zoho
from zohokit.emulator import Emulator, create_app
from zohokit.scheduling import Schedule
from zohokit.worker import Worker
from zohokit.worker._bookings import RETRY_PENDING

CREATE_EVENT = {"route": "/api/v1/calendars", "methods": ["POST"], "error_rate": 1}


@pytest.fixture
async def root(tmp_path: Path, emulator: Emulator) -> AsyncIterator[Zoho]:
    clock = ManualClock(NOW)
    async with zoho_for(
        tmp_path / "zohokit.db",
        transport=httpx.ASGITransport(app=create_app(emulator)),
        accounts_url=emulator.base_url,
        credentials=CREDENTIALS,
        calendar_id=emulator.calendar.primary_uid,
        clock=clock,
    ) as zoho:
        await zoho.bookings.set_schedule(TENANT, Schedule.from_dict(SCHEDULE))
        yield zoho


@pytest.mark.parametrize("when", ["before", "after"])
async def test_a_pending_booking_completes_by_itself_when_zoho_recovers(
    root: Zoho, emulator: Emulator, when: str
) -> None:
    clock = root.clock
    assert isinstance(clock, ManualClock)
    # "after": Zoho wrote the event and the answer was lost (the case that duplicates).
    emulator.faults.configure({"rules": [{**CREATE_EVENT, "when": when}]})
    booking = await root.bookings.confirm(TENANT, start=at(10), customer=ANN)
    assert booking.status == "pending"

    worker = Worker(root, kinds=[RETRY_PENDING])
    assert await worker.run_due() == 1  # Zoho still down: a failed run, retried later
    job = await root.jobs.get(RETRY_PENDING, "all")
    assert job is not None
    assert job.due_at > clock.now
    clock.now = job.due_at
    assert await worker.run_due() == 1  # still down: the wait grows
    again = await root.jobs.get(RETRY_PENDING, "all")
    assert again is not None
    assert again.due_at - clock.now > timedelta(seconds=0)
    [status] = [s for s in await root.jobs.status() if s.kind == RETRY_PENDING]
    assert status.last_run is not None
    if when == "before":  # ("after": the event exists, so the retry finishes it anyway)
        assert status.last_run.outcome == "failed"
        assert "still pending" in (status.last_run.error or "")

    emulator.faults.configure({"rules": []})  # Zoho recovers
    clock.now = again.due_at
    assert await worker.run_due() == 1
    [done] = await root.bookings.list_bookings(TENANT)
    assert done.status == "complete"
    calendar, crm = root.calendar(TENANT, CREDENTIALS), root.crm(TENANT, CREDENTIALS)
    assert [e["uid"] for e in await events(calendar)] == [done.zoho_event_uid]
    assert [p["id"] for p in await contacts(crm)] == [done.crm_record_id]
    # Back to its one-minute look; nothing is written twice on the next runs.
    clock.advance(minutes=1)
    assert await worker.run_due() == 1
    assert len(await events(calendar)) == 1
    assert len(await contacts(crm)) == 1
